#!/usr/bin/env bash
# A stand-in for configs/postgres/rotor.hcl's myapp: it writes its pid file,
# and each time rotor's reload command sends it SIGHUP it reads db.env
# again and queries the database with the credentials it found there.
# usage: app.sh PIDFILE DB_ENV PSQL
set -uo pipefail
pidfile=$1 envfile=$2 psql=$3
echo $$ >"$pidfile"
reloads=0

reload() {
	# A subshell, so the variables of one db.env do not outlive it.
	if (
		set -a
		. "$envfile"
		set +a
		echo "app: SIGHUP: read $envfile, querying as $PGUSER"
		"$psql" -X -tA -F ' ' -v ON_ERROR_STOP=1 -c "SELECT current_user, id, name FROM items ORDER BY id" |
			sed 's/^/app:   /'
	); then
		reloads=$((reloads + 1))
		echo "$reloads" >"$pidfile.reloads"
	else
		echo "app: could not query with $envfile"
	fi
}
trap reload HUP
trap 'echo "app: stopping"; exit 0' TERM
while :; do sleep 0.2; done
