# shellcheck shell=bash
# Sourced by the scripts that run the Pulumi CLI (deploy.sh, destroy.sh, pulumi.sh): defines a `pulumi`
# function that runs the Pulumi CLI from the repository root, or stops the script with one line saying what
# to install. Which CLI:
#   1. a `pulumi` on PATH (not an npm launcher: npm scripts put node_modules/.bin first);
#   2. the npm launcher, the pinned devDependency `pulumi`: it runs CLI <version> from
#      ${PULUMI_HOME:-~/.pulumi}/versions/<version>/bin (shared with the Automation API) and, the first
#      time, downloads it there from get.pulumi.com. Before that download, a probe of the download site
#      (SMARTMETER_PULUMI_PROBE_URL, default https://get.pulumi.com/install.sh; a short timeout) turns an
#      offline machine into that one line, instead of a hang or the launcher's stack trace.
# The program runs on the project's Node.js (scripts/install-node.sh), first on PATH. The stack passphrase
# comes from .pulumi-passphrase when it exists and none is set; no update check.

cd "$(dirname "${BASH_SOURCE[0]}")/.." || exit 1
eval "$(bash scripts/install-node.sh)" || exit 1

# The first `pulumi` on PATH that is not an npm launcher.
pulumi_on_path() {
  local dir dirs
  IFS=: read -ra dirs <<<"$PATH"
  for dir in "${dirs[@]}"; do
    [[ -f ${dir:-.}/pulumi && -x ${dir:-.}/pulumi ]] || continue
    [[ $(readlink -f "${dir:-.}/pulumi") == */node_modules/pulumi/run.js ]] && continue
    echo "${dir:-.}/pulumi"
    return 0
  done
  return 1
}

# The launcher's CLI version: PULUMI_VERSION overrides the package's own, as in the launcher.
pulumi_launcher_version() {
  [[ -n ${PULUMI_VERSION:-} ]] && { echo "$PULUMI_VERSION"; return; }
  sed -nE 's/^ *"version": *"([^"]+)".*/\1/p' node_modules/pulumi/package.json | head -1
}

pulumi_resolve() {
  local caller=$1 found version probe
  found=$(pulumi_on_path) && { PULUMI_CLI=("$found"); return 0; }
  if [[ ! -f node_modules/pulumi/run.js ]]; then
    echo "$caller: no Pulumi CLI on PATH and no npm launcher (run npm ci first): install the Pulumi CLI, https://www.pulumi.com/docs/install/" >&2
    return 1
  fi
  version=$(pulumi_launcher_version)
  PULUMI_CLI=(node node_modules/pulumi/run.js)
  [[ -x ${PULUMI_HOME:-$HOME/.pulumi}/versions/$version/bin/pulumi ]] && return 0
  probe=${SMARTMETER_PULUMI_PROBE_URL:-https://get.pulumi.com/install.sh}
  curl -sS --connect-timeout 5 --max-time 10 -o /dev/null -I "$probe" 2>/dev/null && return 0
  echo "$caller: no Pulumi CLI on PATH and the npm launcher cannot download Pulumi $version ($probe unreachable): install the Pulumi CLI, https://www.pulumi.com/docs/install/, or run once online" >&2
  return 1
}

PULUMI_CLI=()
_caller=$(basename "$0" .sh)
pulumi_resolve "$_caller" || exit 1
unset _caller

if [[ -z ${PULUMI_CONFIG_PASSPHRASE+set} && -z ${PULUMI_CONFIG_PASSPHRASE_FILE:-} && -s .pulumi-passphrase ]]; then
  export PULUMI_CONFIG_PASSPHRASE_FILE=$PWD/.pulumi-passphrase
fi
export PULUMI_SKIP_UPDATE_CHECK=1

pulumi() { "${PULUMI_CLI[@]}" "$@"; }
