//go:build linux

package chaos

import (
	"bytes"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"
)

// An operator revokes rotor's token, or one lease: rotor must render a new
// secret for what died and reload, and re-issue nothing else.

// revokeSetup is rotor holding two database credentials (two roles) and a
// certificate, each group with its own counted reload command.
type revokeSetup struct {
	e                         *env
	r                         *rotor
	db, other, cert, key      string
	dbRuns, otherRuns, pkiRun string
}

func newRevokeSetup(t *testing.T) *revokeSetup {
	t.Helper()
	e := newPersistentEnv(t, envConfig{dbTTL: "12s", pki: true})
	e.addRole("otherapp", "12s")
	s := &revokeSetup{e: e, db: e.path("db.env"), other: e.path("other.env"), cert: e.path("cert.pem"), key: e.path("key.pem"),
		dbRuns: e.path("db.runs"), otherRuns: e.path("other.runs"), pkiRun: e.path("pki.runs")}
	s.r = e.start(e.config(
		template(e.dbTpl(), s.db, countingCommand(s.dbRuns)) +
			template(dbTplFor("database/creds/otherapp"), s.other, countingCommand(s.otherRuns)) +
			template(certTpl, s.cert, countingCommand(s.pkiRun)) +
			template(keyTpl, s.key, countingCommand(s.pkiRun), `perms = "0600"`)))
	s.r.waitRendered(30 * time.Second)
	return s
}

// serial returns the serial number of the certificate in file.
func serial(t *testing.T, file string) string {
	t.Helper()
	b, _ := os.ReadFile(file)
	blk, _ := pem.Decode(b)
	if blk == nil {
		t.Fatalf("%s holds no PEM block", file)
	}
	c, err := x509.ParseCertificate(blk.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	return c.SerialNumber.String()
}

// waitNewCreds waits until file holds credentials other than old that log
// in, and returns when that was first seen.
func (s *revokeSetup) waitNewCreds(t *testing.T, file string, old []byte, timeout time.Duration) time.Time {
	t.Helper()
	b := waitFile(t, file, timeout, func(b []byte) bool { return !bytes.Equal(b, old) })
	seen := time.Now()
	user, pass, _ := strings.Cut(string(b), ":")
	if err := s.e.pg.CanLogin(user, pass); err != nil {
		t.Fatalf("the new credentials do not work: %v", err)
	}
	return seen
}

func TestTokenRevokedByOperator(t *testing.T) {
	t.Parallel()
	s := newRevokeSetup(t)
	e := s.e
	db, other, cert := stat(t, s.db), stat(t, s.other), stat(t, s.cert)
	certSerial := serial(t, s.cert)
	st, err := s.r.status()
	if err != nil || st.Token == nil {
		t.Fatalf("status: %v", err)
	}
	revoked := time.Now()
	if _, err := e.root.Logical().Write("auth/token/revoke-accessor", map[string]any{"accessor": st.Token.Accessor}); err != nil {
		t.Fatal(err)
	}
	// Vault revokes the token's leases with it: both database users go.
	dbUser, _, _ := strings.Cut(string(db.data), ":")
	otherUser, _, _ := strings.Cut(string(other.data), ":")
	seenDB := s.waitNewCreds(t, s.db, db.data, time.Minute)
	seenOther := s.waitNewCreds(t, s.other, other.data, time.Minute)
	s.r.waitLog("reload command succeeded", 5, 10*time.Second) // 3 at start, 2 now
	// A real wait, on purpose: the checks below are that nothing more
	// happens (no other login, fetch or issue) in the seconds after.
	settle := time.Now().Add(3 * time.Second)
	time.Sleep(time.Until(settle))

	if !s.r.alive() {
		t.Fatal("rotor exited")
	}
	for _, u := range []string{dbUser, otherUser} {
		for _, live := range e.pg.Roles(t, u) {
			t.Errorf("user %s of the revoked token still exists", live)
		}
	}
	logins := e.classCount("auth/login", 200, revoked, time.Time{})
	creds := e.classCount("database/creds", 200, revoked, time.Time{})
	issues := e.classCount("pki_int/issue", 200, revoked, time.Time{})
	if logins != 1 {
		t.Errorf("rotor logged in %d times after the revocation, want 1", logins)
	}
	if creds != 2 {
		t.Errorf("rotor fetched %d database credentials after the revocation, want 2 (one per revoked lease)", creds)
	}
	if issues != 0 || serial(t, s.cert) != certSerial || !cert.same(s.cert) {
		t.Errorf("the certificate (no lease, not revoked with the token) was re-issued: %d issue requests", issues)
	}
	runs := [3]int{lines(s.dbRuns), lines(s.otherRuns), lines(s.pkiRun)}
	if runs != [3]int{2, 2, 1} {
		t.Errorf("reload commands ran %v times (db, other, pki), want [2 2 1]", runs)
	}
	recovery := max(seenDB.Sub(revoked), seenOther.Sub(revoked))
	report(t, result{
		scenario: "Token revoked by an operator (revoke-accessor; Vault revokes its 2 database leases)",
		did:      fmt.Sprintf("logged in again, fetched %d database credentials, reloaded db %d and other %d time(s), certificate kept (%d issues)", creds, runs[0]-1, runs[1]-1, issues),
		files:    "2 credential files replaced (their users were dropped), cert and key kept",
		lost:     "2 (revoked by the operator; the app is locked out until rotor notices)",
		recovery: secs(recovery) + " from the revocation to working credentials (rotor notices at its next renewal)",
		requests: counts(e.proxy.Counts(revoked, settle)),
	})
}

func TestLeaseRevokedByOperator(t *testing.T) {
	t.Parallel()
	s := newRevokeSetup(t)
	e := s.e
	db, other, cert, key := stat(t, s.db), stat(t, s.other), stat(t, s.cert), stat(t, s.key)
	leases := leaseIDs(t, e.root, e.dbPath()+"/")
	if len(leases) != 1 {
		t.Fatalf("%d leases under %s, want 1", len(leases), e.dbPath())
	}
	revoked := time.Now()
	if _, err := e.root.Logical().Write("sys/leases/revoke", map[string]any{"lease_id": leases[0]}); err != nil {
		t.Fatal(err)
	}
	seen := s.waitNewCreds(t, s.db, db.data, time.Minute)
	s.r.waitLog("reload command succeeded", 4, 10*time.Second) // 3 at start, 1 now
	// A real wait, on purpose: the checks below are that nothing more
	// happens (no other login, fetch or issue) in the seconds after.
	settle := time.Now().Add(3 * time.Second)
	time.Sleep(time.Until(settle))

	if !s.r.alive() {
		t.Fatal("rotor exited")
	}
	logins := e.classCount("auth/login", 0, revoked, time.Time{})
	creds := e.classCount("database/creds", 200, revoked, time.Time{})
	issues := e.classCount("pki_int/issue", 200, revoked, time.Time{})
	if logins != 0 {
		t.Errorf("rotor logged in %d times after one lease was revoked, want 0", logins)
	}
	if creds != 1 {
		t.Errorf("rotor fetched %d database credentials after the revocation, want 1", creds)
	}
	if !other.same(s.other) {
		t.Error("the other credentials file, whose lease is fine, was rewritten")
	}
	if issues != 0 || !cert.same(s.cert) || !key.same(s.key) {
		t.Errorf("the certificate was re-issued or rewritten (%d issue requests)", issues)
	}
	runs := [3]int{lines(s.dbRuns), lines(s.otherRuns), lines(s.pkiRun)}
	if runs != [3]int{2, 1, 1} {
		t.Errorf("reload commands ran %v times (db, other, pki), want [2 1 1]", runs)
	}
	report(t, result{
		scenario: "One database lease revoked by an operator (sys/leases/revoke)",
		did:      fmt.Sprintf("fetched %d new credential for it and reloaded its group once; no login, other lease and certificate untouched", creds),
		files:    "its file replaced; the other credentials, cert and key kept (bytes, mtime)",
		lost:     "1 (revoked by the operator; the app is locked out until rotor notices)",
		recovery: secs(seen.Sub(revoked)) + " from the revocation to working credentials (rotor notices at its next renewal)",
		requests: counts(e.proxy.Counts(revoked, settle)),
	})
}
