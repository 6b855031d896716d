#!/usr/bin/env bash
# The project's Node.js (24 LTS) and the npm it ships with, for every script that runs node or npm:
#
#   eval "$(bash scripts/install-node.sh)"    installs it if needed, then puts it first on PATH
#
# Debian has no Node.js 24 package; the npm registry's `node-linux-<arch>` packages carry the official
# binaries, and `npm` the npm release that Node.js ships with. Both are fetched with the machine's own npm
# (any version: it only runs `npm pack`, which checks the registry's integrity hash) into
# $SMARTMETER_CACHE/node-v<version> (default ~/.cache/smartmeter), laid out like the official tarball
# (bin/node, bin/npm, lib/node_modules/npm), and checked against the versions below. A warm cache costs
# two `--version` calls. Progress goes to stderr; stdout is only the lines to eval: PATH, and
# NODE_USE_SYSTEM_CA=1 so that this Node.js, like Debian's, trusts the system's CA certificates (a
# TLS-inspecting proxy's CA in /usr/local/share/ca-certificates) besides its bundled ones.
set -euo pipefail

NODE_VERSION=24.22.3
NPM_VERSION=11.19.1 # the npm bundled with Node.js 24.22.3 (its CHANGELOG: "deps: upgrade npm to 11.19.1")

CACHE=${SMARTMETER_CACHE:-$HOME/.cache/smartmeter}
HOME_DIR=$CACHE/node-v$NODE_VERSION

log() { printf '[install-node] %s\n' "$*" >&2; }
die() { printf '[install-node] ERROR: %s\n' "$*" >&2; exit 1; }

# installed DIR: the versions DIR holds are exactly the expected ones.
installed() {
  [[ -x $1/bin/node && -x $1/bin/npm ]] || return 1
  [[ $("$1/bin/node" --version 2>/dev/null) == "v$NODE_VERSION" ]] || return 1
  [[ $(PATH=$1/bin:$PATH "$1/bin/npm" --version 2>/dev/null) == "$NPM_VERSION" ]]
}

if ! installed "$HOME_DIR"; then
  case $(uname -m) in
    x86_64) arch=x64 ;;
    aarch64 | arm64) arch=arm64 ;;
    *) die "no Node.js binaries for $(uname -m) in the npm registry's node-linux-* packages" ;;
  esac
  command -v npm >/dev/null || die "npm is needed once to fetch Node.js $NODE_VERSION (Debian: apt-get install npm)"
  log "installing Node.js $NODE_VERSION and npm $NPM_VERSION from the npm registry into $HOME_DIR"
  mkdir -p "$CACHE"
  work=$(mktemp -d "$CACHE/node-v$NODE_VERSION.partial.XXXXXX")
  trap 'rm -rf "$work"' EXIT
  (cd "$work" && npm pack --silent "node-linux-$arch@$NODE_VERSION" "npm@$NPM_VERSION" >/dev/null) ||
    die "npm pack node-linux-$arch@$NODE_VERSION npm@$NPM_VERSION failed (is the npm registry reachable?)"
  mkdir -p "$work/root/lib/node_modules/npm"
  tar -xzf "$work/node-linux-$arch-$NODE_VERSION.tgz" -C "$work/root" --strip-components=1 package/bin/node
  tar -xzf "$work/npm-$NPM_VERSION.tgz" -C "$work/root/lib/node_modules/npm" --strip-components=1
  ln -s ../lib/node_modules/npm/bin/npm-cli.js "$work/root/bin/npm"
  ln -s ../lib/node_modules/npm/bin/npx-cli.js "$work/root/bin/npx"
  installed "$work/root" || die "the fetched binaries do not report node v$NODE_VERSION and npm $NPM_VERSION"
  rm -rf "$HOME_DIR"
  mv "$work/root" "$HOME_DIR"
  log "ok: node $("$HOME_DIR/bin/node" --version), npm $NPM_VERSION"
fi

# shellcheck disable=SC2016 # "$PATH" is expanded by the eval, not here
printf 'export PATH=%q:"$PATH"\n' "$HOME_DIR/bin"
echo 'export NODE_USE_SYSTEM_CA=1'
