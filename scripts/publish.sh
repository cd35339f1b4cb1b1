#!/usr/bin/env bash
# Builds the release binary: a NativeAOT, self-contained linux-x64 executable, `qmp-exporter`, with no .NET runtime
# needed on the host (it links only libc and libm).
#
#   scripts/publish.sh [OUTPUT_DIR]        default: artifacts/aot
#
# OUTPUT_DIR receives exactly one file, qmp-exporter. The build tree (obj/bin, the native symbols qmp-exporter.dbg)
# goes to $QMP_EXPORTER_BUILD_DIR (default: artifacts/aot-build), never to src/QmpExporter/obj, so publishing does
# not disturb the JIT builds the tests use. PublishAot is passed here rather than set in the csproj: set there, every
# restore (tests included) would download the ILCompiler packs.
# Trim/AOT warnings fail the build (TreatWarningsAsErrors covers the ILCompiler's warnings too). Needs gcc or clang
# and zlib (zlib1g-dev), both present on the Debian 12 .NET SDK image.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
out=${1:-$root/artifacts/aot}
build=${QMP_EXPORTER_BUILD_DIR:-$root/artifacts/aot-build}
mkdir -p "$out" "$build"
out=$(cd "$out" && pwd)
build=$(cd "$build" && pwd)

# --disable-build-servers: no MSBuild node or compiler server outlives the script (CI waits for its children).
dotnet publish "$root/src/QmpExporter/QmpExporter.csproj" -c Release -r linux-x64 --nologo --disable-build-servers \
  -p:PublishAot=true --artifacts-path "$build" -o "$build/publish"

install -m 0755 "$build/publish/qmp-exporter" "$out/qmp-exporter"
echo "published $out/qmp-exporter ($(du -h "$out/qmp-exporter" | cut -f1)); symbols: $build/publish/qmp-exporter.dbg"
