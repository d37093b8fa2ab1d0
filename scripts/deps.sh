#!/usr/bin/env bash
# Installs exactly the Debian packages that building, testing and benchmarking Pyralog need.
# Idempotent: when every package is present it does nothing (and needs no root).
set -euo pipefail

PKGS=(
  build-essential cmake pkg-config clang libclang-rt-14-dev
  libuv1-dev libwebsockets-dev libjansson-dev libsodium-dev
  zlib1g-dev libsnappy-dev liblz4-dev libzstd-dev libisal-dev
  librdkafka-dev kcat libcmocka-dev libwebsockets-evlib-uv libjemalloc-dev
  python3 nodejs
  prometheus b3sum wrk
  redis-server redis-tools nats-server libhiredis-dev
)

missing=()
for p in "${PKGS[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
    missing+=("$p")
  fi
done
# Node's package manager: nodesource's nodejs bundles npm, Debian's nodejs needs the npm package.
command -v npm >/dev/null 2>&1 || missing+=(npm)
[ ${#missing[@]} -eq 0 ] && exit 0

echo "deps: installing ${missing[*]}" >&2
SUDO=""
[ "$(id -u)" -ne 0 ] && SUDO="sudo"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
