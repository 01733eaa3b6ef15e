#!/usr/bin/env bash
# What the test suite needs on top of what running Flotilla needs (scripts/lib/ensure-tools.sh):
# Debian packages only tests use — a private registry (docker-registry, htpasswd from
# apache2-utils), an external broker (mosquitto with its dynamic-security plugin), openssl for
# throwaway CAs, debootstrap for the clean-Debian install tests, qemu-user-static +
# libc6-arm64-cross for the arm64 agent binary, ssh for fleet registration, llvm (llvm-mc,
# llvm-objcopy) to check that the pause program the agent carries is what its assembly source
# assembles to, awscli, the real aws CLI the ECS API tests drive, and chromium for the console's
# browser test, redis-server for the clustered embedded broker (aedes nodes sharing state through Redis),
# and postgresql (the server binaries under /usr/lib/postgresql/N/bin: each PostgreSQL test starts a
# private cluster of its own, test/helpers/postgres.ts; the system cluster Debian's package may
# create is never used).
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
TEST_DEBS=(docker-registry apache2-utils mosquitto mosquitto-clients openssl debootstrap qemu-user-static libc6-arm64-cross openssh-client llvm awscli chromium redis-server postgresql)
exec bash "$here/ensure-tools.sh" "${TEST_DEBS[@]}" "$@"
