#!/usr/bin/env bash
# Builds powercut-fs, the file system that simulates a power cut (scripts/powercut/README.md), once with
# the machine's Go (>= 1.25) into the project cache and prints the binary's path. The cache directory is
# named by a hash of the module's go.mod, go.sum and *.go, so an edit rebuilds; its dependencies come from
# the Go module proxy, pinned by that go.sum.
#
#   scripts/powercut-fs.sh   build if missing, print the path
set -euo pipefail

SRC=$(cd "$(dirname "${BASH_SOURCE[0]}")/powercut" && pwd)
CACHE=${SMARTMETER_CACHE:-$HOME/.cache/smartmeter}

command -v go >/dev/null || { echo '[powercut-fs] ERROR: go not installed (run scripts/install-deps.sh)' >&2; exit 1; }
HASH=$(cd "$SRC" && sha256sum go.mod go.sum ./*.go | sha256sum | cut -c1-16)
DIR=$CACHE/powercut-fs-$HASH
BIN=$DIR/powercut-fs

if [[ ! -x $BIN ]]; then
  printf '[powercut-fs] building %s with %s\n' "$SRC" "$(go version | awk '{print $3}')" >&2
  # A per-process partial directory: two builds at once each finish, and the first one's stays.
  partial=$DIR.partial.$$
  rm -rf "$partial" && mkdir -p "$partial"
  (cd "$SRC" && CGO_ENABLED=0 go build -trimpath -o "$partial/powercut-fs" .)
  mv -T "$partial" "$DIR" 2>/dev/null || rm -rf "$partial"
fi
echo "$BIN"
