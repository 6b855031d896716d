#!/usr/bin/env bash
# Builds prometheus-nats-exporter once with the machine's Go (>= 1.25.10) into the project cache and
# prints the binary's path. Used by scripts/build-images.sh (the exporter image) and by the dashboards'
# integration test; .ci/run calls it before `npm test` so the test does not pay for the build.
#
#   scripts/nats-exporter.sh            build if missing, print the path
#   scripts/nats-exporter.sh --version  print the version it builds
set -euo pipefail

VERSION=0.20.1
CACHE=${SMARTMETER_CACHE:-$HOME/.cache/smartmeter}
DIR=$CACHE/prometheus-nats-exporter-$VERSION
BIN=$DIR/prometheus-nats-exporter

[[ ${1:-} == --version ]] && { echo "$VERSION"; exit 0; }

die() { printf '[nats-exporter] ERROR: %s\n' "$*" >&2; exit 1; }

if [[ ! -x $BIN ]]; then
  command -v go >/dev/null || die "go not installed (run scripts/install-deps.sh)"
  # `go install module@version` asks the proxy for the version list, which some proxies refuse: fetch
  # this exact version and build it in its own module directory instead.
  module=github.com/nats-io/prometheus-nats-exporter@v$VERSION
  printf '[nats-exporter] building %s with %s\n' "$module" "$(go version | awk '{print $3}')" >&2
  src=$(go mod download -json "$module" | sed -nE 's/^\s*"Dir": "(.*)",?$/\1/p')
  [[ -d $src ]] || die "could not download $module from the Go module proxy"
  mkdir -p "$DIR.partial"
  (cd "$src" && CGO_ENABLED=0 go build -trimpath -o "$DIR.partial/prometheus-nats-exporter" .)
  rm -rf "$DIR" && mv "$DIR.partial" "$DIR"
fi
echo "$BIN"
