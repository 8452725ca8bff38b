#!/usr/bin/env bash
# The CI/CD pipeline form: one line replaces "log in, read secrets, export
# them, run the job, revoke the leases". rotor exec logs in, renders the
# -env templates, runs the command with them, revokes every lease it
# created (and its own token) when the command exits, and exits with the
# command's status.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
. "$root/examples/lib/devvault.sh"
auth_hcl >"$work/rotor.hcl"

echo "==> rotor exec -config rotor.hcl -env DB_USER=... -env DB_PASSWORD=... -- sh -c '...'"
status=0
"$ROTOR" exec -config "$work/rotor.hcl" -log-level=warn \
	-env 'DB_USER={{ with secret "secret/demo/app" }}{{ .Data.data.username }}{{ end }}' \
	-env 'DB_PASSWORD={{ with secret "secret/demo/app" }}{{ .Data.data.password }}{{ end }}' \
	-- sh -c 'echo "job: running the migration as $DB_USER"; exit 3' || status=$?
echo "==> the job's status, passed through by rotor: $status"
[ "$status" -eq 3 ]
