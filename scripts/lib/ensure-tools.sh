#!/usr/bin/env bash
# Installs what running Flotilla needs on a fresh Debian machine (Node and npm present, root, no
# Docker engine running): Bun from npm, the project's packages, Debian's docker.io, busybox-static
# for the local sample image (the quickstart's nginx, built without a registry) and a running
# dockerd. Arguments name more Debian packages to install (scripts/lib/ensure-test-tools.sh passes
# the ones only the tests use). Safe to run again: each step is skipped when already done.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
extra_debs=("$@")

say() { echo "[setup] $*" >&2; }

if ! command -v bun >/dev/null 2>&1; then
  say "installing bun from npm"
  npm install -g bun >/dev/null 2>&1
fi

need_debs=()
command -v dockerd >/dev/null 2>&1 || need_debs+=(docker.io)
dpkg -s busybox-static >/dev/null 2>&1 || need_debs+=(busybox-static)
for d in "${extra_debs[@]}"; do dpkg -s "$d" >/dev/null 2>&1 || need_debs+=("$d"); done
if [ ${#need_debs[@]} -gt 0 ]; then
  say "installing Debian packages: ${need_debs[*]}"
  apt-get update -qq >/dev/null
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need_debs[@]}" >/dev/null
fi

if ! docker info >/dev/null 2>&1; then
  say "starting dockerd"
  # No systemd on these machines: run the daemon in the background and wait for it to answer.
  nohup dockerd >/var/log/dockerd.log 2>&1 &
  for _ in $(seq 1 60); do docker info >/dev/null 2>&1 && break; sleep 0.5; done
  docker info >/dev/null 2>&1 || { echo "dockerd did not start; see /var/log/dockerd.log" >&2; exit 1; }
fi

cd "$root"
if [ ! -d node_modules ] || [ bun.lock -nt node_modules ]; then
  say "bun install --frozen-lockfile"
  bun install --frozen-lockfile >/dev/null
fi

"$root/scripts/build-test-image"
