#!/usr/bin/env bash
# Make sure Azurite (the Azure Storage emulator, from npm) is installed for the Blob storage tests.
# Installs the pinned version into a cache folder outside the repository and prints the path of its
# azurite-blob launcher. Needs node and npm: when npm is missing they are installed with apt-get
# (Debian's nodejs and npm; as root, or with sudo), running `apt-get update` first if needed.
set -euo pipefail

VERSION="${AZURITE_VERSION:-3.35.0}"
CACHE="${INSIGHT_SERVICES_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/insight-desk}/azurite-$VERSION"
BIN="$CACHE/node_modules/.bin/azurite-blob"

as_root() {
    if [ "$(id -u)" = 0 ]; then "$@"
    elif command -v sudo >/dev/null 2>&1; then sudo -n "$@"
    else echo "install-azurite: need root or sudo to run: $*" >&2; exit 1
    fi
}

if [ ! -x "$BIN" ]; then
    if ! command -v npm >/dev/null 2>&1; then
        export DEBIAN_FRONTEND=noninteractive
        apt-cache show npm >/dev/null 2>&1 || as_root apt-get update -q >&2
        as_root apt-get install -y -q --no-install-recommends nodejs npm >&2
    fi
    mkdir -p "$CACHE"
    npm install --prefix "$CACHE" --no-audit --no-fund --loglevel=error "azurite@$VERSION" >&2
fi
echo "$BIN"
