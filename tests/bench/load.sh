#!/usr/bin/env bash
# fds load benchmark: 64 concurrent clients, latency under a big batch, 1k/10k/100k-file
# batches (local and S3), memory per queued file, a 100,000-entry Size call.
#
#   tests/bench/load.sh [--quick] [--only SECTIONS] [--s3-max N] [--no-s3]
#                       [--workdir DIR] [--build DIR] [--no-build] [--keep]
#
#   --quick       smaller counts, for a smoke run: about 20 s (full: about 3 minutes on 2 cores)
#   --only        comma list of sections, by name or number:
#                 1 clients, 2 latency, 3 scale, 4 queued, 5 size
#   --s3-max N    largest S3 batch of section 3 (also env FDS_LOAD_S3_MAX; default 100,000)
#   --no-s3       leave out the S3 part of section 3 (no RGW is started)
#   --workdir DIR where the temporary directory goes (default /dev/shm if it is a tmpfs,
#                 else $TMPDIR or /tmp); a directory on a disk measures the disk too
#   --build DIR   use DIR/daemon/fdsd (default build/); $FDSD, if set, wins and is not built
#   --no-build    do not run `ninja -C DIR` first
#   --keep        keep the temporary directory (fdsd and RGW logs)
#
# Starts its own fdsd instances (and for section 3 its own RGW, tests/harness/rgw/rgw.sh)
# in a temporary directory and stops them all on exit. Prints one table per section and
# a summary of every figure; asserts nothing about timing (exit 1 only if files failed
# or a section could not run). Needs /usr/bin/python3 (standard library only).
# Not part of the test suite. See docs/BENCHMARKS.md.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
build="$root/build"
do_build=1
pass=()

while [ $# -gt 0 ]; do
    case "$1" in
    --no-build) do_build=0 ;;
    --build)
        [ $# -ge 2 ] || {
            echo "load.sh: --build needs a directory" >&2
            exit 2
        }
        build="$2"
        shift
        ;;
    --build=*) build="${1#--build=}" ;;
    -h | --help)
        sed -n '2,23s/^# \{0,1\}//p' "$0"
        exit 0
        ;;
    *) pass+=("$1") ;;
    esac
    shift
done

if [ ! -x /usr/bin/python3 ]; then
    echo "load.sh: /usr/bin/python3 is required" >&2
    exit 2
fi

if [ -n "${FDSD:-}" ]; then
    fdsd="$FDSD"
else
    fdsd="$build/daemon/fdsd"
    if [ "$do_build" = 1 ] && [ -f "$build/build.ninja" ] && command -v ninja >/dev/null; then
        ninja -C "$build" >&2
    fi
fi
if [ ! -x "$fdsd" ]; then
    echo "load.sh: no fdsd at $fdsd (meson setup $build && ninja -C $build, or set FDSD)" >&2
    exit 2
fi

exec /usr/bin/python3 "$here/load.py" --fdsd "$fdsd" ${pass[@]+"${pass[@]}"}
