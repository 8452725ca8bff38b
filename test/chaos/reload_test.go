//go:build linux

package chaos

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// Reload commands that fail or hang: rotor keeps the files, keeps
// rendering, retries the command with backoff, and after a SIGHUP too.

// kvEnv is a persistent Vault with secret/app = {"v": "1"}.
func kvEnv(t *testing.T) *env {
	t.Helper()
	e := newPersistentEnv(t, envConfig{})
	e.putKV("app", "1")
	return e
}

func (e *env) putKV(name, v string) {
	e.t.Helper()
	if _, err := e.root.KVv2("secret").Put(e.t.Context(), name, map[string]any{"v": v}); err != nil {
		e.t.Fatal(err)
	}
}

// kvTpl renders the value v of secret/<name>.
func kvTpl(name string) string {
	return `{{ with secret "secret/` + name + `" }}{{ .Data.data.v }}{{ end }}`
}

// fastKV re-reads KV secrets every second, so a change shows within ~1s.
const fastKV = "template_config {\n  static_secret_render_interval = \"1s\"\n}\n"

// runTimes reads the times a command recorded with `date +%s.%N >> file`.
func runTimes(file string) []time.Time {
	b, _ := os.ReadFile(file)
	var out []time.Time
	for _, l := range strings.Fields(string(b)) {
		if f, err := strconv.ParseFloat(l, 64); err == nil {
			out = append(out, time.Unix(0, int64(f*1e9)))
		}
	}
	return out
}

// gaps formats the time between consecutive runs: "1.0s 1.8s 3.9s".
func gaps(ts []time.Time) string {
	var parts []string
	for i := 1; i < len(ts); i++ {
		parts = append(parts, secs(ts[i].Sub(ts[i-1])))
	}
	return strings.Join(parts, " ")
}

// waitRuns waits until the command has run at least n times.
func waitRuns(t *testing.T, file string, n int, timeout time.Duration) []time.Time {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		ts := runTimes(file)
		if len(ts) >= n {
			return ts
		}
		if time.Now().After(deadline) {
			t.Fatalf("the reload command ran %d times within %v, want %d", len(ts), timeout, n)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// failingCommand records each run and fails until okFile exists.
func failingCommand(runs, okFile string) string {
	return fmt.Sprintf("date +%%s.%%N >> %s; test -e %s", runs, okFile)
}

func TestReloadCommandFailing(t *testing.T) {
	t.Parallel()
	e := kvEnv(t)
	out, runs, ok := e.path("kv.txt"), e.path("runs"), e.path("ok")
	r := e.start(e.config(fastKV + template(kvTpl("app"), out, failingCommand(runs, ok))))
	waitFile(t, out, 30*time.Second, func(b []byte) bool { return string(b) == "1" })
	failed := waitRuns(t, runs, 4, 30*time.Second)
	if !r.alive() {
		t.Fatal("rotor exited")
	}
	st, err := r.status()
	if err != nil || len(st.Templates) != 1 || st.Templates[0].CommandExit == nil || *st.Templates[0].CommandExit != 1 {
		t.Fatalf("status does not show the failed command: %+v %v", st.Templates, err)
	}
	// The file stays, and other changes still render while the command fails.
	e.putKV("app", "2")
	waitFile(t, out, 10*time.Second, func(b []byte) bool { return string(b) == "2" })
	// Fixed: the next retry succeeds, and the retries stop.
	e.write("ok", "")
	r.waitLog("reload command succeeded", 1, time.Minute)
	n := len(runTimes(runs))
	// A real wait, on purpose: the check is that the command does not
	// run again within it.
	quiet := time.Now().Add(5 * time.Second)
	time.Sleep(time.Until(quiet))
	if m := len(runTimes(runs)); m != n {
		t.Errorf("the command ran %d more times after it succeeded", m-n)
	}
	report(t, result{
		scenario: "Reload command failing (exit 1), then fixed",
		did:      "kept the file, kept rendering, retried the command with backoff (gaps " + gaps(failed) + "), stopped once it succeeded",
		files:    "kept; a later change rendered while the command failed",
		lost:     "0",
		recovery: "next retry after the fix",
		requests: "-",
	})
}

func TestReloadCommandHanging(t *testing.T) {
	t.Parallel()
	e := kvEnv(t)
	e.putKV("other", "a")
	out, other, runs, pids := e.path("kv.txt"), e.path("other.txt"), e.path("runs"), e.path("pids")
	const timeout = 4 * time.Second
	hang := fmt.Sprintf("date +%%s.%%N >> %s; sleep 300 & echo $! >> %s; wait", runs, pids)
	r := e.start(e.config(fastKV +
		template(kvTpl("app"), out, hang, fmt.Sprintf("command_timeout = %q", timeout)) +
		template(kvTpl("other"), other, "")))
	waitFile(t, out, 30*time.Second, func(b []byte) bool { return string(b) == "1" })
	waitRuns(t, runs, 1, 30*time.Second)
	// While the command hangs, another template's secret changes.
	changed := time.Now()
	e.putKV("other", "b")
	waitFile(t, other, 3*timeout, func(b []byte) bool { return string(b) == "b" })
	otherDelay := time.Since(changed)
	// The command is killed at its timeout, with its process group (the
	// backgrounded sleep too), and retried.
	ts := waitRuns(t, runs, 2, 3*timeout)
	if d := ts[1].Sub(ts[0]); d < timeout {
		t.Errorf("the second run came %v after the first, before the %v timeout", d, timeout)
	}
	b, _ := os.ReadFile(pids)
	first, err := strconv.Atoi(strings.Fields(string(b))[0])
	if err != nil {
		t.Fatal(err)
	}
	if alive(first) {
		t.Errorf("the hung command's child %d is still alive after the timeout", first)
	}
	if !r.alive() {
		t.Fatal("rotor exited")
	}
	if otherDelay > 3*time.Second {
		t.Logf("note: a template without a command waited %v for its render while another group's command hung (renders and commands share one loop)", otherDelay.Round(100*time.Millisecond))
	}
	report(t, result{
		scenario: fmt.Sprintf("Reload command hanging past its command_timeout (%v)", timeout),
		did:      fmt.Sprintf("killed it and its process group at the timeout, retried (run gap %s); another template's change rendered %s after it happened", secs(ts[1].Sub(ts[0])), secs(otherDelay)),
		files:    "kept",
		lost:     "0",
		recovery: "-",
		requests: "-",
	})
}

func TestReloadCommandRetriedAfterSIGHUP(t *testing.T) {
	t.Parallel()
	e := kvEnv(t)
	out, runs, ok := e.path("kv.txt"), e.path("runs"), e.path("ok")
	cfg := e.config(fastKV + template(kvTpl("app"), out, failingCommand(runs, ok)))
	r := e.start(cfg)
	waitFile(t, out, 30*time.Second, func(b []byte) bool { return string(b) == "1" })
	before := len(waitRuns(t, runs, 2, 30*time.Second))
	// The operator fixes what the command needs and reloads rotor.
	e.write("ok", "")
	hup := time.Now()
	r.signal(syscall.SIGHUP)
	r.waitLog("configuration reloaded", 1, 10*time.Second)
	known := &violations{}
	deadline := time.Now().Add(20 * time.Second)
	var ran time.Time
	for ran.IsZero() && time.Now().Before(deadline) {
		if ts := runTimes(runs); len(ts) > before {
			ran = ts[before]
		}
		time.Sleep(100 * time.Millisecond)
	}
	did := "ran the pending command again " + secs(ran.Sub(hup)) + " after SIGHUP"
	if ran.IsZero() {
		did = "dropped the pending command: it never ran again"
		known.add("a reload command that failed before SIGHUP never runs again: agent.Reload replaces the template runner, " +
			"the new runner finds the files unchanged and so never runs the command the old runner had pending")
	}
	if !r.alive() {
		t.Fatal("rotor exited")
	}
	report(t, result{
		scenario: "Failed reload command, then SIGHUP",
		did:      did,
		files:    "kept",
		lost:     "0",
		recovery: "-",
		requests: "-",
	})
	known.flush(t)
}

// alive reports whether process pid runs. A zombie does not: the child of
// a killed shell is reparented to PID 1, which may be slow to reap it.
func alive(pid int) bool {
	if err := syscall.Kill(pid, 0); err != nil {
		return false
	}
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return false
	}
	// pid (comm) state ...: comm may hold spaces, so find the last ')'.
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	return i < 0 || i+2 >= len(s) || s[i+2] != 'Z'
}
