package atomicfile

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// The tests run through both ways a new file is written: Linux's
// O_TMPFILE + linkat, and (go test -tags rotor_portable, as on macOS and
// Windows) a named temporary file renamed into place. This checks that
// the build took the path it claims.
func TestNewFilePath(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "token")
	ok, err := createLinked(p, dir, []byte("x"), Options{Mode: 0o600, UID: -1, GID: -1})
	if err != nil {
		t.Fatal(err)
	}
	if !linkedWrites {
		if ok {
			t.Fatal("the portable build wrote through O_TMPFILE")
		}
		return
	}
	if !ok {
		t.Skip("this file system has no O_TMPFILE; only the portable path runs here")
	}
	if b, err := os.ReadFile(p); err != nil || string(b) != "x" {
		t.Fatalf("linked file holds %q: %v", b, err)
	}
}

// The Windows file mode mapping: a protected DACL; SYSTEM, Administrators
// and rotor's account always; the owner, group and other bits to the
// configured accounts and BUILTIN\Users.
func TestSDDLForMode(t *testing.T) {
	const writer, app, grp = "S-1-5-21-1-2-3-1001", "S-1-5-82-1-2-3-4-5", "S-1-5-21-1-2-3-513"
	base := "D:P(A;;FA;;;SY)(A;;FA;;;BA)(A;;FA;;;" + writer + ")"
	for _, tc := range []struct {
		mode os.FileMode
		p    principals
		want string
	}{
		{0o600, principals{Writer: writer}, base},
		{0o400, principals{Writer: writer}, base},
		{0o640, principals{Writer: writer}, base}, // no group named: owner-only
		{0o644, principals{Writer: writer}, base + "(A;;FR;;;S-1-5-32-545)"},
		{0o755, principals{Writer: writer}, base + "(A;;FRFX;;;S-1-5-32-545)"},
		{0o666, principals{Writer: writer}, base + "(A;;FRFW;;;S-1-5-32-545)"},
		{0o777, principals{Writer: writer}, base + "(A;;FA;;;S-1-5-32-545)"},
		{0o400, principals{Writer: writer, User: app}, base + "(A;;FR;;;" + app + ")"},
		{0o600, principals{Writer: writer, User: app}, base + "(A;;FRFW;;;" + app + ")"},
		{0o000, principals{Writer: writer, User: app}, base},
		{0o640, principals{Writer: writer, User: app, Group: grp}, base + "(A;;FRFW;;;" + app + ")(A;;FR;;;" + grp + ")"},
		{0o600, principals{Writer: writer, User: writer}, base}, // the writer has full control already
	} {
		if got := sddlFor(tc.mode, tc.p); got != tc.want {
			t.Errorf("%04o %+v:\n got %s\nwant %s", tc.mode, tc.p, got, tc.want)
		}
		if got := sddlFor(tc.mode, tc.p); strings.Contains(got, "WD") || strings.Contains(got, ";AU)") {
			t.Errorf("%04o grants Everyone or Authenticated Users: %s", tc.mode, got)
		}
	}
}

func TestSameAccess(t *testing.T) {
	want := []accessEntry{{true, 0x1f01ff, "S-1-5-18"}, {true, 0x120089, "S-1-5-32-545"}}
	for _, tc := range []struct {
		name string
		got  []accessEntry
		same bool
	}{
		{"identical", want, true},
		{"other order", []accessEntry{want[1], want[0]}, true},
		{"split entries add up", []accessEntry{want[0], {true, 0x120000, "S-1-5-32-545"}, {true, 0x89, "S-1-5-32-545"}}, true},
		{"missing entry", want[:1], false},
		{"extra reader", append([]accessEntry{{true, 0x120089, "S-1-1-0"}}, want...), false},
		{"wider rights", []accessEntry{want[0], {true, 0x1f01ff, "S-1-5-32-545"}}, false},
		{"deny entry", append([]accessEntry{{false, 0x120089, "S-1-5-32-545"}}, want...), false},
	} {
		if got := sameAccess(tc.got, want); got != tc.same {
			t.Errorf("%s: sameAccess = %v", tc.name, got)
		}
	}
}

// Windows refuses to replace a file another program holds open without
// FILE_SHARE_DELETE: the replace is retried with growing waits, then
// fails with ErrInUse and the last error.
func TestRetryReplace(t *testing.T) {
	busyErr := syscall.Errno(32) // ERROR_SHARING_VIOLATION's number
	busy := func(err error) bool { return errors.Is(err, busyErr) }
	delays := []time.Duration{1, 2, 4}
	var slept []time.Duration
	sleep := func(d time.Duration) { slept = append(slept, d) }

	calls := 0
	err := retryReplace(func() error {
		if calls++; calls < 3 {
			return busyErr
		}
		return nil
	}, busy, sleep, delays)
	if err != nil || calls != 3 || len(slept) != 2 {
		t.Fatalf("reader closed after 2 attempts: err=%v calls=%d slept=%v", err, calls, slept)
	}

	calls, slept = 0, nil
	err = retryReplace(func() error { calls++; return busyErr }, busy, sleep, delays)
	if !errors.Is(err, ErrInUse) || !errors.Is(err, busyErr) || calls != 4 || len(slept) != 3 {
		t.Fatalf("held open: err=%v calls=%d slept=%v", err, calls, slept)
	}
	if !strings.Contains(err.Error(), "4 attempts") || !strings.Contains(err.Error(), "FILE_SHARE_DELETE") {
		t.Fatalf("the error does not say what happened: %v", err)
	}

	calls = 0
	other := errors.New("disk full")
	if err := retryReplace(func() error { calls++; return other }, busy, sleep, delays); err != other || calls != 1 {
		t.Fatalf("a non-busy error must not be retried: err=%v calls=%d", err, calls)
	}
	if d := sumDurations(replaceDelays); d < time.Second || d > 2*time.Second {
		t.Fatalf("replaceDelays add up to %v; a render should wait about a second for a reader", d)
	}
}

func sumDurations(ds []time.Duration) (s time.Duration) {
	for _, d := range ds {
		s += d
	}
	return s
}
