#!/usr/bin/env bash
# Builds the OCI image ghcr.io/qmp-exporter/qmp-exporter:VERSION (the Helm chart's default image) with buildah, no
# container daemon, and writes it as an OCI archive:
#
#   scripts/image.sh [OUTPUT_DIR]        default: artifacts/image → OUTPUT_DIR/qmp-exporter_VERSION.oci.tar
#
# Push it with skopeo: skopeo copy oci-archive:artifacts/image/qmp-exporter_VERSION.oci.tar docker://REPOSITORY:VERSION
#
# FROM scratch: the NativeAOT binary ($QMP_EXPORTER_BINARY, else a fresh scripts/publish.sh build), the libraries it
# loads (ldd: glibc; dlopen'ed: libssl3/libcrypto for HTTPS and https OTLP), the CA bundle, passwd/group with
# nobody (65534) and /tmp; it runs as 65534. The libvirt source is not in this image: libvirt0 loads some 50 more
# libraries; run that source from the Debian package.
# Reproducible: every file and the image's creation time are SOURCE_DATE_EPOCH (default: the last commit's time),
# so two builds of one commit have one digest (printed last). buildah's storage is a throw-away folder.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
out=${1:-$root/artifacts/image}
version=$(sed -n 's|.*<Version>\(.*\)</Version>.*|\1|p' "$root/Directory.Build.props")
revision=$(git -C "$root" rev-parse HEAD 2>/dev/null || echo unknown)
epoch=${SOURCE_DATE_EPOCH:-$(git -C "$root" log -1 --format=%ct 2>/dev/null || date +%s)}
name=qmp-exporter
repository=ghcr.io/qmp-exporter/qmp-exporter
source=https://github.com/qmp-exporter/qmp-exporter

binary=${QMP_EXPORTER_BINARY:-}
if [ -z "$binary" ]; then
  "$root/scripts/publish.sh" "$root/artifacts/aot"
  binary=$root/artifacts/aot/qmp-exporter
fi

work=$(mktemp -d)
storage=(--root "$work/storage" --runroot "$work/run" --storage-driver vfs)
ctr=""
cleanup() {
  [ -n "$ctr" ] && buildah "${storage[@]}" rm "$ctr" >/dev/null 2>&1
  # vfs layers may hold read-only directories.
  chmod -R u+w "$work" 2>/dev/null
  rm -rf "$work"
}
trap cleanup EXIT

# The image's file system, staged with the host's copies (Debian 12's glibc and libssl3).
rootfs=$work/rootfs
install -D -m 0755 "$binary" "$rootfs/usr/bin/qmp-exporter"
libs=$(ldd "$binary" | awk '$2 == "=>" && $3 ~ /^\// { print $3 } $1 ~ /^\// { print $1 }')
for lib in $libs /usr/lib/x86_64-linux-gnu/libssl.so.3 /usr/lib/x86_64-linux-gnu/libcrypto.so.3; do
  install -D -m 0644 "$(readlink -f "$lib")" "$rootfs$lib"
done
chmod 0755 "$rootfs"/lib64/ld-linux-x86-64.so.2
install -D -m 0644 /etc/ssl/certs/ca-certificates.crt "$rootfs/etc/ssl/certs/ca-certificates.crt"
printf 'root:x:0:0:root:/root:/usr/sbin/nologin\nnobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n' >"$rootfs/etc/passwd"
printf 'root:x:0:\nnogroup:x:65534:\n' >"$rootfs/etc/group"
install -d -m 1777 "$rootfs/tmp"
find "$rootfs" -exec touch -h -d "@$epoch" {} +

ctr=$(buildah "${storage[@]}" from scratch)
buildah "${storage[@]}" copy "$ctr" "$rootfs/" / >/dev/null
buildah "${storage[@]}" config \
  --user 65534:65534 \
  --entrypoint '["/usr/bin/qmp-exporter"]' \
  --port 9719/tcp \
  --env SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt \
  --label org.opencontainers.image.title=$name \
  --label org.opencontainers.image.description="Prometheus exporter for QEMU QMP sockets" \
  --label org.opencontainers.image.version="$version" \
  --label org.opencontainers.image.revision="$revision" \
  --label org.opencontainers.image.source=$source \
  "$ctr"
image=$repository:$version
buildah "${storage[@]}" commit --quiet --format oci --timestamp "$epoch" --rm "$ctr" "$image" >/dev/null
ctr=""

mkdir -p "$out"
archive=$out/${name}_$version.oci.tar
rm -f "$archive"
buildah "${storage[@]}" push --quiet "$image" "oci-archive:$archive:$image"
digest=$(skopeo inspect --format '{{.Digest}}' "oci-archive:$archive")
echo "built $archive ($(du -h "$archive" | cut -f1)), image $image, digest $digest"
