#!/usr/bin/env bash
# Installs what Flotilla needs on a fresh Debian machine (Node and npm present, root, no Docker
# engine running): Bun from npm, the project's packages, Debian's docker.io and any Debian packages
# the tests use, and a running dockerd. Safe to run again: each step is skipped when already done.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
# Debian packages the tests use: a private registry (docker-registry, htpasswd from apache2-utils),
# an external broker (mosquitto with its dynamic-security plugin), openssl for throwaway CAs,
# debootstrap for the clean-Debian install tests, qemu-user-static + libc6-arm64-cross for the arm64
# agent binary, ssh for fleet registration, and llvm (llvm-mc, llvm-objcopy) to check that the pause
# program the agent carries is what its assembly source assembles to, and awscli, the real aws CLI
# the ECS API tests drive.
extra_debs=(docker-registry apache2-utils mosquitto mosquitto-clients openssl debootstrap qemu-user-static libc6-arm64-cross openssh-client llvm awscli chromium "$@")

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
