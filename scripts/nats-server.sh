#!/usr/bin/env bash
# Builds nats-server once with the machine's Go (>= 1.25) from the Go module proxy into the project
# cache and prints the binary's path. Development, the tests (scripts/backing-services.sh) and the
# locally built NATS image (scripts/build-images.sh) all run this one release; the stack deploys the
# same minor version (`nats:2.15-alpine`, components/config.ts).
#
#   scripts/nats-server.sh            build if missing, print the path
#   scripts/nats-server.sh --version  print the version it builds
set -euo pipefail

VERSION=2.15.3
CACHE=${SMARTMETER_CACHE:-$HOME/.cache/smartmeter}
DIR=$CACHE/nats-server-$VERSION
BIN=$DIR/nats-server

[[ ${1:-} == --version ]] && { echo "$VERSION"; exit 0; }

# shellcheck source=scripts/go-module-build.sh
source "$(dirname "${BASH_SOURCE[0]}")/go-module-build.sh"

[[ -x $BIN ]] || go_module_build nats-server "github.com/nats-io/nats-server/v2@v$VERSION" "$DIR" -o "$DIR.partial/nats-server" .
echo "$BIN"
