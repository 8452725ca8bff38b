// Package krbtest runs a real MIT Kerberos KDC (krb5kdc) on a loopback
// port, with a realm, database and stash created for the test in a
// t.TempDir(), for the kerberos auth method's integration tests:
// principals are added and keytabs exported with kadmin.local, and rotor
// (or Vault Agent's own code) logs in to it over the network as a real
// client would.
//
// Nothing outside the temp directory is read or written: KRB5_CONFIG and
// KRB5_KDC_PROFILE point every command at the generated files, not the
// system's /etc/krb5.conf. krb5kdc runs in the foreground (-n) in its own
// process group and is stopped and reaped when the test ends.
//
// The binaries are Debian's krb5-kdc (krb5kdc, kdb5_util) and
// krb5-admin-server (kadmin.local) in /usr/sbin, or on $PATH. Tests skip
// without them, unless ROTOR_REQUIRE_INTEGRATION=1 (as in CI).
package krbtest

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/rotorproject/rotor/test/harness/proc"
)

// Realm is the test realm.
const Realm = "ROTOR.TEST"

// KDC is a running krb5kdc.
type KDC struct {
	// Addr is the KDC's host:port (UDP and TCP).
	Addr string
	// Krb5Conf is a krb5.conf naming this KDC for Realm, with localhost
	// in Realm.
	Krb5Conf string

	dir    string
	env    []string
	kadmin string
	p      *proc.Process
}

func find(t testing.TB, name, pkg string) string {
	return proc.Find(t, proc.Lookup{Paths: []string{"/usr/sbin/" + name}, Name: name,
		Missing: name + " not found: apt-get install krb5-kdc krb5-admin-server (" + pkg + ")"})
}

// Start creates the realm's database and runs the KDC on a free loopback
// port, waiting until it answers on TCP.
func Start(t testing.TB) *KDC {
	t.Helper()
	kdc, util := find(t, "krb5kdc", "krb5-kdc"), find(t, "kdb5_util", "krb5-kdc")
	k := &KDC{dir: t.TempDir(), kadmin: find(t, "kadmin.local", "krb5-admin-server")}
	port, err := proc.FreePort()
	if err != nil {
		t.Fatal(err)
	}
	k.Addr = fmt.Sprintf("127.0.0.1:%d", port)
	k.Krb5Conf = filepath.Join(k.dir, "krb5.conf")
	kdcConf := filepath.Join(k.dir, "kdc.conf")
	write(t, k.Krb5Conf, fmt.Sprintf(`[libdefaults]
  default_realm = %[1]s
  dns_lookup_realm = false
  dns_lookup_kdc = false
  ticket_lifetime = 1h
  default_tkt_enctypes = aes256-cts-hmac-sha1-96 aes128-cts-hmac-sha1-96
  default_tgs_enctypes = aes256-cts-hmac-sha1-96 aes128-cts-hmac-sha1-96
  permitted_enctypes = aes256-cts-hmac-sha1-96 aes128-cts-hmac-sha1-96

[realms]
  %[1]s = {
    kdc = %[2]s
  }

[domain_realm]
  localhost = %[1]s
  .localhost = %[1]s
`, Realm, k.Addr))
	// Listening on loopback only (kdc_listen), not on every interface.
	write(t, kdcConf, fmt.Sprintf(`[kdcdefaults]
  kdc_listen = 127.0.0.1:%[2]d
  kdc_tcp_listen = 127.0.0.1:%[2]d

[realms]
  %[1]s = {
    database_name = %[3]s/principal
    key_stash_file = %[3]s/stash
    acl_file = %[3]s/kadm5.acl
    max_life = 1h
    supported_enctypes = aes256-cts-hmac-sha1-96:normal aes128-cts-hmac-sha1-96:normal
  }

[logging]
  kdc = FILE:%[3]s/kdc.log
`, Realm, port, k.dir))
	write(t, filepath.Join(k.dir, "kadm5.acl"), "")
	k.env = append(os.Environ(), "KRB5_CONFIG="+k.Krb5Conf, "KRB5_KDC_PROFILE="+kdcConf)
	k.run(t, util, "create", "-s", "-r", Realm, "-P", "master-"+filepath.Base(k.dir))

	cmd := exec.Command(kdc, "-n", "-r", Realm, "-P", filepath.Join(k.dir, "kdc.pid"))
	cmd.Env = k.env
	log, err := os.Create(filepath.Join(k.dir, "kdc.out"))
	if err != nil {
		t.Fatal(err)
	}
	defer log.Close()
	cmd.Stdout, cmd.Stderr = log, log
	cmd.SysProcAttr = proc.Attr()
	k.p = proc.StartT(t, cmd)
	t.Cleanup(func() {
		k.p.Stop(syscall.SIGTERM, 10*time.Second)
		if t.Failed() {
			for _, f := range []string{"kdc.out", "kdc.log"} {
				b, _ := os.ReadFile(filepath.Join(k.dir, f))
				t.Logf("krbtest %s:\n%s", f, b)
			}
		}
	})
	deadline := time.Now().Add(15 * time.Second)
	for {
		if k.p.Exited() {
			b, _ := os.ReadFile(filepath.Join(k.dir, "kdc.out"))
			t.Fatalf("krb5kdc exited at start: %v\n%s", k.p.Err(), b)
		}
		if c, err := net.DialTimeout("tcp", k.Addr, time.Second); err == nil {
			c.Close()
			break
		} else if time.Now().After(deadline) {
			t.Fatalf("krb5kdc not listening on %s within 15s: %v", k.Addr, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
	return k
}

// AddPrincipal adds name (e.g. "alice" or "HTTP/localhost") to the realm
// with a random key and kadmin's principal flags, if any (e.g.
// "+no_auth_data_required").
func (k *KDC) AddPrincipal(t testing.TB, name string, flags ...string) {
	t.Helper()
	k.run(t, k.kadmin, "-r", Realm, "-q", strings.Join(append(append([]string{"addprinc", "-randkey"}, flags...), name), " "))
}

// Keytab exports the principals' current keys (not re-randomised) to a
// new keytab file and returns its path.
func (k *KDC) Keytab(t testing.TB, principals ...string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "krb5.keytab")
	for _, pr := range principals {
		k.run(t, k.kadmin, "-r", Realm, "-q", fmt.Sprintf("ktadd -k %s -norandkey %s", p, pr))
	}
	return p
}

// Rekey gives the principal new random keys (a higher key version): a
// keytab exported before no longer works.
func (k *KDC) Rekey(t testing.TB, name string) {
	t.Helper()
	k.run(t, k.kadmin, "-r", Realm, "-q", "cpw -randkey "+name)
}

func (k *KDC) run(t testing.TB, bin string, args ...string) {
	t.Helper()
	cmd := exec.Command(bin, args...)
	cmd.Env = k.env
	out, err := cmd.CombinedOutput()
	// kadmin.local reports a failed query on stderr and exits 0.
	if err != nil || strings.Contains(string(out), "while ") {
		t.Fatalf("%s %s: %v\n%s", filepath.Base(bin), strings.Join(args, " "), err, out)
	}
}

func write(t testing.TB, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
}
