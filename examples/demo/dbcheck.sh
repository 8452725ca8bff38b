#!/usr/bin/env bash
# The demo's reload command for db.env: log in with the credentials rotor
# just wrote, as an application would after a reload, and fail if they do
# not work. Usage: dbcheck.sh DB_ENV PSQL
set -euo pipefail
set -a
. "$1"
set +a
"$2" -X -q -tA -v ON_ERROR_STOP=1 -c 'SELECT count(*) FROM items' >/dev/null
