#!/bin/sh
# The migration step of the pipelines in examples/ci (and of run.sh):
# rotor logs in with the job's identity token (gitlab.hcl or github.hcl),
# gets a short-lived PostgreSQL user (migrate.hcl), runs psql with it, and
# revokes the user and its own token when psql exits. The step's status is
# psql's. PGHOST, PGPORT, PGDATABASE and PGSSLMODE come from the pipeline.
#
#   examples/ci/migrate.sh gitlab|github
set -eu
ci=${1:?usage: migrate.sh gitlab|github}
dir=$(cd "$(dirname "$0")" && pwd)
exec "${ROTOR:-rotor}" exec -config "$dir/$ci.hcl" -config "$dir/migrate.hcl" -- \
	psql -X -q -v ON_ERROR_STOP=1 -f "$dir/migrations/001_orders.sql"
