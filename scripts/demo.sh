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

# The VM: no guest OS. SeaBIOS reads the boot disk at every (re)boot and blkdebug fails that read, so each reset
# brings a BLOCK_IO_ERROR; a qcow2 overlay is the source of block jobs; an empty CD drive has a tray; a quorum of
# three children, one failing and one different, reports bad children and failed votes when read.
qemu-img create -q -f raw "$dir/disk.img" 1M
qemu-img create -q -f qcow2 "$dir/base.qcow2" 32M
qemu-io -f qcow2 -c "write -P 0xab 0 4M" "$dir/base.qcow2" >/dev/null
qemu-img create -q -f qcow2 -b "$dir/base.qcow2" -F qcow2 "$dir/top.qcow2"
for i in 0 1 2; do qemu-img create -q -f raw "$dir/q$i.img" 1M; done
qemu-io -f raw -c "write -P 0x55 0 64k" "$dir/q2.img" >/dev/null
qemu-system-x86_64 -M pc -m 128 -nodefaults -display none \
  -drive "if=none,id=drive0,node-name=disk0,format=raw,file.driver=blkdebug,file.image.filename=$dir/disk.img,file.inject-error.0.event=read_aio,file.inject-error.0.errno=5,rerror=report,werror=report" \
  -device ide-hd,drive=drive0,bootindex=1,bus=ide.0,unit=0 \
  -blockdev "driver=qcow2,node-name=top,file.driver=file,file.filename=$dir/top.qcow2" \
  -device ide-cd,id=cd0,bus=ide.1,unit=0 \
  -blockdev "{\"driver\":\"quorum\",\"node-name\":\"quorum0\",\"vote-threshold\":2,\"children\":[{\"driver\":\"raw\",\"node-name\":\"qchild0\",\"file\":{\"driver\":\"file\",\"filename\":\"$dir/q0.img\"}},{\"driver\":\"raw\",\"node-name\":\"qchild1\",\"file\":{\"driver\":\"blkdebug\",\"image\":{\"driver\":\"file\",\"filename\":\"$dir/q1.img\"},\"inject-error\":[{\"event\":\"read_aio\",\"errno\":5}]}},{\"driver\":\"raw\",\"node-name\":\"qchild2\",\"file\":{\"driver\":\"file\",\"filename\":\"$dir/q2.img\"}}]}" \
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

# Every 5 s something happens, so that within a minute every metric family has shown up:
# pause/resume, a reset (and with it an I/O error), a quorum read, the tray, a throttled mirror job cancelled once
# ready, a memory dump, and a migration (to a pipe that discards it) followed by a resume. (Guest panics need a
# guest that writes to the pvpanic device; the end-to-end tests provoke them with a boot sector.)
round=0
while kill -0 "$qemu_pid" 2>/dev/null; do
  sleep 5
  round=$((round + 1))
  echo "round $round"
  qmp stop
  qmp cont
  qmp blockdev-open-tray '{"id":"cd0"}'
  case $((round % 4)) in
    1) qmp system_reset
       qmp human-monitor-command '{"command-line":"qemu-io quorum0 \"read 0 4k\""}' ;;
    2) qmp drive-mirror "{\"job-id\":\"mirror-$round\",\"device\":\"top\",\"target\":\"$dir/mirror.qcow2\",\"format\":\"qcow2\",\"sync\":\"full\",\"speed\":4194304}"
       sleep 3
       qmp block-job-cancel "{\"device\":\"mirror-$round\"}" ;;
    3) qmp dump-guest-memory "{\"paging\":false,\"protocol\":\"file:$dir/memory.elf\",\"detach\":true}" ;;
    0) qmp migrate-set-capabilities '{"capabilities":[{"capability":"events","state":true}]}'
       qmp migrate '{"uri":"exec:cat > /dev/null"}'
       sleep 2
       qmp cont ;;
  esac
  qmp blockdev-close-tray '{"id":"cd0"}'
done
echo "QEMU exited; see $dir/qemu.log"
