//go:build linux

package chaos

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// The destination's filesystem breaks: the last good file stays, and
// rotor writes the new content once the fault goes away, leaving no
// temporary file behind.

// mount runs mount(8) with args, skipping the test when this machine does
// not let it (not root, no CAP_SYS_ADMIN).
func mount(t *testing.T, args ...string) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("filesystem faults need root to mount a tmpfs or a read-only bind mount")
	}
	if out, err := exec.Command("mount", args...).CombinedOutput(); err != nil {
		t.Skipf("mount %v: %v: %s (filesystem faults need mount(8) to work here)", args, err, out)
	}
}

func umount(t *testing.T, dir string) {
	t.Helper()
	if out, err := exec.Command("umount", dir).CombinedOutput(); err != nil {
		t.Fatalf("umount %s: %v: %s", dir, err, out)
	}
}

// tmpFiles lists rotor's temporary files (".name.tmp-*") in dir.
func tmpFiles(dir string) []string {
	entries, _ := os.ReadDir(dir)
	var out []string
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), ".") && strings.Contains(e.Name(), ".tmp-") {
			out = append(out, e.Name())
		}
	}
	return out
}

// fill writes to dir/filler until the filesystem is full.
func fill(t *testing.T, dir string) {
	t.Helper()
	f, err := os.Create(filepath.Join(dir, "filler"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	buf := make([]byte, 4096)
	for {
		if _, err := f.Write(buf); err != nil {
			if !errors.Is(err, syscall.ENOSPC) {
				t.Fatalf("fill: %v", err)
			}
			return
		}
	}
}

// fsFault is a filesystem fault on a template's destination directory.
type fsFault struct {
	name     string
	scenario string
	// setup prepares dir before rotor starts (a mount).
	setup func(t *testing.T, dir string)
	// begin breaks dir; end repairs it.
	begin, end func(t *testing.T, dir string)
	// keeps says whether the last good file must stay during the fault
	// (false when the fault removes it).
	keeps bool
	// heals says rotor repairs the fault itself: no write fails.
	heals bool
	extra string // more template settings
}

func TestDestinationFaults(t *testing.T) {
	t.Parallel()
	e := kvEnv(t)
	faults := []fsFault{{
		name:     "removed",
		scenario: "Destination directory removed (create_dest_dirs = true)",
		begin:    func(t *testing.T, dir string) { os.RemoveAll(dir) },
		end:      func(t *testing.T, dir string) {},
		heals:    true,
	}, {
		name:     "removed-nocreate",
		scenario: "Destination directory removed (create_dest_dirs = false), then re-created by the operator",
		begin:    func(t *testing.T, dir string) { os.RemoveAll(dir) },
		end:      func(t *testing.T, dir string) { os.Mkdir(dir, 0o755) },
		extra:    "create_dest_dirs = false",
	}, {
		name:     "readonly",
		scenario: "Destination directory made read-only (read-only bind mount), then writable",
		begin: func(t *testing.T, dir string) {
			mount(t, "--bind", dir, dir)
			mount(t, "-o", "remount,ro,bind", dir)
		},
		end:   func(t *testing.T, dir string) { umount(t, dir) },
		keeps: true,
	}, {
		name:     "full",
		scenario: "Destination filesystem full (64 KiB tmpfs), then space freed",
		setup: func(t *testing.T, dir string) {
			mount(t, "-t", "tmpfs", "-o", "size=64k,mode=0755", "tmpfs", dir)
			t.Cleanup(func() { exec.Command("umount", dir).Run() })
		},
		begin: func(t *testing.T, dir string) { fill(t, dir) },
		end:   func(t *testing.T, dir string) { os.Remove(filepath.Join(dir, "filler")) },
		keeps: true,
	}}
	for i, f := range faults {
		t.Run(f.name, func(t *testing.T) {
			t.Parallel()
			e := e.fork(t, "")
			secret := fmt.Sprintf("fs%d", i)
			e.putKV(secret, "good")
			dir := e.path("out")
			if err := os.Mkdir(dir, 0o755); err != nil {
				t.Fatal(err)
			}
			if f.setup != nil {
				f.setup(t, dir)
			}
			out, runs := filepath.Join(dir, "kv.txt"), e.path("runs")
			var extra []string
			if f.extra != "" {
				extra = append(extra, f.extra)
			}
			r := e.start(e.config(fastKV + template(kvTpl(secret), out, countingCommand(runs), extra...)))
			waitFile(t, out, 30*time.Second, func(b []byte) bool { return string(b) == "good" })
			good := stat(t, out)

			f.begin(t, dir)
			e.putKV(secret, "new")
			// rotor reads the change within a second and fails to write it.
			if !f.heals {
				r.waitLog("template render failed", 1, 20*time.Second)
			}
			hold := time.Now().Add(4 * time.Second)
			for !f.heals && time.Now().Before(hold) {
				if f.keeps && !good.same(out) {
					t.Fatal("the last good file changed during the fault")
				}
				time.Sleep(200 * time.Millisecond)
			}
			failures := strings.Count(r.out.String(), "template render failed")
			lifted := time.Now()
			f.end(t, dir)
			waitFile(t, out, 90*time.Second, func(b []byte) bool { return string(b) == "new" })
			recovery := time.Since(lifted)
			if f.heals {
				recovery = 0 // measured from the change: the next KV read
			}
			if left := tmpFiles(dir); len(left) > 0 {
				t.Errorf("temporary files left in the destination: %v", left)
			}
			r.waitLog("reload command succeeded", 2, 10*time.Second)
			if n := lines(runs); n != 2 {
				t.Errorf("the reload command ran %d times, want 2 (the first render and the recovered one)", n)
			}
			if !r.alive() {
				t.Fatal("rotor exited")
			}
			files := "last good file kept during the fault"
			if !f.keeps {
				files = "removed by the fault; re-created"
			}
			did := fmt.Sprintf("render failed %d time(s) with backoff, wrote the new content once possible, reload ran once for it", failures)
			if f.heals {
				did = fmt.Sprintf("re-created the directory at the next render (%d failed renders), reload ran once for it", failures)
			}
			report(t, result{
				scenario: f.scenario,
				did:      did,
				files:    files + "; no temporary file left",
				lost:     "0",
				recovery: secs(recovery) + " after the fault was lifted",
				requests: "-",
			})
		})
	}
}
