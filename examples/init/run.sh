#!/usr/bin/env bash
# Init-container mode: log in, render every template once, exit 0 (or
# non-zero with the list of what failed). The files are complete when
# rotor exits, so the app that starts next can read them.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
. "$root/examples/lib/devvault.sh"

{ auth_hcl; cat <<HCL

template {
  contents    = "{{ with secret \"secret/demo/app\" }}DB_USER={{ .Data.data.username }}\nDB_PASSWORD={{ .Data.data.password }}\n{{ end }}"
  destination = "$work/secrets/app.env"
  perms       = "0600"
}
template {
  source      = "$root/examples/demo/cert.tpl"
  destination = "$work/secrets/server.crt"
}
template {
  source      = "$root/examples/demo/key.tpl"
  destination = "$work/secrets/server.key"
  perms       = "0600"
}
HCL
} >"$work/rotor.hcl"

echo "==> rotor agent -once -config rotor.hcl"
"$ROTOR" agent -once -config "$work/rotor.hcl" -log-level=warn
echo "==> rotor exited 0; the app would start now and find:"
ls -l "$work/secrets"
grep -c "BEGIN CERTIFICATE" "$work/secrets/server.crt" | sed 's/^/    certificates in server.crt: /'
