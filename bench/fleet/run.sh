#!/usr/bin/env bash
# The fleet benchmark: 200 rotor agents, then a smaller fleet of Vault
# Agents (memory), against one persistent Vault with PostgreSQL behind
# it; each fleet goes through a deploy storm, a 300 s steady window and
# a 60 s Vault outage. Writes fleet.csv, storm.csv, requests.csv.gz,
# fleet.png and summary.md to bench/fleet/results (ROTOR_FLEET_OUT to
# change). About 25 minutes; see fleet_test.go for the knobs.
# Needs the test Vault (make vault; or ROTOR_VAULT_BIN), the postgresql
# package and gnuplot (installed here when this user may).
set -euo pipefail
cd "$(dirname "$0")/../.."
if ! command -v gnuplot >/dev/null; then
	if [ "$(id -u)" = 0 ]; then
		apt-get install -y -qq gnuplot-nox >/dev/null || { apt-get update -qq && apt-get install -y -qq gnuplot-nox >/dev/null; }
	else
		echo "bench/fleet/run.sh: gnuplot is missing: sudo apt-get install gnuplot-nox" >&2
		exit 1
	fi
fi
if [ -z "${ROTOR_VAULT_BIN:-}" ]; then
	make -s vault
	export ROTOR_VAULT_BIN="$PWD/test/vault/bin/vault"
fi
export ROTOR_FLEET_OUT="${ROTOR_FLEET_OUT:-$PWD/bench/fleet/results}"
ROTOR_FLEET=1 go test -count=1 -run TestFleet -v -timeout 90m ./bench/fleet/ |
	grep --line-buffered -v '^=== RUN\|^--- \|^PASS\|^ok'
