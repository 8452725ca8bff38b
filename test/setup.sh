#!/usr/bin/env bash
# The tests' set-up, run by `make test` (and `make deps`) and by .ci/run.
# It looks for what the integration tests and example scripts need, where
# they look for it: PostgreSQL's server binaries (test/harness/pgtest,
# examples/postgres/pg.sh), nginx (test/harness/nginxtest), curl, openssl and
# python3 (the example scripts), make, a static busybox (the vault-k8s image's
# layout test, cmd/rotor/vaultk8s_image_test.go), MariaDB (test/harness/mysqltest;
# mariadb-server brings the client), slapd and ldap-utils (test/harness/ldaptest),
# MIT's KDC, krb5-kdc and krb5-admin-server (test/harness/krbtest), and gcc
# with libc6-dev (make test runs go test -race, which needs cgo: without a C
# compiler Go turns cgo off and -race refuses to build; gcc only recommends
# libc6-dev, which --no-install-recommends skips). What is missing is installed
# with apt-get when this user can (root, or sudo without a password);
# otherwise the script stops at once with the one command to run. The
# test Vault is built by make's `vault` target.
#
#   test/setup.sh            check, install what is missing, or explain
#   test/setup.sh --dry-run  check, and print what would be run instead of running it
#
# ROTOR_SETUP_PRETEND_MISSING="nginx postgresql" treats those packages as
# missing, to see what the script does on a machine without them.
set -euo pipefail

dry_run=0
case "${1:-}" in
--dry-run) dry_run=1 ;;
"") ;;
*)
	echo "usage: test/setup.sh [--dry-run]" >&2
	exit 2
	;;
esac
pretend=" ${ROTOR_SETUP_PRETEND_MISSING:-} "

# has_pg_bins DIR: the binaries test/harness/pgtest needs are in DIR.
has_pg_bins() { [ -x "$1/initdb" ] && [ -x "$1/postgres" ] && [ -x "$1/psql" ]; }

# find_postgres: as test/harness/pgtest.BinDir looks.
find_postgres() {
	if [ -n "${ROTOR_PG_BINDIR:-}" ]; then
		has_pg_bins "$ROTOR_PG_BINDIR"
		return
	fi
	local d
	for d in $(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -rV); do
		has_pg_bins "$d" && return 0
	done
	command -v initdb >/dev/null 2>&1 && has_pg_bins "$(dirname "$(command -v initdb)")"
}

# find_nginx: as test/harness/nginxtest.Bin looks.
find_nginx() {
	if [ -n "${ROTOR_NGINX_BIN:-}" ]; then
		[ -x "$ROTOR_NGINX_BIN" ]
		return
	fi
	[ -x /usr/sbin/nginx ] || command -v nginx >/dev/null 2>&1
}

# find_busybox: as cmd/rotor's staticBusybox looks (the Debian package
# busybox-static installs /bin/busybox).
find_busybox() {
	if [ -n "${ROTOR_BUSYBOX:-}" ]; then
		[ -x "$ROTOR_BUSYBOX" ]
		return
	fi
	[ -x /bin/busybox ] || [ -x /usr/bin/busybox ]
}

# find_mariadb: as test/harness/mysqltest looks.
find_mariadb() {
	if [ -n "${ROTOR_MARIADB_BINDIR:-}" ]; then
		[ -x "$ROTOR_MARIADB_BINDIR/mariadbd" ] && [ -x "$ROTOR_MARIADB_BINDIR/mariadb-install-db" ] && [ -x "$ROTOR_MARIADB_BINDIR/mariadb" ]
		return
	fi
	{ [ -x /usr/sbin/mariadbd ] || command -v mariadbd >/dev/null 2>&1; } &&
		{ [ -x /usr/bin/mariadb-install-db ] || command -v mariadb-install-db >/dev/null 2>&1; } &&
		{ [ -x /usr/bin/mariadb ] || command -v mariadb >/dev/null 2>&1; }
}

find_command() { command -v "$1" >/dev/null 2>&1; }

# find_slapd: as test/harness/ldaptest looks.
find_slapd() {
	if [ -n "${ROTOR_SLAPD_BIN:-}" ]; then
		[ -x "$ROTOR_SLAPD_BIN" ]
		return
	fi
	[ -x /usr/sbin/slapd ] || find_command slapd
}

# find_sbin NAME...: each is in /usr/sbin or on PATH (test/harness/krbtest).
find_sbin() {
	local n
	for n in "$@"; do
		[ -x "/usr/sbin/$n" ] || find_command "$n" || return 1
	done
}

# find_bin NAME...: each is in /usr/bin or on PATH.
find_bin() {
	local n
	for n in "$@"; do
		[ -x "/usr/bin/$n" ] || find_command "$n" || return 1
	done
}

# check: sets missing to the Debian packages not found, and why to a
# line per package.
check() {
	missing=()
	why=()
	local pkg
	for pkg in postgresql nginx curl openssl python3 make busybox-static mariadb-server slapd ldap-utils krb5-kdc krb5-admin-server gcc libc6-dev; do
		case "$pretend" in *" $pkg "*)
			missing+=("$pkg")
			why+=("  $pkg: (pretending it is missing: ROTOR_SETUP_PRETEND_MISSING)")
			continue
			;;
		esac
		case $pkg in
		postgresql) find_postgres || why+=("  postgresql: no initdb, postgres and psql in \$ROTOR_PG_BINDIR, /usr/lib/postgresql/*/bin or on PATH (test/harness/pgtest)") ;;
		mariadb-server) find_mariadb || why+=("  mariadb-server: no mariadbd, mariadb-install-db and mariadb in \$ROTOR_MARIADB_BINDIR, /usr/sbin, /usr/bin or on PATH (test/harness/mysqltest)") ;;
		nginx) find_nginx || why+=("  nginx: not at \$ROTOR_NGINX_BIN, /usr/sbin/nginx or on PATH (test/harness/nginxtest)") ;;
		busybox-static) find_busybox || why+=("  busybox-static: no busybox at \$ROTOR_BUSYBOX, /bin/busybox or /usr/bin/busybox (cmd/rotor's vault-k8s image test)") ;;
		slapd) find_slapd || why+=("  slapd: not at \$ROTOR_SLAPD_BIN, /usr/sbin/slapd or on PATH (test/harness/ldaptest)") ;;
		ldap-utils) find_bin ldapadd ldappasswd || why+=("  ldap-utils: no ldapadd and ldappasswd in /usr/bin or on PATH (test/harness/ldaptest)") ;;
		krb5-kdc) find_sbin krb5kdc kdb5_util || why+=("  krb5-kdc: no krb5kdc and kdb5_util in /usr/sbin or on PATH (test/harness/krbtest)") ;;
		krb5-admin-server) find_sbin kadmin.local || why+=("  krb5-admin-server: no kadmin.local in /usr/sbin or on PATH (test/harness/krbtest)") ;;
		gcc) find_bin gcc || why+=("  gcc: not in /usr/bin or on PATH (go test -race needs cgo)") ;;
		libc6-dev) [ -e /usr/include/stdlib.h ] || why+=("  libc6-dev: no /usr/include/stdlib.h (go test -race needs cgo)") ;;
		*) find_command "$pkg" || why+=("  $pkg: not on PATH (the example scripts)") ;;
		esac
		if [ "${#why[@]}" -gt "${#missing[@]}" ]; then
			missing+=("$pkg")
		fi
	done
}

if ! command -v go >/dev/null 2>&1; then
	echo "test/setup.sh: go not found: install Go 1.26 or later from https://go.dev/dl/ (Debian's golang package is too old)" >&2
	exit 1
fi

check
if [ "${#missing[@]}" -eq 0 ]; then
	echo "test set-up: PostgreSQL, nginx, curl, openssl, python3, make, busybox, MariaDB, slapd, ldap-utils, the MIT KDC, gcc and libc6-dev are installed"
	exit 0
fi

install=(apt-get install -y --no-install-recommends "${missing[@]}")
echo "test set-up: the tests need packages that are missing:"
printf '%s\n' "${why[@]}"

if ! command -v apt-get >/dev/null 2>&1; then
	echo "test/setup.sh: no apt-get here: install ${missing[*]} with your package manager (those are the Debian names), then run make test again" >&2
	exit 1
fi
sudo=()
if [ "$(id -u)" != 0 ]; then
	if command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
		sudo=(sudo -n)
	else
		echo "test/setup.sh: installing them needs root. Run:" >&2
		echo "" >&2
		echo "    sudo apt-get update && sudo ${install[*]}" >&2
		echo "" >&2
		echo "then make test again." >&2
		exit 1
	fi
fi
if [ "$dry_run" = 1 ]; then
	echo "would run: ${sudo[*]:+${sudo[*]} }apt-get update -qq"
	echo "would run: ${sudo[*]:+${sudo[*]} }${install[*]}"
	exit 0
fi
echo "test set-up: installing ${missing[*]}"
"${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -qq
"${sudo[@]}" env DEBIAN_FRONTEND=noninteractive "${install[@]}"
pretend=" "
check
if [ "${#missing[@]}" -gt 0 ]; then
	echo "test/setup.sh: still missing after apt-get install:" >&2
	printf '%s\n' "${why[@]}" >&2
	exit 1
fi
echo "test set-up: done"
