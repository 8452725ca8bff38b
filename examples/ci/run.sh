#!/usr/bin/env bash
# The CI/CD pipelines of examples/ci (.gitlab-ci.yml, github-actions.yml),
# run here: a throwaway Vault and PostgreSQL are set up as the configs'
# comments say (jwt auth mounts "gitlab" and "github" trusting a local
# issuer instead of GitLab's and GitHub's, the article's migration role,
# a policy), then each pipeline's step runs as its job would: the job's
# identity token written to vault-id-token, then examples/ci/migrate.sh.
# After each job the script checks that the migration ran as a Vault-made
# user, that no PostgreSQL user and no Vault lease is left, and that the
# token file is gone.
#
# The identity tokens: ROTOR_CI_JWT_PUBKEY (a PEM public key file),
# ROTOR_CI_JWT_ALG, ROTOR_CI_GITLAB_JWT and ROTOR_CI_GITHUB_JWT (token
# files), as the Go test gives them from test/harness/vaulttest's issuer;
# otherwise the script signs its own with openssl (RS256).
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
. "$root/examples/postgres/pg.sh" # first: it stops at once if PostgreSQL is missing
. "$root/examples/lib/devvault.sh"

stop_all() {
	trap '' INT TERM
	set +e
	pg_stop
	cleanup # the lib's: stops Vault, removes $work
}
trap stop_all EXIT
trap 'exit 130' INT TERM
fail() {
	echo "FAILED: $*" >&2
	exit 1
}

pg_start
pg_vault
audience=https://vault.example.com

echo "==> PostgreSQL: the owner role myapp_owner; Vault: the article's migration role myapp-migrate (15m, max 1h)"
psql_admin myapp "CREATE ROLE myapp_owner NOLOGIN; GRANT USAGE, CREATE ON SCHEMA public TO myapp_owner;"
api POST database/roles/myapp-migrate "$(
	cat <<'JSON'
{
  "db_name": "myapp",
  "default_ttl": "15m",
  "max_ttl": "1h",
  "creation_statements": ["CREATE ROLE \"{{name}}\" WITH LOGIN PASSWORD '{{password}}' VALID UNTIL '{{expiration}}' IN ROLE myapp_owner;"],
  "revocation_statements": [
    "REASSIGN OWNED BY \"{{name}}\" TO myapp_owner;",
    "DROP OWNED BY \"{{name}}\";",
    "DROP ROLE IF EXISTS \"{{name}}\";"
  ]
}
JSON
)" >/dev/null
api PUT sys/policies/acl/myapp-migrate '{"policy":"path \"database/creds/myapp-migrate\" { capabilities = [\"read\"] }\npath \"sys/leases/revoke\" { capabilities = [\"update\"] }"}' >/dev/null

# The identity tokens: given (the Go test's issuer), or signed here.
b64url() { openssl base64 -A | tr '+/' '-_' | tr -d '='; }
if [ -n "${ROTOR_CI_JWT_PUBKEY:-}" ]; then
	echo "==> identity tokens: given (${ROTOR_CI_JWT_ALG:-ES256}, the test harness's issuer)"
	alg=${ROTOR_CI_JWT_ALG:-ES256}
	pubkey=$(cat "$ROTOR_CI_JWT_PUBKEY")
	jwt_gitlab=$(cat "$ROTOR_CI_GITLAB_JWT")
	jwt_github=$(cat "$ROTOR_CI_GITHUB_JWT")
else
	echo "==> identity tokens: signed here with openssl (RS256), with GitLab's and GitHub's claims"
	alg=RS256
	openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$work/issuer.key" 2>/dev/null
	pubkey=$(openssl pkey -in "$work/issuer.key" -pubout)
	sign() { # sign CLAIMS_JSON
		local h p
		h=$(printf '{"alg":"RS256","typ":"JWT"}' | b64url)
		p=$(printf '%s' "$1" | b64url)
		printf '%s.%s.%s' "$h" "$p" "$(printf '%s.%s' "$h" "$p" | openssl dgst -sha256 -sign "$work/issuer.key" -binary | b64url)"
	}
	now=$(date +%s)
	jwt_gitlab=$(sign "{\"iss\":\"https://gitlab.example.com\",\"aud\":\"$audience\",\"sub\":\"project_path:mygroup/myapp:ref_type:branch:ref:main\",\"project_path\":\"mygroup/myapp\",\"ref\":\"main\",\"ref_protected\":\"true\",\"iat\":$now,\"nbf\":$now,\"exp\":$((now + 300))}")
	jwt_github=$(sign "{\"iss\":\"https://token.actions.githubusercontent.com\",\"aud\":\"$audience\",\"sub\":\"repo:myorg/myapp:ref:refs/heads/main\",\"repository\":\"myorg/myapp\",\"ref\":\"refs/heads/main\",\"iat\":$now,\"nbf\":$now,\"exp\":$((now + 300))}")
fi

# jwt_mount MOUNT ISSUER BOUND_CLAIMS: the Vault side in gitlab.hcl and
# github.hcl, with this issuer's key instead of oidc_discovery_url.
jwt_mount() {
	api POST "sys/auth/$1" '{"type":"jwt"}' >/dev/null
	api POST "auth/$1/config" "$(python3 -c 'import json,sys; print(json.dumps({"jwt_validation_pubkeys": [sys.argv[1]], "jwt_supported_algs": [sys.argv[2]], "bound_issuer": sys.argv[3]}))' "$pubkey" "$alg" "$2")" >/dev/null
	api POST "auth/$1/role/myapp-migrate" "{\"role_type\":\"jwt\",\"user_claim\":\"sub\",\"bound_audiences\":[\"$audience\"],
		\"bound_claims\":$3,\"token_policies\":[\"myapp-migrate\"],\"token_ttl\":\"15m\",\"token_max_ttl\":\"1h\"}" >/dev/null
}
jwt_mount gitlab https://gitlab.example.com '{"project_path":"mygroup/myapp","ref_protected":"true"}'
jwt_mount github https://token.actions.githubusercontent.com '{"repository":"myorg/myapp","ref":"refs/heads/main"}'

# The job's environment: what the pipelines set, and rotor and psql on PATH.
export ROTOR PATH="$PGBIN:$PATH" PGHOST=127.0.0.1 PGPORT=$pg_port PGDATABASE=myapp PGSSLMODE=disable
unset VAULT_TOKEN

# run_job CI JWT: the pipeline's two script lines, in a fresh job directory.
run_job() {
	local ci=$1 dir="$work/job-$1"
	mkdir -p "$dir"
	echo "==> $ci job: write the identity token to vault-id-token, then examples/ci/migrate.sh $ci"
	(
		cd "$dir"
		(umask 077 && printf '%s' "$2" >vault-id-token)
		"$root/examples/ci/migrate.sh" "$ci"
	) || fail "the $ci job failed"
	[ ! -e "$dir/vault-id-token" ] || fail "rotor left the identity token file in place"
	echo "    $ci: the identity token file was read and removed"
	users=$(psql_admin myapp "SELECT count(*) FROM pg_roles WHERE rolname LIKE 'v-%'")
	echo "    $ci: PostgreSQL users left: $users"
	[ "$users" = 0 ] || fail "rotor exec left a database user"
	leases=$(curl -s -X LIST -H "X-Vault-Token: $root_token" "$VAULT_ADDR/v1/sys/leases/lookup/database/creds/myapp-migrate/" |
		python3 -c 'import json,sys; print(len((json.load(sys.stdin).get("data") or {}).get("keys") or []))')
	echo "    $ci: leases left in Vault: $leases"
	[ "$leases" = 0 ] || fail "rotor exec left a lease"
}
run_job gitlab "$jwt_gitlab"
run_job github "$jwt_github"

owner=$(psql_admin myapp "SELECT tableowner FROM pg_tables WHERE tablename = 'orders'")
echo "==> the table orders is owned by $owner, and outlives the jobs' users"
[ "$owner" = myapp_owner ] || fail "orders is owned by $owner"
