#!/usr/bin/env bash
# Set up, build, start fdsd on a temporary socket, copy a sample batch of
# local files (one result per file), then 1,000 small files to S3 and back.
# Without AWS_ENDPOINT_URL a throw-away S3 server (Ceph RGW) is started on
# 127.0.0.1 for the demo. Everything it creates is removed at the end.
set -euo pipefail
cd "$(dirname "$0")/.."
top=$PWD

contrib/setup.sh --demo
[[ -d build ]] || meson setup build >/dev/null
ninja -C build >/dev/null

work=$(mktemp -d /tmp/fds-demo.XXXXXX)
fdsd_pid=
rgw=
cleanup() {
        if [[ -n "$fdsd_pid" ]]; then
                kill "$fdsd_pid" 2>/dev/null || true
                wait "$fdsd_pid" 2>/dev/null || true
        fi
        [[ -n "$rgw" ]] && "$top/tests/harness/rgw/rgw.sh" stop "$rgw" >/dev/null 2>&1
        rm -rf "$work"
}
trap cleanup EXIT

if [[ -z "${AWS_ENDPOINT_URL:-}" ]]; then
        echo "== no AWS_ENDPOINT_URL: starting a local S3 server (Ceph RGW) on 127.0.0.1 =="
        tests/harness/rgw/rgw.sh install >/dev/null
        rgw="$work/rgw"
        tests/harness/rgw/rgw.sh start "$rgw" >/dev/null
        set -a
        # shellcheck disable=SC1091
        . "$rgw/env"
        set +a
fi

export FDS_SOCKET="$work/fdsd.sock"
build/daemon/fdsd --log-level warning &
fdsd_pid=$!
for _ in $(seq 100); do [[ -S "$FDS_SOCKET" ]] && break; sleep 0.05; done
fdsctl=build/client/fdsctl

# A small dataset: 20 files in nested directories, one of them empty.
mkdir -p "$work/data/images" "$work/data/labels/train"
for i in $(seq 1 10); do head -c $((i * 1000)) /dev/urandom > "$work/data/images/img$i.bin"; done
for i in $(seq 1 9); do echo "label $i" > "$work/data/labels/train/$i.txt"; done
: > "$work/data/labels/empty.txt"
(cd "$work/data" && find . -type f | sort | while read -r f; do
        printf '%s\t%s\n' "$work/data/${f#./}" "$work/copy/${f#./}"
done) > "$work/batch.tsv"

echo "== fdsctl copy --batch: $(wc -l < "$work/batch.tsv") local files, one result per file =="
"$fdsctl" copy --json --batch "$work/batch.tsv"
diff -r "$work/data" "$work/copy" && echo "== copies are identical to the sources =="

echo "== 1,000 small files to S3 and back =="
bucket=fds-demo-$$
/usr/bin/python3 - "$bucket" <<'PY'
import os, sys, boto3
s3 = boto3.client("s3", endpoint_url=os.environ.get("AWS_ENDPOINT_URL"),
                  region_name=os.environ.get("AWS_REGION", "us-east-1"))
s3.create_bucket(Bucket=sys.argv[1])
PY
mkdir -p "$work/small"
for d in $(seq -w 0 9); do
        mkdir -p "$work/small/part$d"
        for i in $(seq -w 0 99); do head -c 4096 /dev/urandom > "$work/small/part$d/f$i.bin"; done
done
"$fdsctl" copy -r "$work/small" "s3://$bucket/small/"
"$fdsctl" copy -r "s3://$bucket/small/" "$work/back"
diff -r "$work/small" "$work/back" && echo "== all 1,000 files came back identical =="
"$fdsctl" size "s3://$bucket/small/part0/f00.bin"
