#!/usr/bin/env bash
# Starts a throwaway QEMU (no guest OS) and the exporter pointed at it, then drives QMP events on a timer
# so that every metric moves. Ctrl-C stops both and removes the temp folder.
#   scripts/demo.sh [PORT]      (default port 9719)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
. "$root/scripts/lib.sh"
port=${1:-9719}

ensure_packages qemu-system-x86 qemu-utils socat

dir=$(mktemp -d /tmp/qmp-demo.XXXXXX)
qemu_pid="" exporter_pid=""
cleanup() {
  trap - EXIT INT TERM
  [ -n "$exporter_pid" ] && kill "$exporter_pid" 2>/dev/null && wait "$exporter_pid" 2>/dev/null
  [ -n "$qemu_pid" ] && kill "$qemu_pid" 2>/dev/null
  rm -rf "$dir"
  echo "demo stopped"
}
trap cleanup EXIT INT TERM

# qmp COMMAND [ARGS_JSON] — runs one command on the demo's own control monitor (QEMU serves one client per socket).
qmp() {
  local args=${2:+,\"arguments\":$2}
  printf '{"execute":"qmp_capabilities"}\n{"execute":"%s"%s}\n' "$1" "$args" \
    | socat -t 1 - "UNIX-CONNECT:$dir/control.qmp" >/dev/null 2>&1 || true
}

qemu-system-x86_64 -M pc -m 128 -nodefaults -display none \
  -qmp "unix:$dir/exporter.qmp,server=on,wait=off" -qmp "unix:$dir/control.qmp,server=on,wait=off" \
  >"$dir/qemu.log" 2>&1 &
qemu_pid=$!

echo "building the exporter..."
dotnet build "$root/src/QmpExporter" -c Release --nologo -v quiet >/dev/null
dotnet "$root/src/QmpExporter/bin/Release/net10.0/qmp-exporter.dll" \
  --vm "demo=$dir/exporter.qmp" --urls "http://127.0.0.1:$port" &
exporter_pid=$!

for _ in $(seq 100); do curl -fs "http://127.0.0.1:$port/healthz" >/dev/null 2>&1 && break; sleep 0.1; done
echo
echo "QmpExporter is serving http://127.0.0.1:$port/metrics (VM 'demo', QEMU pid $qemu_pid). Ctrl-C to stop."
echo

# Every 5 s: pause and resume the VM, and every third round reset it.
round=0
while kill -0 "$qemu_pid" 2>/dev/null; do
  sleep 5
  round=$((round + 1))
  qmp stop
  sleep 1
  qmp cont
  [ $((round % 3)) -eq 0 ] && qmp system_reset
done
echo "QEMU exited; see $dir/qemu.log"
