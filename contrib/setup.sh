#!/usr/bin/env bash
# Install what fds needs on Debian 12, skipping what is already there.
#   contrib/setup.sh          build dependencies
#   contrib/setup.sh --tests  plus what the test suite needs
set -euo pipefail

pkgs=(build-essential meson ninja-build pkg-config python3
      libuv1-dev libcurl4-openssl-dev libjansson-dev libssl-dev libexpat1-dev libsystemd-dev libinih-dev
      scdoc)
case "${1:-}" in
--tests) pkgs+=(check python3-pytest python3-boto3 systemd  # systemd: systemd-socket-activate, systemd-analyze
                 python3-pandas python3-distributed python3-tqdm  # the Python client's dataset, Dask and progress tests
                 python3-prometheus-client) ;;  # parses fdsd's metrics (test_metrics.py)
--demo) pkgs+=(python3-boto3) ;;
esac

missing=()
for p in "${pkgs[@]}"; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[[ ${#missing[@]} -eq 0 ]] && exit 0

sudo=()
[[ $(id -u) -eq 0 ]] || sudo=(sudo)
echo "setup: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
"${sudo[@]}" apt-get update -qq
"${sudo[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
