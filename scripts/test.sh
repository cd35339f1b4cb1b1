#!/usr/bin/env bash
# Runs every test: unit, protocol (fake QMP server) and end-to-end against real QEMU processes.
# Installs what it needs when missing. Ends with one line: "tests: N passed, N failed[, N skipped]".
set -uo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
. scripts/tools.sh || { echo "installing the test tools failed"; echo "tests: 0 passed, 1 failed"; exit 1; }

results=$(mktemp -d)
trap 'rm -rf "$results"' EXIT
dotnet test QmpExporter.sln -c Release --nologo \
  --logger "trx;LogFileName=$results/tests.trx" --logger "console;verbosity=minimal" 2>&1 | tee "$results/test.log"
rc=${PIPESTATUS[0]}

passed=0 failed=0 skipped=0
if [ -f "$results/tests.trx" ]; then
  counters=$(grep -o '<Counters [^>]*>' "$results/tests.trx")
  attr() { echo "$counters" | sed -n "s/.* $1=\"\([0-9]*\)\".*/\1/p"; }
  passed=$(attr passed) failed=$(attr failed) skipped=$(attr notExecuted)
  failed=$((failed + $(attr error) + $(attr timeout) + $(attr aborted)))
else
  echo "no test results were written: the build or the test host failed" >&2
  failed=$((failed + 1))
fi

# A skipped test is a test that did not prove anything: CI treats it as a failure.
if [ "${CI:-}" = "true" ] && [ "${skipped:-0}" -gt 0 ]; then
  echo "$skipped tests were skipped; in CI that is a failure" >&2
  rc=1
fi
[ "$failed" -gt 0 ] && rc=1

summary="tests: $passed passed, $failed failed"
[ "${skipped:-0}" -gt 0 ] && summary="$summary, $skipped skipped"
echo "$summary"
exit "$rc"
