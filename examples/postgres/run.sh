#!/usr/bin/env bash
# rotor for an app that reads PostgreSQL credentials from an env file
# (configs/postgres/), against a throwaway Vault and a throwaway PostgreSQL.
# Vault's database engine creates a PostgreSQL user for rotor's lease; rotor
# writes db.env and runs the shipped reload command, which sends the app
# SIGHUP; the app (app.sh) reads db.env and queries a table. The script then
# connects with the rendered DATABASE_URL itself, stops rotor, and revokes
# the lease in Vault to show the user is dropped.
#
# The shipped files are used, with only what must differ on this machine
# changed (the diff is printed): paths under a temp directory instead of
# /etc and /run, the dev Vault's address, this PostgreSQL's host and port,
# and this user's group instead of "myapp".
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
. "$root/examples/postgres/pg.sh" # first: it stops at once if PostgreSQL is missing
. "$root/examples/lib/devvault.sh"

stop_all() {
	trap '' INT TERM # a second Ctrl-C must not cut the cleanup short
	set +e
	[ -n "${rotor_pid:-}" ] && kill "$rotor_pid" 2>/dev/null && wait "$rotor_pid" 2>/dev/null
	rotor_pid=
	[ -n "${app_pid:-}" ] && kill "$app_pid" 2>/dev/null && wait "$app_pid" 2>/dev/null
	app_pid=
	pg_stop
	cleanup # the lib's: stops Vault, removes $work
}
trap stop_all EXIT
trap 'exit 130' INT TERM

fail() {
	echo "FAILED: $*" >&2
	exit 1
}
# wait_for FILE SECONDS
wait_for() {
	local deadline=$((SECONDS + $2))
	until [ -s "$1" ]; do
		[ "$SECONDS" -ge "$deadline" ] && return 1
		sleep 0.1
	done
}
redact() { sed -E -e 's/^(PGPASSWORD=).*/\1[redacted]/' -e 's|(://[^:]*:)[^@]*@|\1[redacted]@|'; }

pg_start
pg_vault

app_dir="$work/myapp" # /run/myapp in the shipped config
mkdir -p "$app_dir" "$work/templates"

# The shipped template, pointed at this PostgreSQL.
sed -e "s|@db.internal.example.com:5432/|@127.0.0.1:$pg_port/|" \
	-e 's|^PGHOST=db.internal.example.com$|PGHOST=127.0.0.1|' \
	-e "s|^PGPORT=5432$|PGPORT=$pg_port|" \
	"$root/configs/postgres/db.env.tpl" >"$work/templates/db.env.tpl"
if grep -nE 'db\.internal\.example\.com|5432' "$work/templates/db.env.tpl"; then
	fail "configs/postgres/db.env.tpl has a host or port this script does not adapt (above)"
fi

# The shipped rotor.hcl with this machine's paths.
sed -e '/^[[:space:]]*#/d' \
	-e "s|\"/run/rotor/rotor.pid\"|\"$work/rotor.pid\"|" \
	-e "s|\"https://vault.example.com:8200\"|\"$VAULT_ADDR\"|" \
	-e '/ca_cert *=/d' \
	-e "s|\"/etc/rotor/role_id\"|\"$work/role_id\"|" \
	-e "s|\"/etc/rotor/secret_id\"|\"$work/secret_id\"|" \
	-e "s|\"/etc/rotor/templates/|\"$work/templates/|" \
	-e "s|/run/myapp/|$app_dir/|g" \
	-e "s|group *= \"myapp\"|group                = \"$(id -gn)\"|" \
	"$root/configs/postgres/rotor.hcl" >"$work/rotor.hcl"
if grep -nE '/etc/|/run/|vault\.example\.com|"myapp"' "$work/rotor.hcl"; then
	fail "configs/postgres/rotor.hcl has settings this script does not adapt (above)"
fi
echo "==> configs/postgres/rotor.hcl as run here (comments dropped; - shipped, + here):"
diff <(sed '/^[[:space:]]*#/d' "$root/configs/postgres/rotor.hcl") "$work/rotor.hcl" | grep '^[<>]' |
	sed -e 's/^</    -/' -e 's/^>/    +/' || true
"$ROTOR" validate -config "$work/rotor.hcl"

echo "==> starting the app (app.sh): it reads db.env on SIGHUP"
bash "$root/examples/postgres/app.sh" "$app_dir/myapp.pid" "$app_dir/db.env" "$PGBIN/psql" &
app_pid=$!
wait_for "$app_dir/myapp.pid" 10 || fail "the app did not write its pid file"

echo "==> running: rotor agent -config rotor.hcl"
"$ROTOR" agent -config "$work/rotor.hcl" -log-level=info &
rotor_pid=$!
wait_for "$app_dir/myapp.pid.reloads" 30 || fail "the app never queried the database with the rendered credentials"

echo "==> $app_dir/db.env (passwords redacted here):"
ls -l "$app_dir/db.env" | sed 's/^/    /'
redact <"$app_dir/db.env" | sed 's/^/    /'

echo "==> psql with the rendered DATABASE_URL:"
url=$(sed -n 's/^DATABASE_URL=//p' "$app_dir/db.env")
"$PGBIN/psql" -X -v ON_ERROR_STOP=1 "$url" -c "SELECT current_user, id, name FROM items ORDER BY id"
user=$(sed -n 's/^PGUSER=//p' "$app_dir/db.env")

echo "==> stopping rotor"
kill "$rotor_pid"
rc=0
wait "$rotor_pid" || rc=$?
rotor_pid=
[ "$rc" = 0 ] || fail "rotor exited $rc"
echo "rotor exited 0"

# Vault drops the user when its lease ends; revoking it ends it now (what
# an operator would do after a leak, or rotor with revoke_on_shutdown).
echo "==> revoking the lease in Vault: the user $user is dropped"
api PUT sys/leases/revoke-prefix/database/creds/myapp-readonly >/dev/null
left=$(psql_admin myapp "SELECT count(*) FROM pg_roles WHERE rolname = '$user'")
[ "$left" = 0 ] || fail "the user $user is still in PostgreSQL after the revocation"
echo "    PostgreSQL roles named $user: 0"
if "$PGBIN/psql" -X "$url" -c "SELECT 1" >/dev/null 2>&1; then
	fail "the revoked credentials still log in"
fi
echo "    the old DATABASE_URL no longer logs in"
