#!/usr/bin/env bash
# `npm run destroy [-- <stack> [pulumi destroy flags]]`: `pulumi destroy` of a stack `npm run deploy` created,
# with the same CLI and passphrase (scripts/pulumi-cli.sh). The stack defaults to `local`; the stack itself
# and its configuration stay (`npm run pulumi -- stack rm <stack>` removes them).
set -euo pipefail

stack=${1:-local}
shift || true
case $stack in local | aws) ;; *) echo "destroy: unknown stack '$stack' (allowed: local, aws)" >&2; exit 2 ;; esac
# shellcheck source=scripts/pulumi-cli.sh
source "$(dirname "$0")/pulumi-cli.sh" # cds to the repository root

pulumi destroy -s "$stack" "$@"
