//go:build linux

package chaos

import (
	"fmt"
	"os"
	"strings"
	"testing"
	"time"
)

// faultWindow is a fault that lasts a while and covers a lease renewal.
type faultWindow struct {
	scenario string
	// begin starts the fault; end ends it and returns once Vault serves
	// again (for a restart: unsealed and active), with a note for the
	// result line (or "").
	begin func(e *env)
	end   func(e *env) string
	// length is how long the fault lasts.
	length time.Duration
	// lead is how long before rotor's renewal is due the fault begins;
	// zero means two thirds of its length, so several attempts fail.
	lead time.Duration
}

// ttlFor returns the database lease TTL for a fault of length d: long
// enough that a lease still valid after the fault can be renewed. rotor
// renews at 57-67% of the TTL, so a third of it is left; the fault goes
// on for a third of its length after the renewal was due, and retries back
// off (the next may come up to 1.33 times the time already failed later,
// plus the Vault client's own retries).
func ttlFor(d time.Duration) time.Duration {
	return (d*5/2 + 10*time.Second).Round(time.Second)
}

// runWindow runs rotor with one database credential file whose lease
// renewal falls inside the fault, and checks what users care about: the
// application never gets locked out, the lease is renewed rather than
// replaced (no new database user, the file and its reload untouched),
// and rotor recovers within its maximum retry step (1m for secrets).
// e must have a database whose default_ttl is ttlFor(w.length).
func runWindow(t *testing.T, e *env, w faultWindow) {
	t.Helper()
	ttl := ttlFor(w.length)
	db, reloads := e.path("db.env"), e.path("reloads")
	r := e.start(e.config(template(e.dbTpl(), db, countingCommand(reloads))))
	r.waitRendered(30 * time.Second)
	before := stat(t, db)
	issued := time.Now() // a little after Vault issued the lease
	leases := leaseIDs(t, e.root, e.dbPath()+"/")
	if len(leases) != 1 {
		t.Fatalf("rotor holds %d database leases, want 1", len(leases))
	}
	usersBefore := e.dbUsers()
	probe := e.probeDB(db, 500*time.Millisecond)
	rd := r.watchReadiness(250 * time.Millisecond)
	st, i, err := r.leaseStatus(e.dbPath())
	if err != nil {
		t.Fatal(err)
	}
	due := st.Leases[i].NextAt
	if st.Leases[i].NextAction != "renew" || due.Sub(issued) > ttl {
		t.Fatalf("rotor plans to %s the lease at %v, %v after it was issued; want a renewal within the TTL %v",
			st.Leases[i].NextAction, due, due.Sub(issued), ttl)
	}
	if w.lead == 0 {
		w.lead = w.length * 2 / 3
	}
	time.Sleep(time.Until(due.Add(-w.lead)))

	faultStart := time.Now()
	w.begin(e)
	time.Sleep(time.Until(faultStart.Add(w.length))) // the fault itself
	note := w.end(e)
	faultEnd := time.Now()
	recovered := e.waitLeaseSuccess(faultStart, time.Minute+10*time.Second)
	recovery := max(recovered.Sub(faultEnd), 0)
	// Let the application use what rotor holds now for a little while.
	time.Sleep(3 * time.Second)
	logins, failures := probe.stop()
	rd.stop()

	if os.Getenv("ROTOR_CHAOS_VERBOSE") == "1" {
		for _, r := range e.proxy.Between(faultStart.Add(-time.Second), time.Time{}) {
			t.Logf("request %s %+.1fs %s %s: %s -> %d in %v", r.At.Format("15:04:05.000"), r.At.Sub(faultStart).Seconds(), r.Method, r.Path, r.Fault, r.Status, r.Duration.Round(time.Millisecond))
		}
	}
	known := &violations{}
	if !r.alive() {
		t.Fatalf("rotor exited: %v", r.cmd.ProcessState)
	}
	if len(failures) > 0 {
		t.Errorf("the application was locked out: %d of %d logins failed, first: %s", len(failures), logins, failures[0])
	}
	if recovery > time.Minute {
		t.Errorf("rotor recovered %v after the fault ended, want within its 1m maximum retry step", recovery)
	}
	if code := rd.last(); code != 200 {
		t.Errorf("/readyz answers %d after the recovery", code)
	}
	info, ok := lookupLease(e.root, leases[0])
	expire, renewed := info.expire, info.renewed
	newCreds := e.classCount("database/creds", 200, faultStart, time.Time{})
	did := fmt.Sprintf("renewed the lease %s after the fault began", renewedWhen(renewed, faultStart))
	if ok && renewed.After(faultStart) && !expire.After(issued.Add(ttl)) {
		t.Errorf("the lease was renewed but still expires at %v, not after its first end %v", expire, issued.Add(ttl))
	}
	if newCreds > 0 || !ok || renewed.Before(faultStart) {
		did = fmt.Sprintf("fetched %d new database credential(s) instead of renewing the lease", newCreds)
		known.add("rotor fetched %d new database credential(s) after the fault instead of renewing the lease that was still valid "+
			"(lease.Store.act: a failed renewal falls through to a re-fetch, and the retry stays a re-fetch)", newCreds)
	}
	files := "kept (bytes, mtime)"
	if !before.same(db) {
		files = "rewritten"
		known.add("the credentials file was rewritten")
	}
	if n := lines(reloads); n != 1 {
		known.add("the reload command ran %d times, want 1", n)
	}
	users := e.dbUsers()
	if note != "" {
		did = note + "; " + did
	}
	lost := "0"
	if len(failures) > 0 {
		lost = fmt.Sprintf("app locked out (%d failed logins)", len(failures))
	} else if newCreds > 0 {
		lost = "0 (old lease replaced, not renewed)"
	}
	report(t, result{
		scenario: w.scenario,
		did:      fmt.Sprintf("%s; %s; DB users %d -> %d", did, rd.summary(), len(usersBefore), len(users)),
		files:    files,
		lost:     lost,
		recovery: secs(recovery),
		requests: counts(e.proxy.Counts(faultStart, recovered.Add(time.Second))),
	})
	known.flush(t)
}

// renewedWhen describes a lease's last renewal relative to the fault.
func renewedWhen(renewed, faultStart time.Time) string {
	if renewed.IsZero() {
		return "never"
	}
	return secs(renewed.Sub(faultStart))
}

// dbEnv is a persistent Vault with a database role whose TTL fits a fault
// of length d.
func dbEnv(t *testing.T, d time.Duration) *env {
	t.Helper()
	return newPersistentEnv(t, envConfig{dbTTL: fmt.Sprintf("%ds", int(ttlFor(d).Seconds()))})
}

// scenarioName puts the fault length into a scenario's name.
func scenarioName(format string, d time.Duration) string {
	return strings.ReplaceAll(format, "%d", secs(d))
}
