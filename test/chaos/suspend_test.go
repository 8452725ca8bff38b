//go:build linux

package chaos

import (
	"fmt"
	"syscall"
	"testing"
	"time"
)

// A process frozen past a renewal point (SIGSTOP, as a VM suspend or a
// stopped container does to it) must renew as soon as it runs again, not
// at its next periodic wall-clock check: the lease is still valid, but
// not for long.
func TestSuspendedPastARenewal(t *testing.T) {
	t.Parallel()
	e := newPersistentEnv(t, envConfig{dbTTL: "30s"})
	db := e.path("db.env")
	r := e.start(e.config(template(e.dbTpl(), db, "")))
	r.waitRendered(30 * time.Second)
	before := stat(t, db)
	leases := leaseIDs(t, e.root, e.dbPath()+"/")
	if len(leases) != 1 {
		t.Fatalf("rotor holds %d database leases, want 1", len(leases))
	}
	st, i, err := r.leaseStatus(e.dbPath())
	if err != nil {
		t.Fatal(err)
	}
	due := st.Leases[i].NextAt
	// Frozen from 2s before the renewal is due until 6s after it: while
	// stopped, no timer of rotor's can fire.
	time.Sleep(time.Until(due.Add(-2 * time.Second)))
	r.signal(syscall.SIGSTOP)
	frozen := time.Now()
	time.Sleep(time.Until(due.Add(6 * time.Second)))
	r.signal(syscall.SIGCONT)
	thawed := time.Now()

	var renewed time.Time
	deadline := thawed.Add(5 * time.Second)
	for time.Now().Before(deadline) {
		if info, ok := lookupLease(e.root, leases[0]); ok && info.renewed.After(frozen) {
			renewed = info.renewed
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	newCreds := e.classCount("database/creds", 200, frozen, time.Time{})
	if renewed.IsZero() {
		t.Fatalf("no renewal within 5s of SIGCONT (frozen %v past the renewal point)", thawed.Sub(due).Round(time.Second))
	}
	if newCreds > 0 {
		t.Errorf("rotor fetched %d new credential(s) instead of renewing the lease still valid", newCreds)
	}
	if !before.same(db) {
		t.Error("the credentials file was rewritten")
	}
	report(t, result{
		scenario: fmt.Sprintf("rotor frozen (SIGSTOP) %s, past its renewal point by %s, then SIGCONT", secs(thawed.Sub(frozen)), secs(thawed.Sub(due))),
		did:      fmt.Sprintf("renewed the lease %s after SIGCONT; no new credentials", secs(max(renewed.Sub(thawed), 0))),
		files:    "kept (bytes, mtime)",
		lost:     "0",
		recovery: secs(max(renewed.Sub(thawed), 0)),
		requests: counts(e.proxy.Counts(thawed, renewed.Add(time.Second))),
	})
}
