#!/usr/bin/env bash
# Builds, without any registry, the local images the stack runs on a Docker engine (scripts/docker-engine.sh):
#
#   smartmeter-local/debian:bookworm                    debootstrap --variant=minbase, imported
#   smartmeter-local/nats:<v>                           nats-server built with Go from the module proxy
#   smartmeter-local/prometheus-nats-exporter:<v>       built with Go from the module proxy
#   smartmeter-local/prometheus:<v>                     built with Go from the module proxy (no web UI)
#   smartmeter-local/cassandra:5.0.9                    Maven Central jars on Debian's Java 17
#   smartmeter-local/node:<v>                           the project's Node.js 24 and npm (scripts/install-node.sh)
#   smartmeter-local/swarm-node:bookworm                a Swarm node as a container (Debian's docker.io), for the
#                                                       multi-node Swarm e2e suite; not a stack image
#
#   scripts/build-images.sh            build what is missing or changed, then write the image overrides
#   scripts/build-images.sh --config   only print the overrides as `pulumi config set` commands
#
# Each image carries a label with a hash of its inputs; an image whose inputs did not change is not
# rebuilt, so a warm machine takes seconds. The overrides (the stack's `smartmeter:<name>Image` keys) are
# written to $SMARTMETER_DOCKER_STATE/images.json for the e2e harness (tests/e2e).
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
IMAGES=$HERE/images
STATE=${SMARTMETER_DOCKER_STATE:-${TMPDIR:-/tmp}/smartmeter-docker}
CACHE=${SMARTMETER_CACHE:-$HOME/.cache/smartmeter}
PREFIX=smartmeter-local
CASSANDRA_VERSION=5.0.9
CQLSH_VERSION=6.2.2
EXPORTER_VERSION=$(bash "$HERE/nats-exporter.sh" --version)
NATS_VERSION=$(bash "$HERE/nats-server.sh" --version)
PROMETHEUS_VERSION=$(bash "$HERE/prometheus.sh" --version)
BASE_PACKAGES=ca-certificates,curl,wget,procps,netbase,hostname
export DOCKER_BUILDKIT=0 # Debian has no buildx plugin: the classic builder
eval "$(bash "$HERE/install-node.sh")" # the node image copies this Node.js and its npm

log() { printf '[build-images] %s\n' "$*" >&2; }
die() { printf '[build-images] ERROR: %s\n' "$*" >&2; exit 1; }

version_of() { "$@" 2>&1 | grep -oE '[0-9]+\.[0-9]+\.[0-9]+' | head -1; }

need_host_tools() {
  docker info >/dev/null 2>&1 || die "no Docker engine answers (run scripts/docker-engine.sh up)"
  command -v debootstrap >/dev/null || die "debootstrap not installed (run scripts/docker-engine.sh up)"
  local t
  for t in node npm go java mvn; do
    command -v "$t" >/dev/null || die "$t not installed (run scripts/install-deps.sh)"
  done
}

NATS_TAG=$PREFIX/nats:$NATS_VERSION
PROMETHEUS_TAG=$PREFIX/prometheus:$PROMETHEUS_VERSION
EXPORTER_TAG=$PREFIX/prometheus-nats-exporter:$EXPORTER_VERSION
CASSANDRA_TAG=$PREFIX/cassandra:$CASSANDRA_VERSION
NODE_TAG=$PREFIX/node:$(version_of node --version)
BASE_TAG=$PREFIX/debian:bookworm
SWARM_NODE_TAG=$PREFIX/swarm-node:bookworm

# The Debian mirror from this machine's apt sources (deb822 or one-line format).
debian_mirror() {
  local m
  m=$(grep -hsE '^URIs:' /etc/apt/sources.list.d/*.sources | awk '{print $2}' | grep -E '/debian/?$' | head -1)
  [[ -n $m ]] || m=$(grep -hsE '^deb ' /etc/apt/sources.list /etc/apt/sources.list.d/*.list | awk '{print $2}' | grep -E '/debian/?$' | head -1)
  echo "${m:-http://deb.debian.org/debian}"
}

# A hash of strings and files (files by content; directories by names and sizes, which is enough for
# versioned jars and cheap for 70 MB of them).
inputs_hash() {
  local item
  for item in "$@"; do
    if [[ -d $item ]]; then
      (cd "$item" && find . -type f -printf '%P %s\n' | LC_ALL=C sort)
    elif [[ -f $item ]]; then
      sha256sum <"$item"
    else
      printf '%s\n' "$item"
    fi
  done | sha256sum | cut -c1-16
}

image_label() { docker image inspect --format '{{index .Config.Labels "smartmeter.inputs"}}' "$1" 2>/dev/null || true; }

timed() { # timed NAME COMMAND... : runs and prints its wall time
  local name=$1 t0=$SECONDS; shift
  "$@"
  log "$name: $((SECONDS - t0))s"
}

# build TAG CONTEXT_DIR HASH: the classic builder, with the host network for apt inside RUN steps.
build() {
  local tag=$1 ctx=$2 hash
  # This script is an input too: a change in how images are put together rebuilds them.
  hash=$(inputs_hash "$3" "${BASH_SOURCE[0]}")
  if [[ $(image_label "$tag") == "$hash" ]]; then
    log "$tag is up to date (inputs $hash)"
    return
  fi
  log "building $tag"
  # Caches may be private to their owner (umask 077); images run as non-root users that must read them.
  chmod -R a+rX "$ctx"
  # The classic builder's deprecation notice and the build output go to a log shown only on failure.
  docker build --network host --build-arg "BASE=$BASE_TAG" --label "smartmeter.inputs=$hash" -t "$tag" "$ctx" \
    >"$ctx.log" 2>&1 || { tail -n 30 "$ctx.log" >&2; die "building $tag failed"; }
}

# --- base ---------------------------------------------------------------------------------------
build_base() {
  local mirror hash; mirror=$(debian_mirror)
  hash=$(inputs_hash bookworm minbase "$BASE_PACKAGES" "$mirror")
  if [[ $(image_label "$BASE_TAG") == "$hash" ]]; then
    log "$BASE_TAG is up to date (inputs $hash)"
    return
  fi
  local root=$WORK/rootfs
  log "debootstrap bookworm from $mirror"
  debootstrap --variant=minbase --include="$BASE_PACKAGES" bookworm "$root" "$mirror" >"$WORK/debootstrap.log" 2>&1 ||
    die "debootstrap failed; see $WORK/debootstrap.log"
  rm -rf "$root"/var/lib/apt/lists/* "$root"/var/cache/apt/archives/*.deb
  tar -C "$root" -c . | docker import \
    --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
    --change 'CMD ["bash"]' - "$BASE_TAG.rootfs" >/dev/null
  rm -rf "$root"
  # A one-line build on top adds the inputs label, which `docker import` cannot set.
  printf 'FROM %s\n' "$BASE_TAG.rootfs" >"$WORK/Dockerfile.base"
  docker build --label "smartmeter.inputs=$hash" -t "$BASE_TAG" -f "$WORK/Dockerfile.base" "$WORK" >"$WORK/base.log" 2>&1 ||
    { cat "$WORK/base.log" >&2; die "labelling $BASE_TAG failed"; }
  docker rmi "$BASE_TAG.rootfs" >/dev/null
}

# --- third-party images --------------------------------------------------------------------------
# context NAME FILE...: a fresh build context with the image's own files and the given host files.
context() {
  local name=$1 ctx=$WORK/$1; shift
  mkdir -p "$ctx"
  cp -a "$IMAGES/$name/." "$ctx/"
  (($#)) && cp -aL "$@" "$ctx/"
  echo "$ctx"
}

# The server binary, built once into $CACHE by scripts/nats-server.sh.
build_nats() {
  local bin ctx; bin=$(SMARTMETER_CACHE=$CACHE bash "$HERE/nats-server.sh")
  ctx=$(context nats "$bin")
  build "$NATS_TAG" "$ctx" "$(inputs_hash "$BASE_TAG" "$ctx")"
}

# The exporter binary, built once into $CACHE by scripts/nats-exporter.sh.
exporter_binary() { SMARTMETER_CACHE=$CACHE bash "$HERE/nats-exporter.sh"; }

build_exporter() {
  local bin ctx; bin=$(exporter_binary)
  ctx=$(context nats-exporter "$bin")
  build "$EXPORTER_TAG" "$ctx" "$(inputs_hash "$BASE_TAG" "$ctx")"
}

# prometheus and promtool, built once into $CACHE by scripts/prometheus.sh.
build_prometheus() {
  local dir ctx; dir=$(SMARTMETER_CACHE=$CACHE bash "$HERE/prometheus.sh")
  ctx=$(context prometheus "$dir/prometheus" "$dir/promtool")
  build "$PROMETHEUS_TAG" "$ctx" "$(inputs_hash "$BASE_TAG" "$ctx")"
}

build_cassandra() {
  # The jars and cqlsh come from the caches scripts/backing-services.sh fills (and fills them if empty).
  local lib=$CACHE/cassandra-$CASSANDRA_VERSION/lib venv=$CACHE/cqlsh-$CQLSH_VERSION
  if [[ ! -f $lib/cassandra-all-$CASSANDRA_VERSION.jar ]]; then
    log "fetching cassandra-all $CASSANDRA_VERSION and its dependencies from Maven Central"
    rm -rf "$lib.partial"
    mvn -q -B -f "$HERE/cassandra/pom.xml" dependency:copy-dependencies \
      -Dcassandra.version="$CASSANDRA_VERSION" -DincludeScope=runtime -DoutputDirectory="$lib.partial"
    mv "$lib.partial" "$lib"
  fi
  if [[ ! -x $venv/bin/cqlsh ]]; then
    log "installing cqlsh $CQLSH_VERSION from PyPI"
    python3 -m venv "$venv"
    "$venv/bin/pip" install -q "cqlsh==$CQLSH_VERSION"
  fi
  local ctx; ctx=$(context cassandra "$HERE"/cassandra/{cassandra.yaml,jvm17.options,logback.xml})
  cp -a "$lib" "$ctx/lib"
  # cqlsh's pure-Python packages and the driver's CPython 3.11 extension, without the venv's pip.
  mkdir -p "$ctx/cqlsh-lib"
  (cd "$venv"/lib/python3*/site-packages && tar -c --exclude='pip*' --exclude='setuptools*' --exclude='_distutils_hack' \
    --exclude='pkg_resources' --exclude='__pycache__' --exclude='distutils-precedence.pth' .) | tar -C "$ctx/cqlsh-lib" -x
  build "$CASSANDRA_TAG" "$ctx" "$(inputs_hash "$BASE_TAG" "$ctx" "$ctx/lib" "$ctx/cqlsh-lib" "$ctx"/*)"
}

build_node() {
  local node; node=$(command -v node)
  local ctx; ctx=$(context node "$node")
  cp -a "$(dirname "$(readlink -f "$(command -v npm)")")/.." "$ctx/npm"
  mkdir -p "$ctx/extra-ca"
  find /usr/local/share/ca-certificates -maxdepth 1 -name '*.crt' -exec cp {} "$ctx/extra-ca/" \; 2>/dev/null || true
  build "$NODE_TAG" "$ctx" "$(inputs_hash "$BASE_TAG" "$ctx/node" "$ctx/Dockerfile" "$ctx/npm" "$ctx/extra-ca"/*)"
}

# Debian's docker.io comes from the mirror at build time; the Dockerfile is the input.
build_swarm_node() {
  local ctx; ctx=$(context swarm-node)
  build "$SWARM_NODE_TAG" "$ctx" "$(inputs_hash "$BASE_TAG" "$ctx"/*)"
}

# --- overrides -----------------------------------------------------------------------------------
# The stack keys (components/config.ts) that point the program at these images. Grafana cannot be
# built here: it keeps its default and is left out of e2e runs.
overrides() {
  printf '%s\t%s\n' natsImage "$NATS_TAG" natsExporterImage "$EXPORTER_TAG" prometheusImage "$PROMETHEUS_TAG" \
    cassandraImage "$CASSANDRA_TAG" nodeBaseImage "$NODE_TAG"
}

write_overrides() {
  mkdir -p "$STATE"
  overrides | awk -F'\t' 'BEGIN { print "{" } { printf "%s  \"smartmeter:%s\": \"%s\"", (NR > 1 ? ",\n" : ""), $1, $2 } END { print "\n}" }' \
    >"$STATE/images.json"
  log "image overrides written to $STATE/images.json"
}

if [[ ${1:-} == --config ]]; then
  overrides | while IFS=$'\t' read -r key tag; do echo "pulumi config set $key $tag"; done
  exit 0
fi
[[ $# -eq 0 ]] || die "usage: $0 [--config]"

need_host_tools
WORK=$(mktemp -d "${TMPDIR:-/tmp}/smartmeter-images.XXXXXX")
trap 'rm -rf "$WORK"' EXIT
start=$SECONDS
timed "base $BASE_TAG" build_base
timed "$NATS_TAG" build_nats
timed "$EXPORTER_TAG" build_exporter
timed "$PROMETHEUS_TAG" build_prometheus
timed "$CASSANDRA_TAG" build_cassandra
timed "$NODE_TAG" build_node
timed "$SWARM_NODE_TAG" build_swarm_node
write_overrides
log "all images ready in $((SECONDS - start))s"
docker image ls --format '{{.Repository}}:{{.Tag}}\t{{.Size}}' "$PREFIX/*" >&2
