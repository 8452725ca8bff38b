# A throwaway PostgreSQL for the examples, and Vault's database engine on
# it. Source it before examples/lib/devvault.sh, so a missing PostgreSQL
# stops the script before Vault starts; then call pg_start and pg_vault
# (they use the lib's $work and api), and pg_stop from the exit trap.
#
# pg_start: initdb a cluster in a fresh directory under /tmp, owned by the
# postgres user when run as root (PostgreSQL refuses to run as root, and
# cannot enter root's 0700 $work); start it on a free 127.0.0.1 port
# (passwords over TCP, trust on the Unix socket in that directory only);
# create the database myapp with the table items (one row).
#
# pg_vault [DEFAULT_TTL MAX_TTL]: enable the database engine with the
# connection "myapp" and the dynamic-secrets article's role myapp-readonly
# (lease TTLs 1h and 24h unless given), and let the demo policy read
# database/creds/myapp-readonly.
#
# Sets: pg_port, pg_dir, PGBIN. psql_admin runs psql as the superuser.

# PostgreSQL's binaries: $ROTOR_PG_BINDIR (as the Go tests), else the
# newest Debian /usr/lib/postgresql/*/bin, else initdb's directory on PATH.
PGBIN=${ROTOR_PG_BINDIR:-}
if [ -z "$PGBIN" ]; then
	PGBIN=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1 || true)
fi
if [ -z "$PGBIN" ] && command -v initdb >/dev/null 2>&1; then
	PGBIN=$(dirname "$(command -v initdb)")
fi
if [ -z "$PGBIN" ] || [ ! -x "$PGBIN/initdb" ] || [ ! -x "$PGBIN/psql" ]; then
	echo "PostgreSQL not found: install the postgresql package (or set ROTOR_PG_BINDIR)" >&2
	exit 1
fi

pg_dir=
pg_port=

# as_pg runs a command as the postgres user when we are root, in pg_dir
# (initdb and pg_ctl fail if they cannot enter the working directory).
as_pg() {
	if [ "$(id -u)" = 0 ]; then
		(cd "$pg_dir" && runuser -u postgres -- "$@")
	else
		(cd "$pg_dir" && "$@")
	fi
}

psql_admin() { # psql_admin DB SQL: run SQL as the superuser over the socket
	as_pg "$PGBIN/psql" -X -q -tA -v ON_ERROR_STOP=1 -h "$pg_dir" -p "$pg_port" -U postgres -d "$1" -c "$2"
}

pg_start() {
	pg_dir=$(mktemp -d /tmp/rotor-pg.XXXXXX)
	if [ "$(id -u)" = 0 ]; then chown postgres: "$pg_dir"; fi
	pg_port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
	pg_password=$(head -c 18 /dev/urandom | base64 | tr '+/' '-_')
	printf '%s\n' "$pg_password" >"$pg_dir/pwfile"
	if [ "$(id -u)" = 0 ]; then chown postgres: "$pg_dir/pwfile"; fi
	echo "==> starting PostgreSQL on 127.0.0.1:$pg_port (data: $pg_dir)"
	as_pg "$PGBIN/initdb" --pgdata="$pg_dir/data" --username=postgres --pwfile="$pg_dir/pwfile" \
		--auth-local=trust --auth-host=scram-sha-256 --encoding=UTF8 --locale=C --no-sync >"$pg_dir/initdb.log" 2>&1 ||
		{ cat "$pg_dir/initdb.log" >&2; return 1; }
	rm -f "$pg_dir/pwfile"
	# -w: return once the server accepts connections. Speed over
	# durability: the data dies with the example.
	as_pg "$PGBIN/pg_ctl" start -w -t 30 -D "$pg_dir/data" -l "$pg_dir/postgres.log" \
		-o "-p $pg_port -c listen_addresses=127.0.0.1 -c unix_socket_directories=$pg_dir -c fsync=off -c log_min_error_statement=panic" \
		>/dev/null || { tail -n 20 "$pg_dir/postgres.log" >&2; return 1; }
	psql_admin postgres "CREATE DATABASE myapp"
	psql_admin myapp "CREATE TABLE items (id int, name text); INSERT INTO items VALUES (1, 'widget'), (2, 'gadget');"
}

pg_stop() {
	[ -n "$pg_dir" ] || return 0
	if [ -f "$pg_dir/data/postmaster.pid" ]; then
		as_pg "$PGBIN/pg_ctl" stop -w -t 20 -m fast -D "$pg_dir/data" >/dev/null 2>&1
	fi
	rm -rf "$pg_dir"
	pg_dir=
}

pg_vault() {
	local ttl=${1:-1h} max_ttl=${2:-24h}
	echo "==> enabling Vault's database engine: connection myapp, role myapp-readonly ($ttl, max $max_ttl)"
	api POST sys/mounts/database '{"type":"database"}' >/dev/null
	api POST database/config/myapp "{\"plugin_name\":\"postgresql-database-plugin\",
		\"connection_url\":\"postgresql://{{username}}:{{password}}@127.0.0.1:$pg_port/myapp\",
		\"username\":\"postgres\",\"password\":\"$pg_password\",\"allowed_roles\":\"myapp-*\"}" >/dev/null
	# The article's statements. Its creation statements grant default
	# privileges, which its revocation statements do not take back, so
	# DROP ROLE would fail ("some objects depend on it") and Vault could
	# never revoke a lease; the ALTER DEFAULT PRIVILEGES ... REVOKE line
	# fixes that (as test/harness/pgtest does).
	api POST database/roles/myapp-readonly "$(
		cat <<JSON
{
  "db_name": "myapp",
  "default_ttl": "$ttl",
  "max_ttl": "$max_ttl",
  "creation_statements": [
    "CREATE ROLE \"{{name}}\" WITH LOGIN PASSWORD '{{password}}' VALID UNTIL '{{expiration}}';",
    "GRANT SELECT ON ALL TABLES IN SCHEMA public TO \"{{name}}\";",
    "ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT SELECT ON TABLES TO \"{{name}}\";"
  ],
  "revocation_statements": [
    "REVOKE ALL PRIVILEGES ON ALL TABLES IN SCHEMA public FROM \"{{name}}\";",
    "REVOKE ALL PRIVILEGES ON ALL SEQUENCES IN SCHEMA public FROM \"{{name}}\";",
    "REVOKE USAGE ON SCHEMA public FROM \"{{name}}\";",
    "ALTER DEFAULT PRIVILEGES IN SCHEMA public REVOKE ALL ON TABLES FROM \"{{name}}\";",
    "DROP ROLE IF EXISTS \"{{name}}\";"
  ],
  "renew_statements": ["ALTER ROLE \"{{name}}\" VALID UNTIL '{{expiration}}';"]
}
JSON
	)" >/dev/null
	# The demo policy plus the line configs/postgres/rotor.hcl asks for.
	policy=$(api GET sys/policies/acl/demo | python3 -c 'import json,sys
p = json.load(sys.stdin)["data"]["policy"]
p += "\npath \"database/creds/myapp-readonly\" { capabilities = [\"read\"] }\n"
print(json.dumps({"policy": p}))')
	api PUT sys/policies/acl/demo "$policy" >/dev/null
}
