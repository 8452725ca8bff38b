#!/usr/bin/env bash
# The newcomer's demo (make demo): a throwaway Vault dev server and, when
# PostgreSQL is installed, a throwaway PostgreSQL with the dynamic-secrets
# article's read-only role. rotor logs in with AppRole and renders, side
# by side, the article's dynamic database credentials, a PKI certificate
# and key, and a KV secret. A narrator (narrate/) tells what happens as it
# happens: each file written (with the Vault-made database user, never a
# password), each lease renewal, each rotation and reload, and the time
# left on the lease. Short TTLs make a renewal and a rotation happen in
# the first two minutes. Ctrl-C stops everything and removes it.
#
# ROTOR_DEMO_DB_TTL and ROTOR_DEMO_DB_MAX_TTL (default 30s and 90s) set the
# database role's lease TTLs; ROTOR_DEMO_NARRATOR is a built narrator.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
db_ttl=${ROTOR_DEMO_DB_TTL:-30s}
db_max_ttl=${ROTOR_DEMO_DB_MAX_TTL:-90s}

# PostgreSQL is optional: pg.sh stops a script when it is missing, so look
# in a subshell first.
have_pg=0
if (. "$root/examples/postgres/pg.sh") >/dev/null 2>&1; then
	. "$root/examples/postgres/pg.sh"
	have_pg=1
fi
. "$root/examples/lib/devvault.sh"

stop_all() {
	trap '' INT TERM # a second Ctrl-C must not cut the cleanup short
	set +e
	[ -n "${rotor_pid:-}" ] && kill "$rotor_pid" 2>/dev/null && wait "$rotor_pid" 2>/dev/null
	rotor_pid=
	exec 3>&- # the narrator tells rotor's last lines, then ends
	[ -n "${narrator_pid:-}" ] && wait "$narrator_pid" 2>/dev/null
	[ "$have_pg" = 1 ] && pg_stop
	cleanup # the lib's: stops Vault, removes $work
	echo "==> stopped rotor, Vault${pg_name:-}; their files are removed"
}
trap stop_all EXIT
trap 'exit 130' INT TERM

if [ -n "${ROTOR_DEMO_NARRATOR:-}" ]; then
	narrate=$ROTOR_DEMO_NARRATOR
else
	echo "==> building the narrator (examples/demo/narrate)"
	go build -o "$work/narrate" ./examples/demo/narrate
	narrate="$work/narrate"
fi

if [ "$have_pg" = 1 ]; then
	pg_name=" and PostgreSQL"
	pg_start
	pg_vault "$db_ttl" "$db_max_ttl"
else
	echo "==> PostgreSQL is not installed: the demo runs without database credentials."
	echo "    Install it (sudo apt-get install -y postgresql) to see the article's dynamic credentials."
fi

api_port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
out="$work/out"
cat >"$work/rotor.hcl" <<HCL
vault {
  address = "$VAULT_ADDR"
}

# rotor status, rotor rotate and /metrics use it.
listener "tcp" {
  address       = "127.0.0.1:$api_port"
  enable_rotate = true
}

auto_auth {
  method "approle" {
    config = {
      role_id_file_path   = "$work/role_id"
      secret_id_file_path = "$work/secret_id"
    }
  }
  sink "file" {
    config = { path = "$work/token", mode = 0600 }
  }
}

template_config {
  static_secret_render_interval = "10s"
}

# A KV secret as an env file: re-read every 10s, rewritten only on change.
template {
  contents    = "{{ with secret \"secret/demo/app\" }}APP_USER={{ .Data.data.username }}\nAPP_PASSWORD={{ .Data.data.password }}\n{{ end }}"
  destination = "$out/app.env"
  perms       = "0600"
}

# The article's certificate templates: one shared issue call, so cert and
# key always match; one reload command for both, run once per rotation.
template {
  source      = "$root/examples/demo/cert.tpl"
  destination = "$out/server.crt"
  perms       = "0644"
  command     = "true"
}
template {
  source      = "$root/examples/demo/key.tpl"
  destination = "$out/server.key"
  perms       = "0600"
  command     = "true"
}
HCL
if [ "$have_pg" = 1 ]; then
	cat >>"$work/rotor.hcl" <<HCL

# The article's headline: a PostgreSQL user made by Vault for this lease.
# rotor renews the lease, and fetches a new user before the max TTL ends.
# The reload command logs in with the new user, as an app would.
template {
  contents    = "{{ with secret \"database/creds/myapp-readonly\" }}PGHOST=127.0.0.1\nPGPORT=$pg_port\nPGDATABASE=myapp\nPGUSER={{ .Data.username }}\nPGPASSWORD={{ .Data.password }}\n{{ end }}"
  destination = "$out/db.env"
  perms       = "0600"
  command     = ["$root/examples/demo/dbcheck.sh", "$out/db.env", "$PGBIN/psql"]
}
HCL
fi
"$ROTOR" validate -config "$work/rotor.hcl"

# What to try next, printed by the narrator once rotor is ready.
vault_cmd=vault
command -v vault >/dev/null 2>&1 || vault_cmd=$VAULT
{
	echo "What to try now, in another terminal (copy the export line first):"
	echo ""
	echo "  export VAULT_ADDR=$VAULT_ADDR VAULT_TOKEN=$root_token"
	echo ""
	echo "  $ROTOR status -config $work/rotor.hcl                 # every lease, when it expires, what rotor does next"
	if [ "$have_pg" = 1 ]; then
		echo "  $vault_cmd lease revoke -prefix database/creds/myapp-readonly   # kill the DB user: rotor's next renewal is refused, it fetches a new one"
		echo "  $ROTOR rotate -config $work/rotor.hcl database/creds   # ask rotor for a new DB user now"
		echo "  (set -a; . $out/db.env; $PGBIN/psql -c 'SELECT current_user, * FROM items')   # log in as the rendered user"
	fi
	echo "  $vault_cmd kv put secret/demo/app username=demo password=new   # app.env follows within 10s"
	echo "  curl -s http://127.0.0.1:$api_port/metrics | grep -E 'rotor_lease_expiry|rotor_lease_(renewals|rotations)'"
	echo ""
	echo "Press Ctrl-C to stop everything."
} >"$work/next.txt"

echo "==> files: $out/"
echo "    token: 30s TTL, renewed; 2m max TTL, replaced before it ends"
[ "$have_pg" = 1 ] && echo "    db.env: database/creds/myapp-readonly, lease TTL $db_ttl, max TTL $db_max_ttl"
echo "    server.crt, server.key: pki_int/issue/web-servers, 2m certificates"
echo "    app.env: secret/demo/app (KV), re-read every 10s"
echo "    rotor's raw JSON log: $work/rotor.log"
echo "==> running: rotor agent -config $work/rotor.hcl -log-format json -log-level debug | narrate"
echo ""
exec 3> >("$narrate" -api "http://127.0.0.1:$api_port" -db "$out/db.env" -raw "$work/rotor.log" -next "$work/next.txt")
narrator_pid=$!
"$ROTOR" agent -config "$work/rotor.hcl" -log-format json -log-level debug 2>&3 &
rotor_pid=$!
wait "$rotor_pid"
