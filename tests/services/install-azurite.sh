#!/usr/bin/env bash
# Make sure Azurite (the Azure Storage emulator, from npm) is installed for the Blob storage tests.
# Installs the pinned version into a cache folder outside the repository and prints the path of
# its azurite-blob launcher. Needs node and npm (Debian: apt-get install nodejs npm).
set -euo pipefail

VERSION="${AZURITE_VERSION:-3.35.0}"
CACHE="${INSIGHT_SERVICES_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/insight-desk}/azurite-$VERSION"
BIN="$CACHE/node_modules/.bin/azurite-blob"

if [ ! -x "$BIN" ]; then
    command -v npm >/dev/null 2>&1 || { echo "install-azurite: npm is not installed" >&2; exit 1; }
    mkdir -p "$CACHE"
    npm install --prefix "$CACHE" --no-audit --no-fund --loglevel=error "azurite@$VERSION" >&2
fi
echo "$BIN"
