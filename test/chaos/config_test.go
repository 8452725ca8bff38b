//go:build linux

package chaos

import (
	"bufio"
	"fmt"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestInvalidConfigOnSIGHUP sends SIGHUP with a broken configuration in
// place: a syntax error, semantic errors, a huge file and a deeply nested
// one. The running configuration must stay, and rotor must keep rendering.
func TestInvalidConfigOnSIGHUP(t *testing.T) {
	t.Parallel()
	e := kvEnv(t)
	out := e.path("kv.txt")
	good := fastKV + template(kvTpl("app"), out, "")
	cfg := e.config(good)
	body, err := os.ReadFile(cfg)
	if err != nil {
		t.Fatal(err)
	}
	r := e.start(cfg)
	waitFile(t, out, 30*time.Second, func(b []byte) bool { return string(b) == "1" })

	nested := func(depth int) string {
		return "x = " + strings.Repeat("[", depth) + strings.Repeat("]", depth) + "\n"
	}
	cases := []struct {
		name  string
		write func(path string) error
	}{
		{"syntax error", func(p string) error {
			return os.WriteFile(p, append(append([]byte{}, body...), "\ntemplate {\n  destination = \"x\"\n"...), 0o600)
		}},
		{"semantic errors", func(p string) error {
			return os.WriteFile(p, append(append([]byte{}, body...),
				"\ntemplate {\n  contents = \"x\"\n  destinaton = \"y\"\n}\nvault {\n  address = \"http://other\"\n}\n"...), 0o600)
		}},
		{"huge file (64 MiB)", func(p string) error { return writeHuge(p, body, 64<<20) }},
		{"deeply nested (10,000 levels)", func(p string) error {
			return os.WriteFile(p, append(append([]byte{}, body...), nested(10_000)...), 0o600)
		}},
		{"deeply nested (100,000 levels)", func(p string) error {
			return os.WriteFile(p, append(append([]byte{}, body...), nested(100_000)...), 0o600)
		}},
	}
	var rows []string
	known := &violations{}
	value := 1
	for _, c := range cases {
		if err := c.write(cfg); err != nil {
			t.Fatal(err)
		}
		mark := len(r.out.String())
		sent := time.Now()
		r.signal(syscall.SIGHUP)
		refused := waitRefused(r, mark, time.Minute)
		took := time.Since(sent)
		if !r.alive() {
			known.add("rotor died on SIGHUP with a %s config: %s", c.name, exitReason(r))
			rows = append(rows, fmt.Sprintf("%s: rotor died after %s", c.name, secs(took)))
			break
		}
		if !refused {
			t.Errorf("%s: no refusal logged within a minute", c.name)
		}
		// The running configuration still renders.
		value++
		e.putKV("app", fmt.Sprint(value))
		waitFile(t, out, 10*time.Second, func(b []byte) bool { return string(b) == fmt.Sprint(value) })
		rows = append(rows, fmt.Sprintf("%s: refused in %s (peak RSS so far %s)", c.name, secs(took), peakRSS(r.cmd.Process.Pid)))
	}
	if r.alive() {
		// A good configuration is taken again.
		if err := os.WriteFile(cfg, body, 0o600); err != nil {
			t.Fatal(err)
		}
		r.signal(syscall.SIGHUP)
		r.waitLog("configuration reloaded", 1, 30*time.Second)
	}
	report(t, result{
		scenario: "Invalid configuration on SIGHUP",
		did:      strings.Join(rows, "; "),
		files:    "kept; rendering went on after each refusal",
		lost:     "0",
		recovery: "-",
		requests: "-",
	})
	known.flush(t)
}

// writeHuge writes body followed by comment lines up to size bytes, and
// ends with a syntax error, so the whole file must be read to refuse it.
func writeHuge(path string, body []byte, size int) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	w := bufio.NewWriterSize(f, 1<<20)
	w.Write(body)
	line := "# " + strings.Repeat("padding ", 12) + "\n"
	for n := len(body); n < size; n += len(line) {
		w.WriteString(line)
	}
	w.WriteString("template {\n")
	if err := w.Flush(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// waitRefused waits until rotor has logged a configuration refusal after
// byte mark of its output (or died); false on timeout.
func waitRefused(r *rotor, mark int, timeout time.Duration) bool {
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		if strings.Contains(r.out.String()[mark:], "new configuration refused") {
			return true
		}
		if !r.alive() {
			return false
		}
		time.Sleep(20 * time.Millisecond)
	}
	return false
}

// exitReason describes how rotor ended, with the first line of a Go
// runtime fatal error if there is one.
func exitReason(r *rotor) string {
	<-r.done
	why := r.cmd.ProcessState.String()
	out := r.out.String()
	for _, marker := range []string{"fatal error:", "runtime: goroutine stack exceeds", "panic:"} {
		if i := strings.Index(out, marker); i >= 0 {
			line, _, _ := strings.Cut(out[i:], "\n")
			return why + ": " + line
		}
	}
	return why
}

// peakRSS returns a process's peak resident memory (VmHWM), or "?".
func peakRSS(pid int) string {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return "?"
	}
	for _, l := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(l, "VmHWM:") {
			return strings.Join(strings.Fields(strings.TrimPrefix(l, "VmHWM:")), " ")
		}
	}
	return "?"
}
