#!/usr/bin/env bash
# `npm run deploy [-- <stack> [pulumi up flags]]`: `pulumi up` with the local file backend and no prompt
# for a passphrase, with the Pulumi CLI on PATH or, without one, the npm launcher (scripts/pulumi-cli.sh).
# On first use it generates the passphrase that encrypts the stack's secrets (.pulumi-passphrase, mode 600,
# git-ignored: keep it, or set PULUMI_CONFIG_PASSPHRASE[_FILE] yourself) and creates the stack. The stack
# defaults to `local`.
set -euo pipefail

stack=${1:-local}
shift || true
case $stack in local | aws) ;; *) echo "deploy: unknown stack '$stack' (allowed: local, aws)" >&2; exit 2 ;; esac
# shellcheck source=scripts/pulumi-cli.sh
source "$(dirname "$0")/pulumi-cli.sh" # cds to the repository root

mkdir -p .pulumi-state # the file backend of Pulumi.yaml needs the directory to exist
if [[ -z ${PULUMI_CONFIG_PASSPHRASE+set} && -z ${PULUMI_CONFIG_PASSPHRASE_FILE:-} ]]; then
  export PULUMI_CONFIG_PASSPHRASE_FILE=$PWD/.pulumi-passphrase
  (umask 077 && head -c 32 /dev/urandom | base64 >"$PULUMI_CONFIG_PASSPHRASE_FILE")
  echo "deploy: generated the stack passphrase in $PULUMI_CONFIG_PASSPHRASE_FILE (keep it)"
fi

pulumi stack select "$stack" >/dev/null 2>&1 || pulumi stack init "$stack" --secrets-provider passphrase
pulumi up -s "$stack" "$@"
