# shellcheck shell=bash
# Sourced by the scripts that build a Go program from the Go module proxy into the project cache
# (nats-server.sh, prometheus.sh, nats-exporter.sh).
#
#   go_module_build NAME MODULE@VERSION DIR [go build arguments…]
#
# Fetches that exact module version and builds it in its own module directory, so its go.mod pins every
# dependency (`go install module@version` would ask the proxy for the version list, which some proxies
# refuse). The build goes to DIR.partial and is moved to DIR only when it succeeded; the go build arguments
# say what to build and where, relative to the module (`-o "$DIR.partial/x" .`).
go_module_build() {
  local name=$1 module=$2 dir=$3 src
  shift 3
  command -v go >/dev/null || { printf '[%s] ERROR: go not installed (run scripts/install-deps.sh)\n' "$name" >&2; return 1; }
  printf '[%s] building %s with %s\n' "$name" "$module" "$(go version | awk '{print $3}')" >&2
  src=$(go mod download -json "$module" | sed -nE 's/^\s*"Dir": "(.*)",?$/\1/p')
  [[ -d $src ]] || { printf '[%s] ERROR: could not download %s from the Go module proxy\n' "$name" "$module" >&2; return 1; }
  rm -rf "$dir.partial" && mkdir -p "$dir.partial" || return 1
  (cd "$src" && CGO_ENABLED=0 go build -trimpath "$@") || return 1
  rm -rf "$dir" && mv "$dir.partial" "$dir"
}
