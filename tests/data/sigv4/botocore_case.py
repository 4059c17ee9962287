# Case folder -> botocore signer and request.
import json
from urllib.parse import quote
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

def load(d):
    c, q = (json.loads((d / f).read_text()) for f in ('context.json', 'request.json'))
    k, t = c['credentials'], c['timestamp'].replace('-', '').replace(':', '')
    s = SigV4Auth(Credentials(k['access_key_id'], k['secret_access_key']), c['service'], c['region'])
    r = AWSRequest(q['method'], 'http://h' + quote(q['path'], '/~'),
                   params=[(n, v or '') for n, v in q.get('query', [])])
    r.context['timestamp'] = t
    h = [('Host', q['host']), ('X-Amz-Date', t)] + q.get('headers', [])
    if not c.get('omit_content_sha256'):
        h += [('X-Amz-Content-SHA256', q['payload_hash'])]
    if 'token' in k:
        h += [('X-Amz-Security-Token', k['token'])]
    for n, v in h:
        r.headers[n] = v
    return s, r
