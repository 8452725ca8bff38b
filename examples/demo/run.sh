#!/usr/bin/env bash
# The newcomer's demo: starts a throwaway Vault dev server on loopback,
# configures AppRole login plus secrets, and runs rotor against it in the
# foreground. Ctrl-C stops rotor and Vault and removes everything.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root"

# 1. A Vault binary: the one on PATH, else the test build (built once).
if command -v vault >/dev/null 2>&1; then
	VAULT=$(command -v vault)
else
	VAULT="$root/test/vault/bin/vault"
	if [ ! -x "$VAULT" ]; then
		echo "==> building Vault v1.21.0 from source (first time only, 5-10 minutes on 2 cores)"
		(cd test/vault && go build -v -o bin/vault . 2>&1 |
			awk '{ n++; printf "\r    compiled %d packages", n; fflush() } END { print "" }')
	fi
fi
echo "==> building rotor"
go build -o bin/rotor ./cmd/rotor

work=$(mktemp -d /tmp/rotor-demo.XXXXXX)
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])' 2>/dev/null || echo 18200)
export VAULT_ADDR="http://127.0.0.1:$port"
root_token="demo-root-$RANDOM$RANDOM"
cleanup() {
	[ -n "${rotor_pid:-}" ] && kill "$rotor_pid" 2>/dev/null && wait "$rotor_pid" 2>/dev/null
	[ -n "${vault_pid:-}" ] && kill "$vault_pid" 2>/dev/null && wait "$vault_pid" 2>/dev/null
	rm -rf "$work"
}
trap cleanup EXIT INT TERM

echo "==> starting Vault dev server at $VAULT_ADDR (log: $work/vault.log)"
"$VAULT" server -dev -dev-listen-address="127.0.0.1:$port" -dev-root-token-id="$root_token" >"$work/vault.log" 2>&1 &
vault_pid=$!
for _ in $(seq 100); do
	curl -fs "$VAULT_ADDR/v1/sys/health" >/dev/null 2>&1 && break
	sleep 0.1
done

api() { # api METHOD PATH [JSON]
	curl -fsS -X "$1" -H "X-Vault-Token: $root_token" ${3:+-d "$3"} "$VAULT_ADDR/v1/$2"
}
echo "==> configuring AppRole, a policy and a KV secret"
api POST sys/auth/approle '{"type":"approle"}' >/dev/null
api PUT sys/policies/acl/demo '{"policy":"path \"secret/data/demo/*\" { capabilities = [\"read\"] }"}' >/dev/null
api POST auth/approle/role/demo '{"token_policies":["default","demo"],"token_ttl":"30s","token_max_ttl":"2m"}' >/dev/null
api GET auth/approle/role/demo/role-id | python3 -c 'import json,sys; print(json.load(sys.stdin)["data"]["role_id"])' >"$work/role_id"
api POST auth/approle/role/demo/secret-id | python3 -c 'import json,sys; print(json.load(sys.stdin)["data"]["secret_id"])' >"$work/secret_id"
api POST secret/data/demo/app '{"data":{"username":"demo","password":"change-me"}}' >/dev/null

cat >"$work/rotor.hcl" <<HCL
vault {
  address = "$VAULT_ADDR"
}

auto_auth {
  method "approle" {
    config = {
      role_id_file_path   = "$work/role_id"
      secret_id_file_path = "$work/secret_id"
    }
  }
  sink "file" {
    config = { path = "$work/token", mode = "0600" }
  }
}
HCL

echo "==> running: rotor agent -config $work/rotor.hcl"
echo "    token sink: $work/token (30s TTL, renewed; 2m max TTL, replaced before it ends)"
echo "    press Ctrl-C to stop"
bin/rotor agent -config "$work/rotor.hcl" -log-level=debug &
rotor_pid=$!
wait "$rotor_pid"
