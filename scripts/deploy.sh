#!/usr/bin/env bash
# `npm run deploy [-- <stack> [pulumi up flags]]`: `pulumi up` with the local file backend and no prompt
# for a passphrase. On first use it generates the passphrase that encrypts the stack's secrets
# (.pulumi-passphrase, mode 600, git-ignored: keep it, or set PULUMI_CONFIG_PASSPHRASE[_FILE] yourself)
# and creates the stack. The stack defaults to `local`.
set -euo pipefail
cd "$(dirname "$0")/.."
eval "$(bash scripts/install-node.sh)" # the program runs on the project's Node.js 24

stack=${1:-local}
shift || true
case $stack in local | aws) ;; *) echo "deploy: unknown stack '$stack' (allowed: local, aws)" >&2; exit 2 ;; esac
command -v pulumi >/dev/null || { echo "deploy: the Pulumi CLI is not installed: https://www.pulumi.com/docs/install/" >&2; exit 1; }

mkdir -p .pulumi-state # the file backend of Pulumi.yaml needs the directory to exist
if [[ -z ${PULUMI_CONFIG_PASSPHRASE+set} && -z ${PULUMI_CONFIG_PASSPHRASE_FILE:-} ]]; then
  export PULUMI_CONFIG_PASSPHRASE_FILE=$PWD/.pulumi-passphrase
  if [[ ! -s $PULUMI_CONFIG_PASSPHRASE_FILE ]]; then
    (umask 077 && head -c 32 /dev/urandom | base64 >"$PULUMI_CONFIG_PASSPHRASE_FILE")
    echo "deploy: generated the stack passphrase in $PULUMI_CONFIG_PASSPHRASE_FILE (keep it)"
  fi
fi
export PULUMI_SKIP_UPDATE_CHECK=1

pulumi stack select "$stack" >/dev/null 2>&1 || pulumi stack init "$stack" --secrets-provider passphrase
exec pulumi up -s "$stack" "$@"
