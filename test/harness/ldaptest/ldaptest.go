// Package ldaptest runs a real OpenLDAP server (slapd) on a loopback port,
// with a generated configuration and database in a t.TempDir(), for the
// ldap and kerberos auth methods' integration tests: Vault's ldap auth
// method binds as the test's users against it, and Vault's kerberos auth
// method looks users' groups up in it.
//
// slapd runs in the foreground (-d 0) in its own process group and is
// stopped and reaped when the test ends; nothing outside the temp
// directory is read or written except the schema files Debian installs in
// /etc/ldap/schema and the back_mdb module in /usr/lib/ldap. The entries are
// added with ldapadd (ldap-utils).
//
// The binaries are $ROTOR_SLAPD_BIN, else /usr/sbin/slapd, else slapd on
// $PATH; ldapadd and ldappasswd in /usr/bin or on $PATH. Tests skip without them, unless
// ROTOR_REQUIRE_INTEGRATION=1 (as in CI).
package ldaptest

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/rotorproject/rotor/test/harness/proc"
)

// EnvSlapdBin names an explicit slapd binary.
const EnvSlapdBin = "ROTOR_SLAPD_BIN"

// The directory's fixed layout.
const (
	BaseDN   = "dc=rotor,dc=test"
	AdminDN  = "cn=admin," + BaseDN
	UsersDN  = "ou=users," + BaseDN
	GroupsDN = "ou=groups," + BaseDN
)

// Server is a running slapd.
type Server struct {
	// URL is the LDAP URL, e.g. "ldap://127.0.0.1:41234".
	URL string
	// AdminPassword is the root DN's password (AdminDN).
	AdminPassword string

	dir     string
	ldapadd string
	passwd  string
	p       *proc.Process
}

// Start runs slapd on a free loopback port with an empty directory holding
// BaseDN, ou=users and ou=groups, and waits until it answers.
func Start(t testing.TB) *Server {
	t.Helper()
	bin := proc.Find(t, proc.Lookup{Env: EnvSlapdBin, Paths: []string{"/usr/sbin/slapd"}, Name: "slapd",
		Missing: "slapd not found: apt-get install slapd ldap-utils (or set " + EnvSlapdBin + ")"})
	add := proc.Find(t, proc.Lookup{Paths: []string{"/usr/bin/ldapadd"}, Name: "ldapadd", Missing: "ldapadd not found: apt-get install ldap-utils"})
	pw := proc.Find(t, proc.Lookup{Paths: []string{"/usr/bin/ldappasswd"}, Name: "ldappasswd", Missing: "ldappasswd not found: apt-get install ldap-utils"})
	dir := t.TempDir()
	s := &Server{AdminPassword: "admin-" + strconv.FormatInt(time.Now().UnixNano(), 36), dir: dir, ldapadd: add, passwd: pw}
	if err := os.MkdirAll(filepath.Join(dir, "data"), 0o700); err != nil {
		t.Fatal(err)
	}
	conf := filepath.Join(dir, "slapd.conf")
	if err := os.WriteFile(conf, []byte(s.config()), 0o600); err != nil {
		t.Fatal(err)
	}
	port, err := proc.FreePort()
	if err != nil {
		t.Fatal(err)
	}
	s.URL = fmt.Sprintf("ldap://127.0.0.1:%d", port)
	log, err := os.Create(filepath.Join(dir, "slapd.log"))
	if err != nil {
		t.Fatal(err)
	}
	defer log.Close()
	cmd := exec.Command(bin, "-d", "0", "-f", conf, "-h", s.URL+"/")
	cmd.Stdout, cmd.Stderr = log, log
	cmd.SysProcAttr = proc.Attr()
	s.p = proc.StartT(t, cmd)
	t.Cleanup(func() {
		s.p.Stop(syscall.SIGTERM, 10*time.Second)
		if t.Failed() {
			b, _ := os.ReadFile(filepath.Join(dir, "slapd.log"))
			t.Logf("slapd log:\n%s", b)
		}
	})
	deadline := time.Now().Add(15 * time.Second)
	for {
		if s.p.Exited() {
			b, _ := os.ReadFile(filepath.Join(dir, "slapd.log"))
			t.Fatalf("slapd exited at start: %v\n%s", s.p.Err(), b)
		}
		if err := s.try(fmt.Sprintf("dn: %s\nobjectClass: dcObject\nobjectClass: organization\ndc: rotor\no: rotor\n", BaseDN)); err == nil {
			break
		} else if time.Now().After(deadline) {
			t.Fatalf("slapd did not take the base entry within 15s: %v", err)
		}
		time.Sleep(50 * time.Millisecond)
	}
	s.Add(t, fmt.Sprintf("dn: %s\nobjectClass: organizationalUnit\nou: users\n\ndn: %s\nobjectClass: organizationalUnit\nou: groups\n", UsersDN, GroupsDN))
	return s
}

func (s *Server) config() string {
	var b strings.Builder
	for _, sc := range []string{"core", "cosine", "nis", "inetorgperson"} {
		fmt.Fprintf(&b, "include /etc/ldap/schema/%s.schema\n", sc)
	}
	fmt.Fprintf(&b, `pidfile %s
modulepath /usr/lib/ldap
moduleload back_mdb
database mdb
maxsize 67108864
suffix %q
rootdn %q
rootpw %s
directory %s
access to attrs=userPassword by self write by anonymous auth by * none
access to * by * read
`, filepath.Join(s.dir, "slapd.pid"), BaseDN, AdminDN, s.AdminPassword, filepath.Join(s.dir, "data"))
	return b.String()
}

// try runs ldapadd with ldif as the admin.
func (s *Server) try(ldif string) error {
	cmd := exec.Command(s.ldapadd, "-x", "-H", s.URL, "-D", AdminDN, "-w", s.AdminPassword)
	cmd.Stdin = strings.NewReader(ldif)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("ldapadd: %v: %s", err, out.String())
	}
	return nil
}

// Add adds the entries of ldif as the admin.
func (s *Server) Add(t testing.TB, ldif string) {
	t.Helper()
	if err := s.try(ldif); err != nil {
		t.Fatal(err)
	}
}

// UserDN is the DN of the user with uid.
func UserDN(uid string) string { return "uid=" + uid + "," + UsersDN }

// AddUser adds a person uid with password under ou=users.
func (s *Server) AddUser(t testing.TB, uid, password string) {
	t.Helper()
	s.Add(t, fmt.Sprintf("dn: %s\nobjectClass: inetOrgPerson\nuid: %s\ncn: %s\nsn: %s\nuserPassword: %s\n", UserDN(uid), uid, uid, uid, password))
}

// AddGroup adds a groupOfNames cn under ou=groups with the users (uids)
// as members.
func (s *Server) AddGroup(t testing.TB, cn string, uids ...string) {
	t.Helper()
	ldif := fmt.Sprintf("dn: cn=%s,%s\nobjectClass: groupOfNames\ncn: %s\n", cn, GroupsDN, cn)
	for _, u := range uids {
		ldif += "member: " + UserDN(u) + "\n"
	}
	s.Add(t, ldif)
}

// SetPassword changes the user's password, as the admin.
func (s *Server) SetPassword(t testing.TB, uid, password string) {
	t.Helper()
	cmd := exec.Command(s.passwd, "-x", "-H", s.URL, "-D", AdminDN, "-w", s.AdminPassword, "-s", password, UserDN(uid))
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("ldappasswd: %v: %s", err, out)
	}
}
