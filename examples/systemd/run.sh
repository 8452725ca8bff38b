#!/usr/bin/env bash
# rotor as a systemd service (configs/systemd/rotor.service), without
# systemd: the script runs rotor the way the unit does and plays systemd's
# part. notify-socket.py stands in for the notify socket (NOTIFY_SOCKET);
# WATCHDOG_USEC comes from the unit's WatchdogSec. It prints what rotor
# tells systemd: READY=1 once it is logged in and every template has
# rendered (Type=notify: when `systemctl start` returns), RELOADING=1 and
# READY=1 around `systemctl reload` (ExecReload: SIGHUP), WATCHDOG=1 at
# once and every WatchdogSec/2, STOPPING=1 on `systemctl stop` (SIGTERM).
#
# Taken from the unit: ExecStart, ExecReload and WatchdogSec, with
# /usr/local/bin/rotor and /etc/rotor mapped to this build and a directory
# here. Like systemd, the script starts rotor with a clean environment plus
# EnvironmentFile (rotor.env, which sets VAULT_ADDR: it overrides the
# address in agent.hcl), NOTIFY_SOCKET, WATCHDOG_USEC, WATCHDOG_PID and
# UMask=0077. Of the sandboxing, only ProtectSystem=strict's read-only /etc
# is reproduced (as root; see below). Not reproduced: User=rotor (this runs
# as the current user) and the other sandboxing directives.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
. "$root/examples/lib/devvault.sh"

stop_all() {
	trap '' INT TERM # a second Ctrl-C must not cut the cleanup short
	set +e
	[ -n "${rotor_pid:-}" ] && kill "$rotor_pid" 2>/dev/null && wait "$rotor_pid" 2>/dev/null
	rotor_pid=
	[ -n "${listener_pid:-}" ] && kill "$listener_pid" 2>/dev/null && wait "$listener_pid" 2>/dev/null
	listener_pid=
	cleanup # the lib's: stops Vault, removes $work
}
trap stop_all EXIT
trap 'exit 130' INT TERM

fail() {
	echo "FAILED: $*" >&2
	exit 1
}
unit="$root/configs/systemd/rotor.service"
etc="$work/etc/rotor" # /etc/rotor
run="$work/run/rotor" # RuntimeDirectory=rotor: /run/rotor
out="$work/srv"       # where the templates render
notify_log="$work/notify.log"
mkdir -p "$etc" "$run" "$out"
chmod 0750 "$run"
: >"$notify_log"

# unit_value KEY prints KEY's value in the unit's [Service] section.
unit_value() {
	local v
	v=$(sed -n "s/^$1=//p" "$unit")
	[ -n "$v" ] || fail "configs/systemd/rotor.service has no $1="
	printf '%s\n' "$v"
}
# notified COUNT MESSAGE SECONDS waits until MESSAGE has arrived COUNT times.
notified() {
	local deadline=$((SECONDS + $3))
	until [ "$(grep -c "^systemd <- $2" "$notify_log")" -ge "$1" ]; do
		[ "$SECONDS" -ge "$deadline" ] && fail "rotor did not send $2 (x$1) within $3s"
		sleep 0.1
	done
}

# /etc/rotor: configs/agent.hcl (AppRole login, a token sink in
# /run/rotor) with this machine's paths, and a second file with a template:
# rotor reads every *.hcl in the directory.
cp "$work/role_id" "$work/secret_id" "$etc/"
sed -e "s|\"/etc/rotor/|\"$etc/|" -e "s|\"/run/rotor/|\"$run/|" "$root/configs/agent.hcl" >"$etc/agent.hcl"
if grep -nE '"/(etc|run)/' "$etc/agent.hcl"; then
	fail "configs/agent.hcl has paths this script does not adapt (above)"
fi
cat >"$etc/50-app.hcl" <<HCL
template {
  contents    = "{{ with secret \"secret/demo/app\" }}DB_USER={{ .Data.data.username }}\n{{ end }}"
  destination = "$out/app.env"
  perms       = "0640"
}
HCL
echo "VAULT_ADDR=$VAULT_ADDR" >"$etc/rotor.env"

# The unit's command lines, mapped to this machine.
read -ra exec_start <<<"$(unit_value ExecStart | sed -e "s|^/usr/local/bin/rotor |$ROTOR |" -e "s| /etc/rotor\$| $etc|")"
[ "${exec_start[0]}" = "$ROTOR" ] || fail "unexpected ExecStart in the unit: $(unit_value ExecStart)"
exec_reload=$(unit_value ExecReload)
[ -n "$exec_reload" ] || exit 1 # unit_value said why
watchdog_sec=$(unit_value WatchdogSec | sed -n 's/^\([0-9][0-9]*\)s$/\1/p')
[ -n "$watchdog_sec" ] || fail "unexpected WatchdogSec in the unit: $(unit_value WatchdogSec)"
env_file=$(unit_value EnvironmentFile | sed -e 's/^-//' -e "s|^/etc/rotor/|$etc/|")
[ "$env_file" = "$etc/rotor.env" ] || fail "unexpected EnvironmentFile in the unit: $(unit_value EnvironmentFile)"

python3 "$root/examples/systemd/notify-socket.py" "$work/notify.sock" "$notify_log" &
listener_pid=$!
for _ in $(seq 50); do [ -S "$work/notify.sock" ] && break; sleep 0.1; done
[ -S "$work/notify.sock" ] || fail "the notify socket stand-in did not start"

# ProtectSystem=strict makes /etc read-only for rotor. As root, the script
# does the same to /etc/rotor with a private mount namespace (rotor keeps
# the pid: unshare and sh exec). Otherwise it is skipped.
protect=()
if [ "$(id -u)" = 0 ] && unshare --mount true 2>/dev/null; then
	protect=(unshare --mount sh -c 'mount --bind "$1" "$1" && mount -o remount,bind,ro "$1" && shift && exec "$@"' sh "$etc")
fi

echo "==> systemctl start rotor: ${exec_start[*]}"
echo "    (Type=notify, WatchdogSec=${watchdog_sec}s, EnvironmentFile=$env_file, UMask=0077$([ ${#protect[@]} -gt 0 ] && echo ", /etc/rotor read-only"))"
(
	umask 0077
	# WATCHDOG_PID: this subshell's pid, which exec hands on to rotor.
	# shellcheck disable=SC2046 # one KEY=VALUE per line, as systemd reads it
	exec "${protect[@]}" env -i PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
		$(grep -v '^#' "$env_file") \
		NOTIFY_SOCKET="$work/notify.sock" WATCHDOG_USEC=$((watchdog_sec * 1000000)) WATCHDOG_PID=$BASHPID \
		"${exec_start[@]}"
) &
rotor_pid=$!
notified 1 READY=1 30
echo "==> started: the token sink and the rendered file are in place"
ls -l "$run/token" "$out/app.env" | sed 's/^/    /'

echo "==> systemctl reload rotor, after adding a template to /etc/rotor: $exec_reload"
cat >"$etc/60-cert.hcl" <<HCL
template {
  source      = "$root/examples/demo/cert.tpl"
  destination = "$out/server.crt"
}
template {
  source      = "$root/examples/demo/key.tpl"
  destination = "$out/server.key"
  perms       = "0600"
}
HCL
${exec_reload//\$MAINPID/$rotor_pid}
notified 1 RELOADING=1 30
notified 2 READY=1 30
# READY=1 says the new configuration is applied; the new templates render
# right after it.
deadline=$((SECONDS + 30))
until [ -s "$out/server.crt" ] && [ -s "$out/server.key" ]; do
	[ "$SECONDS" -ge "$deadline" ] && fail "the templates added before the reload did not render"
	sleep 0.1
done
echo "==> reloaded: the new templates rendered"
ls -l "$out" | sed 's/^/    /'
notified 1 WATCHDOG=1 5

echo "==> systemctl stop rotor: SIGTERM"
kill -TERM "$rotor_pid"
rc=0
wait "$rotor_pid" || rc=$?
rotor_pid=
[ "$rc" = 0 ] || fail "rotor exited $rc"
notified 1 STOPPING=1 5
echo "rotor exited 0"
echo "==> what rotor told systemd, in order:"
sed 's/^/    /' "$notify_log"
