#!/usr/bin/env bash
# Regenerates tests/QmpExporter.Tests/RealQemu/Events/metrics.golden.txt from a real-QEMU run, then shows the diff:
# read it before committing. The golden test itself only compares; it never writes the golden file.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
. scripts/tools.sh
golden=tests/QmpExporter.Tests/RealQemu/Events/metrics.golden.txt
actual=tests/QmpExporter.Tests/bin/Release/net10.0/metrics.actual.txt
rm -f "$actual"
dotnet test tests/QmpExporter.Tests -c Release --nologo --filter "FullyQualifiedName~GoldenMetricsTests" || true
[ -f "$actual" ] || { echo "the golden run wrote no $actual: it failed before the scrape (see above)" >&2; exit 1; }
cp "$actual" "$golden"
git --no-pager diff --stat -- "$golden"
git --no-pager diff -- "$golden"
