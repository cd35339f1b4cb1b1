#!/usr/bin/env bash
# Relay benchmark: N transient TCG domains (no guest OS) under the host's libvirtd, one exporter watching them all
# through one libvirt connection, and a burst of suspend/resume pairs driven through libvirt on every domain at
# once. Prints events/s through the relay (as counted on /metrics), whether every event was counted, and the
# exporter's CPU per 1,000 events. Run as root; starts virtlogd/libvirtd when nothing runs them.
#   bench/libvirt/relay.sh [DOMAINS=20] [PAIRS_PER_DOMAIN=100]
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
. "$root/scripts/lib.sh"
ensure_packages libvirt-daemon-system libvirt-clients libvirt0 qemu-system-x86 qemu-utils curl
domains=${1:-20} pairs=${2:-100}
uri=qemu:///system
virsh() { command virsh -q -c "$uri" "$@"; }

[ -e /dev/kvm ] && chgrp kvm /dev/kvm && chmod 0660 /dev/kvm
if ! virsh list >/dev/null 2>&1; then
  virtlogd -d || true
  libvirtd -d
  for _ in $(seq 100); do virsh list >/dev/null 2>&1 && break; sleep 0.2; done
fi

work=$(mktemp -d /tmp/qmpx-relay-XXXXXX); chmod 0755 "$work"
exporter_pid=""
names=()
cleanup() {
  [ -n "$exporter_pid" ] && kill "$exporter_pid" 2>/dev/null || true
  for n in "${names[@]}"; do virsh destroy "$n" >/dev/null 2>&1 || true; done
  rm -rf "$work"
}
trap cleanup EXIT

for i in $(seq "$domains"); do
  n=relay-$$-$i; names+=("$n")
  qemu-img create -q -f qcow2 "$work/$n.qcow2" 32M
  cat > "$work/$n.xml" <<XML
<domain type='qemu'><name>$n</name><memory unit='MiB'>64</memory><vcpu>1</vcpu>
  <os><type arch='x86_64' machine='pc'>hvm</type></os>
  <devices><emulator>/usr/bin/qemu-system-x86_64</emulator>
    <disk type='file' device='disk'><driver name='qemu' type='qcow2'/><source file='$work/$n.qcow2'/><target dev='vda' bus='virtio'/></disk>
  </devices></domain>
XML
  virsh create "$work/$n.xml" >/dev/null
done

dotnet build -c Release --nologo -v q "$root/src/QmpExporter" >/dev/null
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
dotnet "$root/src/QmpExporter/bin/Release/net10.0/qmp-exporter.dll" --libvirt "$uri" --urls "http://127.0.0.1:$port" \
  --Logging:LogLevel:Default=Warning >"$work/exporter.log" 2>&1 &
exporter_pid=$!

events() { curl -sf "http://127.0.0.1:$port/metrics" | awk -v p="relay-$$-" '/^qmp_events_total\{/ && index($0, "vm=\"" p) { s += $NF } END { print s + 0 }'; }
ups() { curl -sf "http://127.0.0.1:$port/metrics" | awk -v p="relay-$$-" '/^qmp_up\{/ && index($0, "vm=\"" p) && $NF == 1 { n++ } END { print n + 0 }'; }
until [ "$(ups 2>/dev/null || echo 0)" = "$domains" ]; do sleep 0.2; done

cpu() { awk '{ print $14 + $15 }' "/proc/$exporter_pid/stat"; }
# burst PAIRS: suspend/resume pairs on every domain at once, until the exporter counted them all (or 120 s passed).
burst() {
  local drivers=() n cmds
  want=$(($(events) + domains * $1 * 2))
  start=$(date +%s.%N)
  for n in "${names[@]}"; do
    cmds=""; for _ in $(seq "$1"); do cmds+="suspend $n; resume $n; "; done
    virsh "$cmds" >/dev/null & drivers+=($!)
  done
  wait "${drivers[@]}"
  until [ "$(events)" -ge "$want" ]; do
    sleep 0.5 # each poll is a scrape, whose CPU the exporter would count against the events
    [ "$(echo "$(date +%s.%N) - $start > 120" | bc)" = 1 ] && break
  done
}
burst 5 # warm-up: the JIT compiles the event path as a long-running daemon has
base=$(events); cpu0=$(cpu); hz=$(getconf CLK_TCK)
burst "$pairs"
want=$((want)); end=$(date +%s.%N); got=$(($(events) - base)); cpu1=$(cpu)
awk -v d="$domains" -v e="$got" -v w="$((want - base))" -v t="$(echo "$end - $start" | bc)" -v c="$(( cpu1 - cpu0 ))" -v hz="$hz" 'BEGIN {
  printf "domains %d, events %d of %d counted, %.1f s: %.0f events/s through the relay; exporter CPU %.1f ms per 1,000 events\n",
    d, e, w, t, e / t, c * 1000 / hz / e * 1000 }'
