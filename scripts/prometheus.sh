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

# shellcheck source=scripts/go-module-build.sh
source "$(dirname "${BASH_SOURCE[0]}")/go-module-build.sh"

# Flags as upstream's .promu.yml, minus `builtinassets` (several minutes the first time).
if [[ ! -x $DIR/prometheus || ! -x $DIR/promtool ]]; then
  go_module_build prometheus "github.com/prometheus/prometheus@$MODULE_VERSION" "$DIR" -tags netgo \
    -ldflags "-s -w -X github.com/prometheus/common/version.Version=$VERSION" \
    -o "$DIR.partial/" ./cmd/prometheus ./cmd/promtool
fi
echo "$DIR"
