# Shared by the examples: builds rotor, starts a throwaway Vault dev server
# on loopback and configures it (AppRole, a policy, a KV secret, the
# article's PKI). Source it from an example's run.sh after setting root to
# the repository. It sets: VAULT_ADDR, root_token, work (a temp dir with
# role_id and secret_id), ROTOR (the binary), and api() for Vault calls.
# Everything is stopped and removed on exit.
set -euo pipefail
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
[ -n "${ROTOR_BIN:-}" ] || echo "==> building rotor"
if [ -n "${ROTOR_BIN:-}" ]; then
	ROTOR=$ROTOR_BIN # already built (the examples' tests build it once)
else
	go build -o bin/rotor ./cmd/rotor
	ROTOR="$root/bin/rotor"
fi

work=$(mktemp -d /tmp/rotor-demo.XXXXXX)
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])' 2>/dev/null || echo 18200)
export VAULT_ADDR="http://127.0.0.1:$port"
root_token="demo-root-$RANDOM$RANDOM"
cleanup() {
	set +e # clean up everything, whatever fails
	[ -n "${rotor_pid:-}" ] && kill "$rotor_pid" 2>/dev/null && wait "$rotor_pid" 2>/dev/null
	[ -n "${vault_pid:-}" ] && kill "$vault_pid" 2>/dev/null && wait "$vault_pid" 2>/dev/null
	rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM # cleanup runs on the way out, and the script stops

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
echo "==> configuring AppRole, a policy, a KV secret and a PKI (root + intermediate, role web-servers)"
api POST sys/auth/approle '{"type":"approle"}' >/dev/null
api PUT sys/policies/acl/demo '{"policy":"path \"secret/data/demo/*\" { capabilities = [\"read\"] }\npath \"pki_int/issue/web-servers\" { capabilities = [\"update\"] }\npath \"sys/leases/revoke\" { capabilities = [\"update\"] }"}' >/dev/null
api POST sys/mounts/pki '{"type":"pki","config":{"max_lease_ttl":"87600h"}}' >/dev/null
api POST sys/mounts/pki_int '{"type":"pki","config":{"max_lease_ttl":"43800h"}}' >/dev/null
api POST pki/root/generate/internal '{"common_name":"Demo Root CA","ttl":"87600h","key_type":"ec","key_bits":256}' >/dev/null
csr=$(api POST pki_int/intermediate/generate/internal '{"common_name":"Demo Intermediate CA","key_type":"ec","key_bits":256}' |
	python3 -c 'import json,sys; print(json.dumps(json.load(sys.stdin)["data"]["csr"]))')
signed=$(api POST pki/root/sign-intermediate "{\"csr\":$csr,\"format\":\"pem_bundle\",\"ttl\":\"43800h\"}" |
	python3 -c 'import json,sys; print(json.dumps(json.load(sys.stdin)["data"]["certificate"]))')
api POST pki_int/intermediate/set-signed "{\"certificate\":$signed}" >/dev/null
api POST pki_int/roles/web-servers '{"allowed_domains":"example.com","allow_subdomains":true,"max_ttl":"720h","key_type":"ec","key_bits":256}' >/dev/null
api POST auth/approle/role/demo '{"token_policies":["default","demo"],"token_ttl":"30s","token_max_ttl":"2m"}' >/dev/null
api GET auth/approle/role/demo/role-id | python3 -c 'import json,sys; print(json.load(sys.stdin)["data"]["role_id"])' >"$work/role_id"
api POST auth/approle/role/demo/secret-id | python3 -c 'import json,sys; print(json.load(sys.stdin)["data"]["secret_id"])' >"$work/secret_id"
api POST secret/data/demo/app '{"data":{"username":"demo","password":"change-me"}}' >/dev/null


# auth_hcl prints the vault and auto_auth blocks for the demo role.
auth_hcl() {
	cat <<HCL
vault {
  address = "$VAULT_ADDR"
}

auto_auth {
  method "approle" {
    config = {
      role_id_file_path   = "$work/role_id"
      secret_id_file_path = "$work/secret_id"
      remove_secret_id_file_after_reading = false
    }
  }
}
HCL
}
