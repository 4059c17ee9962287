#!/usr/bin/env bash
# Set up, build and run every test: a -Werror build and an ASan/UBSan build.
# Ends with the line "N passed, N failed" counting individual test cases.
set -uo pipefail
cd "$(dirname "$0")/.."

contrib/setup.sh --tests || exit 2
# The S3 tests run against a real S3 server (Ceph RGW from Debian).
tests/harness/rgw/rgw.sh install >/dev/null || exit 2

logs=()
status=0
for variant in release asan; do
        dir=build-test-$variant
        opts=(-Dwerror=true -Dtests=enabled)
        [[ $variant == asan ]] && opts+=(-Db_sanitize=address,undefined -Db_lundef=false)
        if [[ ! -d $dir ]]; then
                meson setup "$dir" "${opts[@]}" >/dev/null || { echo "meson setup failed" >&2; exit 2; }
        fi
        ninja -C "$dir" >/dev/null || { ninja -C "$dir"; echo "build failed ($variant)" >&2; exit 2; }
        echo "== $variant =="
        ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
                meson test -C "$dir" --print-errorlogs --no-rebuild || status=1
        logs+=("$dir/meson-logs/testlog.json")
done

# The fuzzer over framing, JSON decoding and request validation: one
# bounded minute under ASan/UBSan; any crash or leak fails the run.
if command -v clang >/dev/null; then
        dir=build-test-fuzz
        [[ -d $dir ]] || CC=clang meson setup "$dir" -Dfuzz=true -Dtests=disabled >/dev/null ||
                { echo "meson setup failed (fuzz)" >&2; exit 2; }
        ninja -C "$dir" tests/fuzz/fuzz_request >/dev/null || { echo "build failed (fuzz)" >&2; exit 2; }
        echo "== fuzz =="
        meson test -C "$dir" --suite fuzz --print-errorlogs --no-rebuild || status=1
        logs+=("$dir/meson-logs/testlog.json")
else
        echo "fuzz: skipped (no clang)"
fi

python3 tests/count.py "${logs[@]}" || status=1
exit $status
