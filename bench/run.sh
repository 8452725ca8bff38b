#!/usr/bin/env bash
# Runs rotor and Vault Agent v1.21.0 side by side on one dev Vault (plus
# PostgreSQL for database credentials) and prints time, memory and request
# counts with ratios. Needs the test Vault build (make vault) and the
# postgresql package.
#
#   bench/run.sh          templates: render time, memory, Vault requests
#   bench/run.sh proxy    API proxy: cached-read throughput, latency, memory
set -euo pipefail
cd "$(dirname "$0")/.."
make -s vault
run=TestCompareWithVaultAgent
if [ "${1:-}" = proxy ]; then run=TestCompareProxyWithVaultAgent; fi
ROTOR_BENCH=1 ROTOR_VAULT_BIN="$PWD/test/vault/bin/vault" go test -count=1 -run "^$run\$" -v -timeout 60m ./bench/ |
	grep -v '^=== RUN\|^--- \|^PASS\|^ok'
