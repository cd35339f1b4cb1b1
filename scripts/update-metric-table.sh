#!/usr/bin/env bash
# Regenerates README's Metrics table from the metric catalog, then shows the diff: read it before committing.
# The table test itself only compares; it writes what it rendered beside the test assembly, and this takes it.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
table=tests/QmpExporter.Tests/bin/Release/net10.0/metric-table.md
rm -f "$table"
dotnet test tests/QmpExporter.Tests -c Release --nologo --filter "FullyQualifiedName~MetricContractTests.Readme_metric_table" >/dev/null || true
[ -f "$table" ] || { echo "the table test wrote no $table: run dotnet test tests/QmpExporter.Tests to see why" >&2; exit 1; }
begin=$(head -n 1 "$table") end=$(tail -n 1 "$table")
grep -qxF "$begin" README.md && grep -qxF "$end" README.md || { echo "README.md lacks the table markers: $begin ... $end" >&2; exit 1; }
awk -v begin="$begin" -v end="$end" -v table="$table" '
  $0 == begin { while ((getline line < table) > 0) print line; skipping = 1; next }
  $0 == end { skipping = 0; next }
  !skipping { print }' README.md > README.md.new
mv README.md.new README.md
git --no-pager diff --stat -- README.md
