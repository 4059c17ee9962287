#!/usr/bin/python3 -B
# botocore-stages.py CASE_DIR...: rewrites each case's stage files with botocore.
import pathlib
import sys

from botocore_case import load

for d in map(pathlib.Path, sys.argv[1:]):
    s, r = load(d)
    s._normalize_url_path = lambda p: p  # as S3: path encoded once, not normalized
    cr = s.canonical_request(r)
    st = s.string_to_sign(r, cr)
    sig = s.signature(st, r)
    auth = s._inject_signature_to_request(r, sig).headers['Authorization']
    for name, v in (('canonical-request', cr), ('string-to-sign', st),
                    ('signature', sig), ('authorization', auth)):
        (d / (name + '.txt')).write_text(v + '\n')
