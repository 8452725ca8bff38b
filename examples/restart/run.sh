#!/usr/bin/env bash
# Reuse after a restart: with a state block, rotor keeps its token and
# leases in an encrypted file. Restarted while they are valid, it reuses
# them: no new login, no new certificate, no rewritten file, no reload.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
. "$root/examples/lib/devvault.sh"
export ROTOR_STATE_KEY="demo-state-key-$RANDOM$RANDOM"

{ auth_hcl; cat <<HCL

state {
  dir     = "$work/state"
  key_env = "ROTOR_STATE_KEY"
}

template {
  source      = "$root/examples/demo/cert.tpl"
  destination = "$work/out/server.crt"
  command     = "echo '*** reload'"
}
HCL
} >"$work/rotor.hcl"

serial() { openssl x509 -noout -serial -in "$work/out/server.crt" 2>/dev/null || sha256sum "$work/out/server.crt"; }
for run in 1 2 3; do
	echo "==> start $run"
	"$ROTOR" agent -config "$work/rotor.hcl" >"$work/rotor-$run.log" 2>&1 &
	rotor_pid=$!
	for _ in $(seq 100); do grep -q "all templates rendered" "$work/rotor-$run.log" && break; sleep 0.1; done
	sleep 1
	kill -TERM "$rotor_pid"; wait "$rotor_pid" || true; rotor_pid=
	grep -Eo 'msg="(reusing the saved token and leases|no state file yet; starting fresh)"' "$work/rotor-$run.log" | sed 's/^/    /'
	echo "    reloads: $(grep -c "reload command succeeded" "$work/rotor-$run.log" || true)"
	echo "    certificate: $(serial)"
done
