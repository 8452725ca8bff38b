#!/usr/bin/env bash
# Measures three ways of writing /metrics (hand-written, VictoriaMetrics/
# metrics, prometheus/client_golang): stripped binary size, and rotor's
# memory in the 4- and 500-template scenarios against one dev Vault. Only
# the winner stays in the tree, so the three are built from a commit that
# had them all:
#
#   bench/metrics.sh REV   # REV: a commit with ops/prom_vm.go and ops/prom_client_golang.go
#
# The table in bench/README.md came from the commit "metrics: build the
# exposition in one buffer with shared escapers" (d2a4c69), the last one
# with all three. Needs the
# test Vault (make vault) and the postgresql package.
set -euo pipefail
cd "$(dirname "$0")/.."
rev=${1:?usage: bench/metrics.sh REV (a commit with ops/prom_vm.go and ops/prom_client_golang.go)}
src=$(mktemp -d /tmp/rotor-metrics-src.XXXXXX)
trap 'rm -rf "$src"' EXIT
git archive "$rev" | tar -x -C "$src"
for f in ops/prom.go ops/prom_vm.go ops/prom_client_golang.go; do
	[ -f "$src/$f" ] || { echo "bench/metrics.sh: $rev has no $f" >&2; exit 1; }
done
make -s vault
ROTOR_BENCH=1 ROTOR_METRICS_SRC="$src" ROTOR_VAULT_BIN="$PWD/test/vault/bin/vault" \
	go test -count=1 -run TestCompareMetricsLibraries -v -timeout 60m ./bench/ |
	grep -v '^=== RUN\|^--- \|^PASS\|^ok'
