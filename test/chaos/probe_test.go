//go:build linux

package chaos

import (
	"bytes"
	"fmt"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/vault/api"
	"github.com/rotorproject/rotor/test/harness/faultproxy"
)

// dbProbe logs in to PostgreSQL with the credentials in a rendered file,
// again and again, as the application would: a failure means the
// application, using what rotor gave it, was locked out.
type dbProbe struct {
	stopOnce sync.Once
	stopCh   chan struct{}
	done     chan struct{}

	mu       sync.Mutex
	logins   int
	failures []string
	users    map[string]bool // every user seen in the file
}

// probeDB starts probing the "user:password" file every interval.
func (e *env) probeDB(file string, every time.Duration) *dbProbe {
	p := &dbProbe{stopCh: make(chan struct{}), done: make(chan struct{}), users: map[string]bool{}}
	go func() {
		defer close(p.done)
		for {
			p.once(e, file)
			select {
			case <-p.stopCh:
				return
			case <-time.After(every):
			}
		}
	}()
	return p
}

func (p *dbProbe) once(e *env, file string) {
	b, err := os.ReadFile(file)
	if err != nil {
		p.fail("read %s: %v", file, err)
		return
	}
	user, pass, ok := strings.Cut(string(b), ":")
	if !ok {
		p.fail("%s holds no user:password (%d bytes)", file, len(b))
		return
	}
	err = e.pg.CanLogin(user, pass)
	if err != nil {
		// The file may have been replaced while the login ran: only a
		// login with what the file holds now counts.
		if now, _ := os.ReadFile(file); !bytes.Equal(now, b) {
			return
		}
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.users[user] = true
	p.logins++
	if err != nil {
		p.failures = append(p.failures, fmt.Sprintf("%s: %s could not log in", time.Now().Format("15:04:05.000"), user))
	}
}

func (p *dbProbe) fail(format string, args ...any) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.failures = append(p.failures, time.Now().Format("15:04:05.000")+": "+fmt.Sprintf(format, args...))
}

// stop ends the probe and returns the logins tried and the failures.
func (p *dbProbe) stop() (logins int, failures []string) {
	p.stopOnce.Do(func() { close(p.stopCh) })
	<-p.done
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.logins, p.failures
}

// fileState is what an application would notice of a file.
type fileState struct {
	data  []byte
	mtime time.Time
}

func stat(t *testing.T, path string) fileState {
	t.Helper()
	st, err := os.Stat(path)
	if err != nil {
		t.Fatalf("stat: %v", err)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("read: %v", err)
	}
	return fileState{data: b, mtime: st.ModTime()}
}

// same reports whether path still has the bytes and mtime of s.
func (s fileState) same(path string) bool {
	st, err := os.Stat(path)
	if err != nil {
		return false
	}
	b, err := os.ReadFile(path)
	return err == nil && bytes.Equal(b, s.data) && st.ModTime().Equal(s.mtime)
}

// waitFile waits until ok accepts path's content.
func waitFile(t *testing.T, path string, timeout time.Duration, ok func([]byte) bool) []byte {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		b, err := os.ReadFile(path)
		if err == nil && ok(b) {
			return b
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s not as expected within %v (err %v, %d bytes)", path, timeout, err, len(b))
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// leaseRequest reports whether a proxied request renewed or fetched a
// secret with a lease.
func leaseRequest(r faultproxy.Record) bool {
	return r.Class == "sys/leases/renew" || r.Class == "database/creds" || r.Class == "pki_int/issue"
}

// waitLeaseSuccess waits until the proxy has forwarded a lease request
// that arrived after since and was answered 200, and returns when that
// answer was sent.
func (e *env) waitLeaseSuccess(since time.Time, timeout time.Duration) time.Time {
	e.t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		for _, r := range e.proxy.Between(since, time.Time{}) {
			if leaseRequest(r) && r.Status == 200 {
				return r.At.Add(r.Duration)
			}
		}
		if time.Now().After(deadline) {
			e.t.Fatalf("no successful lease request within %v after the fault ended; requests: %s",
				timeout, counts(e.proxy.Counts(since, time.Time{})))
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// classCount counts the proxied requests of class in [from, to) that got
// status (any status when status is 0).
func (e *env) classCount(class string, status int, from, to time.Time) int {
	n := 0
	for _, r := range e.proxy.Between(from, to) {
		if r.Class == class && (status == 0 || r.Status == status) {
			n++
		}
	}
	return n
}

// leaseIDs lists the IDs of the live leases under prefix (e.g.
// "database/creds/myapp-readonly/"), as an operator would with
// `vault list sys/leases/lookup/...`.
func leaseIDs(t *testing.T, root *api.Client, prefix string) []string {
	t.Helper()
	s, err := root.Logical().List("sys/leases/lookup/" + prefix)
	if err != nil {
		t.Fatalf("list leases %s: %v", prefix, err)
	}
	if s == nil {
		return nil
	}
	keys, _ := s.Data["keys"].([]any)
	out := make([]string, 0, len(keys))
	for _, k := range keys {
		out = append(out, prefix+fmt.Sprint(k))
	}
	return out
}

// leaseInfo is what Vault tells an operator about a lease.
type leaseInfo struct {
	issued, expire time.Time
	renewed        time.Time // zero if never renewed
}

// lookupLease reads a lease from sys/leases/lookup; ok is false when
// Vault no longer knows it (expired or revoked).
func lookupLease(root *api.Client, id string) (info leaseInfo, ok bool) {
	s, err := root.Logical().Write("sys/leases/lookup", map[string]any{"lease_id": id})
	if err != nil || s == nil {
		return info, false
	}
	parse := func(k string) time.Time {
		v, _ := s.Data[k].(string)
		tm, _ := time.Parse(time.RFC3339Nano, v)
		return tm
	}
	return leaseInfo{issued: parse("issue_time"), expire: parse("expire_time"), renewed: parse("last_renewal")}, true
}
