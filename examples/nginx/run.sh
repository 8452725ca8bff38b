#!/usr/bin/env bash
# rotor on an nginx host (configs/nginx/), against a throwaway Vault: a real
# nginx serves a self-signed placeholder certificate on a loopback port;
# rotor replaces it with one from Vault's PKI, reloads nginx once for the
# certificate and key together, and does it again when the certificate
# nears its end. openssl s_client shows what nginx serves at each step.
#
# The shipped files are used, with only what must differ on this machine
# changed (the diff is printed): paths under a temp directory instead of
# /etc and /run, the dev Vault's address, nginx -p/-c/-e so the reload
# reaches this nginx and not the system's, loopback ports instead of 80/443,
# and a 30s certificate TTL instead of 72h so a rotation shows within
# seconds. Vault backdates a certificate's NotBefore by 30s, so the
# certificate lives 60s, and configs/nginx/rotor.hcl's threshold (0.66)
# re-issues it 40s into that life: about 10s after issue.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)

# nginx: $ROTOR_NGINX_BIN (as the Go tests), else Debian's, else PATH.
nginx_bin=${ROTOR_NGINX_BIN:-/usr/sbin/nginx}
[ -x "$nginx_bin" ] || nginx_bin=$(command -v nginx || true)
if [ -z "$nginx_bin" ]; then
	echo "nginx not found: install the nginx package (or set ROTOR_NGINX_BIN)" >&2
	exit 1
fi

. "$root/examples/lib/devvault.sh"

stop_all() {
	trap '' INT TERM # a second Ctrl-C must not cut the cleanup short
	set +e
	# rotor first, so no reload command runs against a stopping nginx.
	[ -n "${rotor_pid:-}" ] && kill "$rotor_pid" 2>/dev/null && wait "$rotor_pid" 2>/dev/null
	rotor_pid=
	# TERM: fast shutdown; the master stops its worker and removes its pid file.
	[ -n "${nginx_pid:-}" ] && kill "$nginx_pid" 2>/dev/null && wait "$nginx_pid" 2>/dev/null
	nginx_pid=
	cleanup # the lib's: stops Vault, removes $work (nginx's prefix is inside)
}
trap stop_all EXIT
trap 'exit 130' INT TERM

free_port() {
	python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}
fail() {
	echo "FAILED: $*" >&2
	echo "--- tail of nginx's error log:" >&2
	tail -n 20 "$prefix/error.log" >&2 || true
	exit 1
}

prefix="$work/nginx"
conf="$prefix/nginx.conf"
https_port=$(free_port)
http_port=$(free_port)
while [ "$http_port" = "$https_port" ]; do http_port=$(free_port); done
name=api.internal.example.com
mkdir -p "$prefix/tls" "$work/templates"

# served prints the subject, issuer and serial of the certificate nginx
# presents (SNI api.internal.example.com), or nothing if no handshake.
served() {
	timeout 5 openssl s_client -connect "127.0.0.1:$https_port" -servername "$name" </dev/null 2>/dev/null |
		openssl x509 -noout -subject -issuer -serial -nameopt oneline 2>/dev/null | paste -sd ' ' || true
}
serial_of() { sed -n 's/.*serial=\([0-9A-F]*\).*/\1/p'; }
# wait_served CONDITION SECONDS: poll until served matches the grep -E
# CONDITION, print it.
wait_served() {
	local deadline=$((SECONDS + $2)) s
	while :; do
		s=$(served)
		if printf %s "$s" | grep -Eq "$1"; then
			printf '%s\n' "$s"
			return 0
		fi
		[ "$SECONDS" -ge "$deadline" ] && return 1
		sleep 0.2
	done
}

echo "==> nginx's placeholder: a self-signed certificate made with openssl"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 1 \
	-subj "/CN=placeholder (not from Vault)" \
	-keyout "$prefix/tls/server.key" -out "$prefix/tls/server.crt" 2>/dev/null

# The shipped site, bound to loopback ports; the proxied app (port 8080) is
# replaced by a fixed answer. nginx.conf around it keeps everything nginx
# writes (pid, logs, temp files) inside the prefix.
sed -e "s|listen 80;|listen 127.0.0.1:$http_port;|" \
	-e "s|listen 443 ssl;|listen 127.0.0.1:$https_port ssl;|" \
	-e '/listen \[::\]/d' \
	-e "s|/etc/nginx/tls/|$prefix/tls/|" \
	-e 's|proxy_pass http://127.0.0.1:8080;|default_type text/plain; return 200 "hello from nginx\\n";|' \
	"$root/configs/nginx/nginx-site.conf" >"$prefix/site.conf"
cat >"$conf" <<NGINX
daemon off;
worker_processes 1;
pid $prefix/nginx.pid;
error_log $prefix/error.log notice;
events { worker_connections 64; }
http {
	access_log $prefix/access.log;
	client_body_temp_path $prefix/client_body;
	proxy_temp_path $prefix/proxy;
	fastcgi_temp_path $prefix/fastcgi;
	uwsgi_temp_path $prefix/uwsgi;
	scgi_temp_path $prefix/scgi;
	include $prefix/site.conf;
}
NGINX
# -e: the error log used before nginx.conf is read (else /var/log/nginx).
nginx_args=(-p "$prefix/" -c "$conf" -e "$prefix/error.log")
echo "==> starting nginx on https://127.0.0.1:$https_port (prefix $prefix)"
"$nginx_bin" "${nginx_args[@]}" >"$prefix/stdout.log" 2>&1 &
nginx_pid=$!
placeholder=$(wait_served "CN = placeholder" 10) || fail "nginx does not serve the placeholder certificate"
echo "    nginx serves: $placeholder"

# The shipped templates with a 30s TTL (the only change).
for f in cert.tpl key.tpl; do
	sed 's/"ttl=72h"/"ttl=30s"/' "$root/configs/nginx/$f" >"$work/templates/$f"
	grep -q '"ttl=30s"' "$work/templates/$f" || fail "configs/nginx/$f no longer has \"ttl=72h\"; update this script"
done

# The shipped rotor.hcl with this machine's paths. The reload command keeps
# its argv form (no shell), aimed at this nginx.
reload="[\"$nginx_bin\", \"-p\", \"$prefix/\", \"-c\", \"$conf\", \"-e\", \"$prefix/error.log\", \"-s\", \"reload\"]"
sed -e '/^[[:space:]]*#/d' \
	-e "s|\"/run/rotor/rotor.pid\"|\"$work/rotor.pid\"|" \
	-e "s|\"https://vault.example.com:8200\"|\"$VAULT_ADDR\"|" \
	-e '/ca_cert *=/d' \
	-e "s|\"/etc/rotor/role_id\"|\"$work/role_id\"|" \
	-e "s|\"/etc/rotor/secret_id\"|\"$work/secret_id\"|" \
	-e "s|\"/etc/rotor/templates/|\"$work/templates/|" \
	-e "s|\"/etc/nginx/tls/|\"$prefix/tls/|" \
	-e "s|\\[\"nginx\", \"-s\", \"reload\"\\]|$reload|" \
	"$root/configs/nginx/rotor.hcl" >"$work/rotor.hcl"
if grep -nE '"/(etc|run)/|vault\.example\.com|"nginx", "-s"' "$work/rotor.hcl"; then
	fail "configs/nginx/rotor.hcl has settings this script does not adapt (above)"
fi
echo "==> configs/nginx/rotor.hcl as run here (comments dropped; - shipped, + here):"
diff <(sed '/^[[:space:]]*#/d' "$root/configs/nginx/rotor.hcl") "$work/rotor.hcl" | grep '^[<>]' |
	sed -e 's/^</    -/' -e 's/^>/    +/' || true
"$ROTOR" validate -config "$work/rotor.hcl"

echo "==> running: rotor agent -config rotor.hcl"
"$ROTOR" agent -config "$work/rotor.hcl" -log-level=info &
rotor_pid=$!

first=$(wait_served "Demo Intermediate CA" 30) || fail "nginx never served a certificate issued by Vault"
echo "==> nginx serves the certificate from Vault: $first"
# The whole chain checks out against Vault's root CA: cert.tpl puts the
# intermediate after the leaf, as nginx's ssl_certificate wants.
api GET pki/ca/pem >"$work/root-ca.pem"
printf '    curl, verifying against Vault'"'"'s root CA: '
# After a reload, nginx's old workers still hold the listening socket until
# they have exited, so a new connection may meet the placeholder for a
# moment more: try for up to 5 s.
for _ in $(seq 20); do
	if verified=$(curl -fsS --cacert "$work/root-ca.pem" --resolve "$name:$https_port:127.0.0.1" "https://$name:$https_port/" 2>&1); then
		break
	fi
	sleep 0.25
done
printf '%s\n' "$verified"
case $verified in curl:*) fail "curl could not verify the certificate nginx serves" ;; esac

first_serial=$(printf %s "$first" | serial_of)
echo "==> waiting for the rotation (30s TTL: re-issued about 10s after issue)"
deadline=$((SECONDS + 40))
while :; do
	second=$(served)
	s=$(printf %s "$second" | serial_of)
	if [ -n "$s" ] && [ "$s" != "$first_serial" ] && printf %s "$second" | grep -q "Demo Intermediate CA"; then
		break
	fi
	[ "$SECONDS" -ge "$deadline" ] && fail "nginx still serves serial $first_serial after 40s"
	sleep 0.5
done
echo "==> nginx serves the rotated certificate: $second"
echo "    serial before: $first_serial"
echo "    serial after:  $s"

echo "==> stopping rotor and nginx"
kill "$rotor_pid"
rc=0
wait "$rotor_pid" || rc=$?
rotor_pid=
[ "$rc" = 0 ] || fail "rotor exited $rc"
echo "rotor exited 0"
