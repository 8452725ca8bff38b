#!/usr/bin/env bash
# rotor in Kubernetes (configs/kubernetes/), without a cluster: the script
# takes the rotor configuration and templates out of each manifest's
# ConfigMap, lays them out as the kubelet mounts them (symlinks through
# ..data), checks them with `rotor validate` as shipped, then runs them
# against a throwaway Vault (and PostgreSQL, for the database/creds
# template) and shows the files the app container would find in the shared
# emptyDir (/vault/secrets), then reads them as the app container does.
#
# What differs from a pod: the kubernetes auth method is swapped for
# AppRole, since there is no API server to review a service-account token
# here (the kubernetes method itself is covered by the Go integration
# tests, against a fake TokenReview endpoint: see test/harness/vaulttest); the
# vault block points at the dev Vault; /etc/rotor and /vault/secrets are
# directories under a temp directory. The templates run unchanged.
#
#   sidecar.yaml         the rotor container runs `rotor agent -config
#                        /etc/rotor` for the pod's life; here `-once`
#                        renders everything once and exits.
#   init-container.yaml  exit_after_auth = true: the same command exits by
#                        itself once every file is written.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
. "$root/examples/postgres/pg.sh" # first: it stops at once if PostgreSQL is missing
. "$root/examples/lib/devvault.sh"

stop_all() {
	trap '' INT TERM # a second Ctrl-C must not cut the cleanup short
	set +e
	pg_stop
	cleanup # the lib's: stops Vault, removes $work
}
trap stop_all EXIT
trap 'exit 130' INT TERM

fail() {
	echo "FAILED: $*" >&2
	exit 1
}

# cm_entry FILE KEY prints a ConfigMap's `KEY: |` block, unindented (as
# the file the kubelet mounts; cmd/rotor/configs_test.go reads it the same
# way).
cm_entry() {
	awk -v key="$2: |" '
		!inblock { t = $0; gsub(/^ +| +$/, "", t); if (t == key) inblock = 1; next }
		/^ *$/ { blank = blank "\n"; next }
		indent == 0 { match($0, /^ +/); indent = RLENGTH }
		{
			match($0, /^ */)
			if (RLENGTH < indent) exit
			printf "%s%s\n", blank, substr($0, indent + 1); blank = ""
		}
	' "$1"
}

# as_configmap_volume DIR lays DIR's files out as the kubelet mounts a
# ConfigMap: the files in a timestamped directory, ..data pointing at it,
# and each name a symlink through ..data (so an update is one rename).
# rotor reads the config directory in this form in the pod.
as_configmap_volume() {
	local ts="..$(date +%Y_%m_%d_%H_%M_%S).000000001" f
	mkdir "$1/$ts"
	for f in "$1"/*; do
		mv "$f" "$1/$ts/"
		ln -s "..data/$(basename "$f")" "$f"
	done
	ln -s "$ts" "$1/..data"
}

pg_start
pg_vault

for manifest in sidecar init-container; do
	yaml="$root/configs/kubernetes/$manifest.yaml"
	dir="$work/$manifest"
	cm="$dir/configmap"          # the ConfigMap's files, as the kubelet mounts them
	etc="$dir/etc-rotor"         # /etc/rotor in the pod, adapted to this machine
	secrets="$dir/vault-secrets" # the emptyDir, /vault/secrets in the pod
	mkdir -p "$cm" "$etc"
	for key in rotor.hcl db.env.tpl cert.tpl key.tpl; do
		cm_entry "$yaml" "$key" >"$cm/$key"
		[ -s "$cm/$key" ] || fail "$yaml's ConfigMap has no $key"
	done
	as_configmap_volume "$cm"
	echo "==> configs/kubernetes/$manifest.yaml: the ConfigMap's files, checked as shipped"
	echo "    rotor validate -config /etc/rotor (the container's command; its templates live in /etc/rotor, absent here)"
	"$ROTOR" validate -config "$cm" 2>&1 | sed 's/^/    /'

	# The same configuration for this machine, in the same form (a
	# directory of *.hcl, merged): rotor.hcl with the pod's paths mapped to
	# directories here, the vault block pointed at the dev Vault and the
	# kubernetes auto_auth block taken out; auth.hcl with the demo's AppRole
	# instead. The template files are copied as they are.
	sed -e '/^[[:space:]]*#/d' \
		-e '/^auto_auth {/,/^}/d' \
		-e "s|\"https://vault.vault.svc:8200\"|\"$VAULT_ADDR\"|" \
		-e '/ca_cert *=/d' \
		-e "s|\"/etc/rotor/|\"$etc/|" \
		-e "s|\"/vault/secrets/|\"$secrets/|" \
		"$cm/rotor.hcl" >"$etc/rotor.hcl"
	auth_hcl | sed '/^vault {/,/^}/d' | sed '/./,$!d' >"$etc/auth.hcl"
	cp "$cm"/*.tpl "$etc/"
	as_configmap_volume "$etc"
	if grep -nE 'auto_auth|/etc/|/vault/|/var/run/|vault\.svc' "$etc/rotor.hcl"; then
		fail "$manifest.yaml's rotor.hcl has settings this script does not adapt (above)"
	fi
	echo "    as run here: rotor.hcl (comments dropped; - shipped, + here)"
	diff <(sed '/^[[:space:]]*#/d' "$cm/rotor.hcl") "$etc/rotor.hcl" | grep '^[<>]' |
		sed -e 's/^</      -/' -e 's/^>/      +/' || true
	echo "    and auth.hcl, instead of the kubernetes method:"
	sed 's/^/      /' "$etc/auth.hcl"
	"$ROTOR" validate -config "$etc" | sed 's/^/    /'

	if [ "$manifest" = sidecar ]; then
		echo "==> rotor agent -once -config etc-rotor (the sidecar's command, rendering once)"
		"$ROTOR" agent -once -config "$etc" -log-level=warn
	else
		# Nothing renews what rotor fetched here. As init-container.yaml
		# says, the database user lives only as long as rotor's token (the
		# demo role's: 30s, max 2m): Vault revokes the lease with the token.
		echo "==> rotor agent -config etc-rotor (the init container's command; exit_after_auth ends it)"
		"$ROTOR" agent -config "$etc" -log-level=warn
	fi
	echo "rotor exited 0; the app container would find in /vault/secrets:"
	ls -l "$secrets" | sed 's/^/    /'

	echo "==> the app container's view"
	(
		# As the container's args do; PGHOST/PGPORT/PGDATABASE stand in for
		# the pod's route to db.internal.example.com:5432/myapp.
		set -a
		. "$secrets/db.env"
		set +a
		printf '    psql as %s: ' "$PGUSER"
		PGHOST=127.0.0.1 PGPORT=$pg_port PGDATABASE=myapp "$PGBIN/psql" -X -tA -v ON_ERROR_STOP=1 \
			-c "SELECT string_agg(name, ', ' ORDER BY id) FROM items"
	)
	printf '    tls.crt: '
	openssl x509 -in "$secrets/tls.crt" -noout -subject -issuer -enddate -nameopt oneline | paste -sd ' '
	echo "    certificates in tls.crt: $(grep -c 'BEGIN CERTIFICATE' "$secrets/tls.crt")"
	if [ "$(openssl x509 -in "$secrets/tls.crt" -noout -pubkey)" = "$(openssl pkey -in "$secrets/tls.key" -pubout)" ]; then
		echo "    tls.key matches tls.crt"
	else
		fail "tls.key does not match tls.crt"
	fi
done
