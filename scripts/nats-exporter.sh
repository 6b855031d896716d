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

# shellcheck source=scripts/go-module-build.sh
source "$(dirname "${BASH_SOURCE[0]}")/go-module-build.sh"

[[ -x $BIN ]] || go_module_build nats-exporter "github.com/nats-io/prometheus-nats-exporter@v$VERSION" "$DIR" \
  -o "$DIR.partial/prometheus-nats-exporter" .
echo "$BIN"
