//go:build linux

package chaos

import (
	"fmt"
	"os"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rotorproject/rotor/test/harness/proc"
)

// knobs are the suite's settings, from the environment (see the package
// documentation).
type knobs struct {
	long   bool
	outage time.Duration
	kills  int
}

var settings = sync.OnceValue(func() knobs {
	k := knobs{long: os.Getenv("ROTOR_CHAOS_LONG") == "1", outage: 16 * time.Second, kills: 40}
	if k.long {
		k.outage, k.kills = 60*time.Second, 1000
	}
	if v := os.Getenv("ROTOR_CHAOS_OUTAGE"); v != "" {
		if d, err := time.ParseDuration(v); err == nil && d > 0 {
			k.outage = d
		}
	}
	if v := os.Getenv("ROTOR_CHAOS_KILLS"); v != "" {
		if n, err := strconv.Atoi(v); err == nil && n > 0 {
			k.kills = n
		}
	}
	return k
})

// TestMain removes the rotor binary the tests built (proc.Rotor).
func TestMain(m *testing.M) { proc.Main(m) }

// binary returns rotor built once per test run: these tests run it as
// users do.
func binary(t *testing.T) string { return proc.Rotor(t) }

// result is one row of the chaos table in test/chaos/README.md.
type result struct {
	scenario string
	did      string // what rotor did
	files    string // were the files kept (bytes, mtime)
	lost     string // leases lost (expired while they could have been renewed)
	recovery string // from the end of the fault to the first successful lease request
	requests string // requests during the fault and the recovery, by class
}

var resultsMu sync.Mutex

// report logs r as one table row (and appends it to $ROTOR_CHAOS_RESULTS).
func report(t *testing.T, r result) {
	t.Helper()
	line := fmt.Sprintf("| %s | %s | %s | %s | %s | %s |", r.scenario, r.did, r.files, r.lost, r.recovery, r.requests)
	t.Logf("chaos-result: %s", line)
	if path := os.Getenv("ROTOR_CHAOS_RESULTS"); path != "" {
		resultsMu.Lock()
		defer resultsMu.Unlock()
		f, err := os.OpenFile(path, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
		if err != nil {
			t.Errorf("results file: %v", err)
			return
		}
		defer f.Close()
		fmt.Fprintln(f, line)
	}
}

// violations collects what a scenario found wrong; flush fails the test
// with each. (These were skipped as known rotor bugs while the scheduler,
// the config limits and the template runner were being fixed; all are
// fixed, so every one is a failure now.)
type violations struct {
	list []string
}

func (k *violations) add(format string, args ...any) {
	k.list = append(k.list, fmt.Sprintf(format, args...))
}

func (k *violations) flush(t *testing.T) {
	t.Helper()
	for _, v := range k.list {
		t.Errorf("%s", v)
	}
}

// counts formats request counts by class, largest first: "sys/leases/renew=3 ...".
func counts(m map[string]int) string {
	if len(m) == 0 {
		return "none"
	}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool {
		if m[keys[i]] != m[keys[j]] {
			return m[keys[i]] > m[keys[j]]
		}
		return keys[i] < keys[j]
	})
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = fmt.Sprintf("%s=%d", k, m[k])
	}
	return strings.Join(parts, " ")
}

// secs formats a duration for the table: "3.2s".
func secs(d time.Duration) string {
	return strconv.FormatFloat(d.Seconds(), 'f', 1, 64) + "s"
}
