#!/usr/bin/env bash
# `npm run -s pulumi -- <args>`: any Pulumi command for this project (`stack output`, `config set`, ...) with
# the CLI, Node.js and passphrase `npm run deploy` uses (scripts/pulumi-cli.sh), from the repository root.
set -euo pipefail
# shellcheck source=scripts/pulumi-cli.sh
source "$(dirname "$0")/pulumi-cli.sh"
pulumi "$@"
