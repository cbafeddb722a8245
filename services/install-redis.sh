#!/usr/bin/env bash
# Make sure redis-server is on this machine (Debian's package), for the tests that need a real Redis.
# Prints the path of the redis-server binary. Installs with apt-get when missing (as root, or with sudo);
# runs `apt-get update` first only if the package is not known yet.
set -euo pipefail

if command -v redis-server >/dev/null 2>&1; then
    command -v redis-server
    exit 0
fi

as_root() {
    if [ "$(id -u)" = 0 ]; then "$@"
    elif command -v sudo >/dev/null 2>&1; then sudo -n "$@"
    else echo "install-redis: need root or sudo to run: $*" >&2; exit 1
    fi
}

export DEBIAN_FRONTEND=noninteractive
if ! apt-cache show redis-server >/dev/null 2>&1; then
    as_root apt-get update -q >&2
fi
# The server binary only: the tests start it themselves on a free loopback port.
as_root apt-get install -y -q --no-install-recommends redis-server >&2
command -v redis-server
