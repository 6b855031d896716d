#!/usr/bin/env bash
# Builds Prometheus and promtool once with the machine's Go (>= 1.25) from the Go module proxy into the
# project cache and prints the directory holding both. The release is the one the stack deploys
# (`prom/prometheus:v3.5.0`, components/config.ts); the tests (scripts/backing-services.sh) and the
# locally built image (scripts/build-images.sh) run it. Without the web UI: its assets are built with npm
# upstream (tag `builtinassets`) and are not in the module; the HTTP API, which the tests use, is complete.
# A cold build takes about 450 CPU-seconds and 2 GB of memory, plus the module downloads.
#
#   scripts/prometheus.sh            build if missing, print the directory
#   scripts/prometheus.sh --version  print the version it builds
set -euo pipefail

VERSION=3.5.0
# Prometheus 3.x.y is published to the module proxy as v0.3xx.y (v3.5.0 = v0.305.0).
MODULE_VERSION=v0.305.0
CACHE=${SMARTMETER_CACHE:-$HOME/.cache/smartmeter}
DIR=$CACHE/prometheus-$VERSION

[[ ${1:-} == --version ]] && { echo "$VERSION"; exit 0; }

die() { printf '[prometheus] ERROR: %s\n' "$*" >&2; exit 1; }

if [[ ! -x $DIR/prometheus || ! -x $DIR/promtool ]]; then
  command -v go >/dev/null || die "go not installed (see the README's prerequisites)"
  # This exact version, built in its own module directory (as scripts/nats-exporter.sh), so its go.mod
  # pins every dependency; flags as upstream's .promu.yml, minus `builtinassets`.
  module=github.com/prometheus/prometheus@$MODULE_VERSION
  printf '[prometheus] building %s with %s (several minutes the first time)\n' "$module" "$(go version | awk '{print $3}')" >&2
  src=$(go mod download -json "$module" | sed -nE 's/^\s*"Dir": "(.*)",?$/\1/p')
  [[ -d $src ]] || die "could not download $module from the Go module proxy"
  mkdir -p "$DIR.partial"
  (cd "$src" && CGO_ENABLED=0 go build -trimpath -tags netgo \
    -ldflags "-s -w -X github.com/prometheus/common/version.Version=$VERSION" \
    -o "$DIR.partial/" ./cmd/prometheus ./cmd/promtool)
  rm -rf "$DIR" && mv "$DIR.partial" "$DIR"
fi
echo "$DIR"
