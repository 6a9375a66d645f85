#!/usr/bin/env bash
# action.yml, step "Install": builds fluxguard in the action's own checkout ($GITHUB_ACTION_PATH)
# unless it is built already. Go is optional (without it, kustomize or kubectl kustomize is used).
set -euo pipefail
cd "${GITHUB_ACTION_PATH:?}"
if [ ! -f dist/src/bin/fluxguard.js ]; then
  npm ci --no-audit --no-fund >&2
fi
node dist/src/bin/fluxguard.js --version
