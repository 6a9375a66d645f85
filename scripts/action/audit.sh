#!/usr/bin/env bash
# action.yml, step "Audit": runs `fluxguard audit` with the action's inputs (FLUXGUARD_* from the
# step's env), prints the text report to the log, writes the report file (and SARIF when asked),
# and records report, sarif and exit-code in $GITHUB_OUTPUT. Exits 0 so that the SARIF upload
# still runs; the action's last step fails the job with the recorded exit code.
set -uo pipefail
bin="${GITHUB_ACTION_PATH:?}/dist/src/bin/fluxguard.js"
path="${FLUXGUARD_PATH:-.}"
format="${FLUXGUARD_FORMAT:-text}"
case "$format" in
  text) ext=txt ;; json) ext=json ;; sarif) ext=sarif ;; html) ext=html ;;
  *) echo "fluxguard: unknown format '$format'" >&2; echo "exit-code=2" >>"${GITHUB_OUTPUT:?}"; exit 0 ;;
esac
output="${FLUXGUARD_OUTPUT:-fluxguard-report.$ext}"
args=(audit "$path" --fail-on "${FLUXGUARD_FAIL_ON:-high}" --no-color)
[ -n "${FLUXGUARD_BASELINE:-}" ] && args+=(--baseline "$FLUXGUARD_BASELINE")
[ "${FLUXGUARD_UNTRUSTED:-true}" = "true" ] && args+=(--untrusted)
[ -n "${FLUXGUARD_CONFIG:-}" ] && args+=(--config "$FLUXGUARD_CONFIG")

# The log: the text report (root causes first).
node "$bin" "${args[@]}"
code=$?
if [ "$code" -le 1 ] && [ "$format" != "text" ]; then
  node "$bin" "${args[@]}" --format "$format" --output "$output" || true
elif [ "$code" -le 1 ]; then
  node "$bin" "${args[@]}" --output "$output" || true
fi
sarif=""
if [ "${FLUXGUARD_SARIF:-false}" = "true" ] && [ "$code" -le 1 ]; then
  sarif="${output%.*}.sarif"
  [ "$format" = "sarif" ] && sarif="$output"
  [ "$format" = "sarif" ] || node "$bin" "${args[@]}" --format sarif --output "$sarif" || true
fi
{
  echo "report=$output"
  echo "sarif=$sarif"
  echo "exit-code=$code"
} >>"${GITHUB_OUTPUT:?}"
exit 0
