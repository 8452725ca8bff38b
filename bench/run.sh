#!/usr/bin/env bash
# Runs rotor and Vault Agent v1.21.0 side by side on one dev Vault (plus
# PostgreSQL for database credentials) and prints time, memory and request
# counts with ratios for 4, 500, 2,000 and 5,000 templates, then rotor's
# per-phase table (ROTOR_PHASES=1). Needs the test Vault build (make vault)
# and the postgresql package. Takes about ten minutes on 2 cores.
#
#   bench/run.sh                          # everything
#   ROTOR_BENCH_SCENARIOS=4,500 bench/run.sh
#   ROTOR_BENCH_AGENTS=rotor bench/run.sh # rotor alone
#   ROTOR_BENCH_BEFORE=REV bench/run.sh   # also rotor built from REV (a commit with ROTOR_PHASES)
#   ROTOR_BENCH_RUNS=3 bench/run.sh       # runs per agent (default 5)
#   bench/run.sh proxy                    # the API proxy: cached-read throughput, latency, memory
set -euo pipefail
cd "$(dirname "$0")/.."
make -s vault
run=TestCompareWithVaultAgent
if [ "${1:-}" = proxy ]; then run=TestCompareProxyWithVaultAgent; fi
ROTOR_BENCH=1 ROTOR_VAULT_BIN="$PWD/test/vault/bin/vault" go test -count=1 -run "^$run\$" -v -timeout 60m ./bench/ |
	grep -v '^=== RUN\|^--- \|^PASS\|^ok'
