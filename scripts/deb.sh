#!/usr/bin/env bash
# Builds the Debian package qmp-exporter_VERSION_amd64.deb with dpkg-deb (no debhelper, no source package):
#
#   scripts/deb.sh [OUTPUT_DIR]        default: artifacts/deb
#
# The binary is $QMP_EXPORTER_BINARY when set, else a fresh scripts/publish.sh build. VERSION is the <Version> of
# Directory.Build.props. Contents:
#   /usr/bin/qmp-exporter                          the NativeAOT binary
#   /lib/systemd/system/qmp-exporter.service       deploy/systemd's unit
#   /usr/lib/sysusers.d/qmp-exporter.conf          user qmp-exporter, group qmp
#   /etc/default/qmp-exporter                      ARGS="" (conffile), as Debian's prometheus-*-exporter packages
#   /etc/qmp-exporter/appsettings.json             the example configuration (conffile)
# and deploy/debian's maintainer scripts. File times are SOURCE_DATE_EPOCH (default: the last commit's time).
# It depends on procps for the unit's ExecReload=/bin/kill (minimal Debian roots lack it).
# libvirt0 is suggested: the libvirt source loads it (see deploy/systemd/libvirt.conf).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
out=${1:-$root/artifacts/deb}
version=$(sed -n 's|.*<Version>\(.*\)</Version>.*|\1|p' "$root/Directory.Build.props")
export SOURCE_DATE_EPOCH=${SOURCE_DATE_EPOCH:-$(git -C "$root" log -1 --format=%ct 2>/dev/null || date +%s)}

binary=${QMP_EXPORTER_BINARY:-}
if [ -z "$binary" ]; then
  "$root/scripts/publish.sh" "$root/artifacts/aot"
  binary=$root/artifacts/aot/qmp-exporter
fi

stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT
pkg=$stage/qmp-exporter
systemd=$root/deploy/systemd
install -D -m 0755 "$binary" "$pkg/usr/bin/qmp-exporter"
install -D -m 0644 "$systemd/qmp-exporter.service" "$pkg/lib/systemd/system/qmp-exporter.service"
install -D -m 0644 "$systemd/qmp-exporter.sysusers" "$pkg/usr/lib/sysusers.d/qmp-exporter.conf"
install -D -m 0644 "$systemd/qmp-exporter.default" "$pkg/etc/default/qmp-exporter"
install -D -m 0644 "$systemd/appsettings.json" "$pkg/etc/qmp-exporter/appsettings.json"
install -D -m 0644 "$systemd/README.md" "$pkg/usr/share/doc/qmp-exporter/README.md"
install -d -m 0755 "$pkg/DEBIAN"
install -m 0755 "$root/deploy/debian/postinst" "$root/deploy/debian/prerm" "$root/deploy/debian/postrm" "$pkg/DEBIAN/"
printf '%s\n' /etc/default/qmp-exporter /etc/qmp-exporter/appsettings.json >"$pkg/DEBIAN/conffiles"
cat >"$pkg/DEBIAN/control" <<CONTROL
Package: qmp-exporter
Version: $version
Architecture: amd64
Maintainer: QmpExporter developers <qmp-exporter@users.noreply.github.com>
Installed-Size: $(du -sk --exclude=DEBIAN "$pkg" | cut -f1)
Depends: libc6 (>= 2.34), libssl3 | libssl3t64, procps, systemd (>= 247) | systemd-sysusers, init-system-helpers (>= 1.52)
Suggests: libvirt0
Section: net
Priority: optional
Homepage: https://github.com/qmp-exporter/qmp-exporter
Description: Prometheus exporter for QEMU QMP sockets
 Connects to each VM's QMP socket, subscribes to QMP events and serves them as
 Prometheus metrics on /metrics (port 9719) and OpenTelemetry span events.
 libssl3 serves HTTPS (--web.config.file) and https OTLP.
CONTROL
find "$pkg" -exec touch -h -d "@$SOURCE_DATE_EPOCH" {} +

mkdir -p "$out"
deb="$out/qmp-exporter_${version}_amd64.deb"
dpkg-deb --root-owner-group -Zxz --build "$pkg" "$deb" >/dev/null
echo "built $deb ($(du -h "$deb" | cut -f1))"
