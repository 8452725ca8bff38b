#!/usr/bin/env bash
# Supervisor mode: rotor runs the app with secrets in its environment and
# restarts it when they change. The "app" prints what it sees; after a few
# seconds the script changes the secret in Vault, rotor restarts the app
# with the new value, and the script stops rotor (which stops the app).
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
. "$root/examples/lib/devvault.sh"

{ auth_hcl; cat <<HCL

template_config {
  static_secret_render_interval = "1s"
}

env_template "DB_USER" {
  contents = "{{ with secret \"secret/demo/app\" }}{{ .Data.data.username }}{{ end }}"
}
env_template "DB_PASSWORD" {
  contents = "{{ with secret \"secret/demo/app\" }}{{ .Data.data.password }}{{ end }}"
}

exec {
  command                   = ["sh", "$root/examples/supervisor/app.sh"]
  restart_on_secret_changes = "always"
  restart_stop_signal       = "SIGTERM"
  restart_kill_timeout      = "5s"
  debounce                  = "500ms"
}
HCL
} >"$work/rotor.hcl"

echo "==> rotor agent -config $work/rotor.hcl  (supervising the app)"
"$ROTOR" agent -config "$work/rotor.hcl" -log-level=warn &
rotor_pid=$!
sleep 3
echo "==> changing the secret in Vault"
api POST secret/data/demo/app '{"data":{"username":"demo-v2","password":"rotated-password"}}' >/dev/null
sleep 4
echo "==> stopping rotor (SIGTERM goes to the app; rotor exits with its status)"
kill -TERM "$rotor_pid"
status=0
wait "$rotor_pid" || status=$?
rotor_pid=
echo "==> rotor exited with status $status"
