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

die() { printf '[nats-server] ERROR: %s\n' "$*" >&2; exit 1; }

if [[ ! -x $BIN ]]; then
  command -v go >/dev/null || die "go not installed (see the README's prerequisites)"
  # Fetch this exact version and build it in its own module directory (as scripts/nats-exporter.sh),
  # so its go.mod pins every dependency.
  module=github.com/nats-io/nats-server/v2@v$VERSION
  printf '[nats-server] building %s with %s\n' "$module" "$(go version | awk '{print $3}')" >&2
  src=$(go mod download -json "$module" | sed -nE 's/^\s*"Dir": "(.*)",?$/\1/p')
  [[ -d $src ]] || die "could not download $module from the Go module proxy"
  mkdir -p "$DIR.partial"
  (cd "$src" && CGO_ENABLED=0 go build -trimpath -o "$DIR.partial/nats-server" .)
  rm -rf "$DIR" && mv "$DIR.partial" "$DIR"
fi
echo "$BIN"
