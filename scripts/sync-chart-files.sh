#!/usr/bin/env bash
# Copies the files the Helm chart embeds from their one source into deploy/helm/qmp-exporter/files/ (Helm cannot
# read outside the chart): grafana/alerts/qmp-exporter.rules.yml -> files/qmp-exporter.rules.yml, the body of the
# chart's PrometheusRule. Each copy starts with a "generated, do not edit" YAML comment, then the source verbatim.
#
#   scripts/sync-chart-files.sh           write the copies
#   scripts/sync-chart-files.sh --check   change nothing; exit 1 and show the difference when a copy is stale
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
check=false
case "${1:-}" in
  --check) check=true ;;
  "") ;;
  *) echo "usage: $0 [--check]" >&2; exit 2 ;;
esac

# source (relative to the repository root) -> copy in the chart
pairs=(
  "grafana/alerts/qmp-exporter.rules.yml:deploy/helm/qmp-exporter/files/qmp-exporter.rules.yml"
)

stale=0
for pair in "${pairs[@]}"; do
  src=${pair%%:*} dst=${pair#*:}
  if [ ! -f "$root/$src" ]; then
    echo "$src is missing: it is the source of $dst" >&2
    exit 1
  fi
  expected=$(mktemp)
  {
    echo "# GENERATED from $src by scripts/sync-chart-files.sh: do not edit; edit the source and run the script."
    cat "$root/$src"
  } > "$expected"
  if cmp -s "$expected" "$root/$dst"; then
    rm -f "$expected"
    continue
  fi
  if $check; then
    echo "$dst is not in sync with $src; run scripts/sync-chart-files.sh" >&2
    diff -u "$root/$dst" "$expected" >&2 || true
    stale=1
    rm -f "$expected"
  else
    mkdir -p "$(dirname "$root/$dst")"
    mv "$expected" "$root/$dst"
    chmod 0644 "$root/$dst"
    echo "wrote $dst" >&2
  fi
done
exit "$stale"
