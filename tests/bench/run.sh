#!/usr/bin/env bash
# fds benchmark against boto3, aws s3 cp, rclone and curl -Z on a local Ceph RGW.
#
#   tests/bench/run.sh [--quick] [--repeat N] [--sizes small,medium,large] [--scale]
#                      [--directions up,down,copy] [--tools fds,fds-nv,boto3,aws,rclone,curl]
#                      [--settle S] [--build DIR] [--no-build] [--keep]
#
#   --quick       one repetition of small and medium (no 1 GiB): 2-3 minutes
#   --repeat N    runs per cell (default 3)
#   --sizes       size classes: small 1,000 x 4 KiB, medium 100 x 1 MiB, large 1 x 1 GiB
#   --scale       only the scale mode: fds uploads of 1,000 / 10,000 / 100,000 x 4 KiB
#   --no-build    do not run `ninja -C BUILD` first
#
# Starts its own RGW (tests/harness/rgw/rgw.sh) and fdsd instances in a temporary directory,
# prints the tables and writes tests/bench/out/results.md (scale: out/scale.md) and
# a .json with every run. Needs: radosgw (tests/harness/rgw/rgw.sh install) and Debian's
# python3-boto3; peers: awscli, rclone, curl (a missing peer is skipped).
# Not part of the test suite. See docs/BENCHMARKS.md.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
build="$root/build"
do_build=1

args=("$@")
while [ $# -gt 0 ]; do
    case "$1" in
    --no-build) do_build=0 ;;
    --build)
        [ $# -ge 2 ] || {
            echo "run.sh: --build needs a directory" >&2
            exit 2
        }
        build="$2"
        shift
        ;;
    --build=*) build="${1#--build=}" ;;
    -h | --help)
        sed -n '2,18s/^# \{0,1\}//p' "$0"
        exit 0
        ;;
    esac
    shift
done

if [ ! -x /usr/bin/python3 ]; then
    echo "run.sh: /usr/bin/python3 is required (Debian's, with python3-boto3)" >&2
    exit 2
fi

if [ "$do_build" = 1 ]; then
    if [ -f "$build/build.ninja" ] && command -v ninja >/dev/null; then
        ninja -C "$build" >&2
    elif [ ! -x "$build/daemon/fdsd" ]; then
        echo "run.sh: no build in $build (meson setup $build && ninja -C $build)" >&2
        exit 2
    fi
fi

FDS_BENCH_COMMAND="tests/bench/run.sh${args[*]:+ ${args[*]}}"
export FDS_BENCH_COMMAND
exec /usr/bin/python3 "$here/bench.py" "${args[@]}"
