#!/usr/bin/env bash
# The newcomer's demo: starts a throwaway Vault dev server on loopback,
# configures AppRole login plus secrets, and runs rotor against it in the
# foreground. Ctrl-C stops rotor and Vault and removes everything.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
. "$root/examples/lib/devvault.sh"

cat >"$work/rotor.hcl" <<HCL
vault {
  address = "$VAULT_ADDR"
}

auto_auth {
  method "approle" {
    config = {
      role_id_file_path   = "$work/role_id"
      secret_id_file_path = "$work/secret_id"
    }
  }
  sink "file" {
    config = { path = "$work/token", mode = "0600" }
  }
}

template_config {
  static_secret_render_interval = "10s"
}

# A KV secret as an env file: re-read every 10s, rewritten only on change.
template {
  contents    = "{{ with secret \"secret/demo/app\" }}DB_USER={{ .Data.data.username }}\nDB_PASSWORD={{ .Data.data.password }}\n{{ end }}"
  destination = "$work/out/app.env"
  perms       = "0600"
}

# The dynamic-secrets article's certificate templates: one shared issue
# call, so cert and key always match; both share one reload command, which
# runs once per rotation. The 2m TTL makes the rotation visible.
template {
  source      = "$root/examples/demo/cert.tpl"
  destination = "$work/out/server.crt"
  perms       = "0644"
  command     = "echo '*** reload: a new certificate is in place'"
}
template {
  source      = "$root/examples/demo/key.tpl"
  destination = "$work/out/server.key"
  perms       = "0600"
  command     = "echo '*** reload: a new certificate is in place'"
}
HCL

echo "==> running: rotor agent -config $work/rotor.hcl"
echo "    token sink: $work/token (30s TTL, renewed; 2m max TTL, replaced before it ends)"
echo "    templates:  $work/out/ (app.env from KV; server.crt + server.key from PKI, rotated every ~1.5 min)"
echo "    try: vault kv put secret/demo/app username=demo password=new  (VAULT_ADDR=$VAULT_ADDR VAULT_TOKEN=$root_token)"
echo "    press Ctrl-C to stop"
"$ROTOR" agent -config "$work/rotor.hcl" -log-level=debug &
rotor_pid=$!
wait "$rotor_pid"
