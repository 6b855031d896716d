#!/usr/bin/env bash
# Installs the system packages that tests, benchmarks and local development need (Debian, as root or via sudo).
# Idempotent: a warm machine skips what is already there. Node.js 24 comes from the npm registry
# (scripts/install-node.sh, into ~/.cache/smartmeter; `eval "$(bash scripts/install-node.sh)"` puts it first
# on PATH). Maven artifacts and cqlsh are fetched and cached by scripts/backing-services.sh on first use;
# npm packages come from `npm ci`.
set -euo pipefail

SUDO=
[[ $(id -u) -eq 0 ]] || SUDO=sudo

need=()
command -v nats-server >/dev/null || need+=(nats-server)
command -v prometheus >/dev/null || need+=(prometheus)
command -v java >/dev/null || need+=(openjdk-17-jre-headless)
command -v mvn >/dev/null || need+=(maven)
command -v curl >/dev/null || need+=(curl)
command -v shellcheck >/dev/null || need+=(shellcheck)
command -v npm >/dev/null || need+=(npm) # any npm: it only fetches Node.js 24 (scripts/install-node.sh)
python3 -c 'import venv, ensurepip' 2>/dev/null || need+=(python3-venv)

if ((${#need[@]})); then
  echo "[install-deps] installing: ${need[*]}"
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi

eval "$(bash "$(dirname "$0")/install-node.sh")"
echo "[install-deps] ok: $(nats-server --version), prometheus $(prometheus --version 2>&1 | head -1 | awk '{print $3}'), $(java -version 2>&1 | head -1), node $(node --version), npm $(npm --version)"
