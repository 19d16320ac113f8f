#!/usr/bin/env bash
# The test command (README, .ci/run): set-up, type check, unit tests, then the QEMU end-to-end suite.
# Extra arguments go to the e2e runner (e.g. --all for every disk variant).
set -uo pipefail
cd "$(dirname "$0")/.."
./scripts/setup.sh || exit 1
bun=node_modules/.bin/bun
started=$SECONDS
results=()

run_stage() { # name command...
  local name=$1; shift
  echo; echo "=== $name"
  if "$@"; then results+=("$name:PASS"); else results+=("$name:FAIL"); fi
}

run_stage typecheck node_modules/.bin/tsc --noEmit -p .
run_stage unit "$bun" test test/unit
run_stage e2e "$bun" test/e2e/run-e2e.ts "$@"

failed=$(printf '%s\n' "${results[@]}" | grep -c ':FAIL$' || true)
echo
echo "TEST SUMMARY: ${results[*]} — $((${#results[@]} - failed)) passed, $failed failed in $(( (SECONDS - started) / 60 )) min"
[[ $failed -eq 0 ]]
