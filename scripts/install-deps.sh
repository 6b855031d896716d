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
command -v java >/dev/null || need+=(openjdk-17-jre-headless)
command -v mvn >/dev/null || need+=(maven)
command -v curl >/dev/null || need+=(curl)
command -v shellcheck >/dev/null || need+=(shellcheck)
command -v openssl >/dev/null || need+=(openssl) # test certificates (tests/pulumi/aws-mocks.ts, services/harness/certificates.ts)
command -v fusermount3 >/dev/null || need+=(fuse3) # scripts/powercut-fs.sh's power-cut file system
command -v npm >/dev/null || need+=(npm) # any npm: it only fetches Node.js 24 (scripts/install-node.sh)
python3 -c 'import venv, ensurepip' 2>/dev/null || need+=(python3-venv)

if ((${#need[@]})); then
  echo "[install-deps] installing: ${need[*]}"
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi

# nats-server and Prometheus are built from the Go module proxy (scripts/nats-server.sh, scripts/prometheus.sh).
command -v go >/dev/null || { echo "[install-deps] Go >= 1.25 is required (it builds nats-server, Prometheus and the NATS exporter)" >&2; exit 1; }

here=$(dirname "$0")
eval "$(bash "$here/install-node.sh")"
echo "[install-deps] ok: $(go version | cut -d" " -f3), nats-server $(bash "$here/nats-server.sh" --version), prometheus $(bash "$here/prometheus.sh" --version), $(java -version 2>&1 | head -1), node $(node --version), npm $(npm --version)"
