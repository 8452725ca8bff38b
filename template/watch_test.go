package template

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/vault/api"
	"github.com/rotorproject/rotor/auth"
	"github.com/rotorproject/rotor/internal/command"
	"github.com/rotorproject/rotor/internal/vaultclient"
	"github.com/rotorproject/rotor/internal/watch"
	"github.com/rotorproject/rotor/lease"
)

// liveRunner runs a runner, its store and a real file watcher against the
// kvVault fake until the test ends.
func liveRunner(t *testing.T, specs []Spec, o Options) (*Runner, *syncBuf) {
	t.Helper()
	srv := httptest.NewServer(kvVault())
	t.Cleanup(srv.Close)
	c, err := vaultclient.New(vaultclient.Config{Address: srv.URL}, vaultclient.Options{})
	if err != nil {
		t.Fatal(err)
	}
	store := lease.NewStore(lease.Options{Client: c, Policy: lease.Policy{Threshold: 0.9, StaticInterval: time.Hour}})
	store.SetToken(auth.NewToken(&api.Secret{Auth: &api.SecretAuth{ClientToken: "t", LeaseDuration: 3600}}, time.Now()))
	logs := &syncBuf{}
	w := watch.New(nil)
	o.Store, o.Watch = store, &countingWatcher{Watcher: w}
	o.Logger = slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	o.Env = []string{"PATH=/usr/bin:/bin"}
	r, err := New(specs, nil, o)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Add(3)
	go func() { defer wg.Done(); store.Run(ctx) }()
	go func() { defer wg.Done(); w.Run(ctx) }()
	go func() { defer wg.Done(); r.Run(ctx) }()
	t.Cleanup(func() { cancel(); wg.Wait() })
	return r, logs
}

func eventually(t *testing.T, what string, cond func() error) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		err := cond()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: %v", what, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func holds(path, want string) func() error {
	return func() error {
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		if string(b) != want {
			return errors.New("holds " + string(b))
		}
		return nil
	}
}

// A file the template reads with the file function, and the template's
// own source file, render it again when they change; a source that no
// longer parses leaves the previous version in force.
func TestInputsAndSourcesRenderAgainWhenChanged(t *testing.T) {
	dir := t.TempDir()
	in, src, out := filepath.Join(dir, "in.txt"), filepath.Join(dir, "t.tpl"), filepath.Join(dir, "out.txt")
	os.WriteFile(in, []byte("one"), 0o600)
	os.WriteFile(src, []byte(`A={{ file "`+in+`" }}`), 0o600)
	r, logs := liveRunner(t, []Spec{{Source: src, Destination: out, Perms: 0o600}}, Options{})
	eventually(t, "first render", holds(out, "A=one"))
	eventually(t, "the input and the source watched", watching(r, in, src))

	os.WriteFile(in+".tmp", []byte("two"), 0o600)
	os.Rename(in+".tmp", in) // replaced, as editors and Kubernetes do
	eventually(t, "the changed input rendered", holds(out, "A=two"))

	os.WriteFile(src, []byte(`B={{ file "`+in+`" }}`), 0o600)
	eventually(t, "the changed source rendered", holds(out, "B=two"))

	os.WriteFile(src, []byte(`C={{ file `), 0o600)
	eventually(t, "the broken source reported", func() error {
		if !strings.Contains(logs.String(), "cannot be used; the previous version stays") {
			return errors.New("not yet")
		}
		return nil
	})
	os.WriteFile(in, []byte("three"), 0o600)
	eventually(t, "the previous source still renders", holds(out, "B=three"))
}

// A destination deleted, edited or chmodded by someone else is written
// again with what rotor rendered; the reload command does not run.
func TestDriftIsRepaired(t *testing.T) {
	dir := t.TempDir()
	out, runs := filepath.Join(dir, "out.txt"), filepath.Join(dir, "runs")
	spec := Spec{Contents: `{{ with secret "kv/pw" }}{{ .Data.v }}{{ end }}`, Destination: out, Perms: 0o600,
		Command: command.Command{Shell: "echo run >> " + runs}}
	r, logs := liveRunner(t, []Spec{spec}, Options{})
	want := leakSecrets["pw"]
	eventually(t, "first render", holds(out, want))
	eventually(t, "the destination watched", watching(r, out))
	eventually(t, "the first reload", holds(runs, "run\n"))

	os.Remove(out)
	eventually(t, "deleted file written again", holds(out, want))
	os.WriteFile(out, []byte("tampered"), 0o600)
	eventually(t, "edited file written again", holds(out, want))
	os.Chmod(out, 0o644)
	eventually(t, "mode restored", func() error {
		st, err := os.Stat(out)
		if err != nil || st.Mode().Perm() != 0o600 {
			return errors.New("mode not restored")
		}
		return nil
	})
	if b, _ := os.ReadFile(runs); string(b) != "run\n" {
		t.Fatalf("drift repair ran the reload command: %q", b)
	}
	if strings.Contains(logs.String(), want) {
		t.Fatal("the secret reached the log")
	}
}

// A reload command that hangs (up to its timeout) holds up its own group
// only: another template still renders at once.
func TestHangingCommandDoesNotBlockOtherTemplates(t *testing.T) {
	dir := t.TempDir()
	slow, fast, in := filepath.Join(dir, "slow.txt"), filepath.Join(dir, "fast.txt"), filepath.Join(dir, "in.txt")
	os.WriteFile(in, []byte("1"), 0o600)
	specs := []Spec{
		{Contents: "slow", Destination: slow, Perms: 0o600, Command: command.Command{Shell: "sleep 30"}, CommandTimeout: time.Minute},
		{Contents: `{{ file "` + in + `" }}`, Destination: fast, Perms: 0o600},
	}
	r, _ := liveRunner(t, specs, Options{})
	eventually(t, "first render", holds(fast, "1"))
	eventually(t, "the input watched", watching(r, in))
	os.WriteFile(in, []byte("2"), 0o600)
	start := time.Now()
	eventually(t, "the other template rendered while the command hangs", holds(fast, "2"))
	if d := time.Since(start); d > 5*time.Second {
		t.Fatalf("rendering waited %v for another group's command", d)
	}
}

// A reload command still owed when a reload replaces the runner (it
// failed, or never ran) runs in the new runner.
func TestPendingCommandSurvivesAReload(t *testing.T) {
	dir := t.TempDir()
	out, flag, runs := filepath.Join(dir, "out.txt"), filepath.Join(dir, "ok"), filepath.Join(dir, "runs")
	spec := Spec{Contents: "x", Destination: out, Perms: 0o600,
		Command: command.Command{Shell: "echo run >> " + runs + "; test -e " + flag}}
	first, _ := liveRunnerStoppable(t, []Spec{spec}, Options{})
	eventually(t, "the failing command ran", holds(runs, "run\n"))
	pending := first.stop()
	if len(pending) != 1 {
		t.Fatalf("pending after a failed command: %q", pending)
	}
	os.WriteFile(flag, nil, 0o600)
	liveRunner(t, []Spec{spec}, Options{Inherit: func() []string { return pending }})
	// The file is unchanged (same bytes): only the inherited debt runs it.
	eventually(t, "the owed command ran in the new runner", holds(runs, "run\nrun\n"))
}

type stoppable struct {
	*Runner
	stop func() []string
}

func liveRunnerStoppable(t *testing.T, specs []Spec, o Options) (stoppable, *syncBuf) {
	srv := httptest.NewServer(kvVault())
	t.Cleanup(srv.Close)
	c, _ := vaultclient.New(vaultclient.Config{Address: srv.URL}, vaultclient.Options{})
	store := lease.NewStore(lease.Options{Client: c, Policy: lease.Policy{Threshold: 0.9, StaticInterval: time.Hour}})
	store.SetToken(auth.NewToken(&api.Secret{Auth: &api.SecretAuth{ClientToken: "t", LeaseDuration: 3600}}, time.Now()))
	logs := &syncBuf{}
	o.Store, o.Env = store, []string{"PATH=/usr/bin:/bin"}
	o.Logger = slog.New(slog.NewTextHandler(logs, nil))
	r, err := New(specs, nil, o)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { r.Run(ctx); close(done) }()
	stop := func() []string { cancel(); <-done; return r.Pending() }
	t.Cleanup(func() { cancel(); <-done })
	return stoppable{r, stop}, logs
}

// countingWatcher is a Watcher that records every Set.
type countingWatcher struct {
	Watcher
	mu   sync.Mutex
	sets [][]string      // the base names in each Set
	cur  map[string]bool // the paths of the last Set
}

func (c *countingWatcher) Set(group string, paths map[string]func()) {
	// The Watcher first: once a path is recorded here, the Watcher knows
	// its state, and a change from then on is reported.
	c.Watcher.Set(group, paths)
	c.mu.Lock()
	var ps []string
	c.cur = map[string]bool{}
	for p := range paths {
		ps = append(ps, filepath.Base(p))
		c.cur[p] = true
	}
	slices.Sort(ps)
	c.sets = append(c.sets, ps)
	c.mu.Unlock()
}

// watching reports whether the runner's Watcher watches every path: a
// change made before it does goes unnoticed (the runner gives it the
// files a render read after the render), so a test waits for it before
// changing them.
func watching(r *Runner, paths ...string) func() error {
	return func() error {
		c := r.o.Watch.(*countingWatcher)
		c.mu.Lock()
		defer c.mu.Unlock()
		for _, p := range paths {
			if !c.cur[p] {
				return fmt.Errorf("%s not watched yet", p)
			}
		}
		return nil
	}
}

func (c *countingWatcher) all() [][]string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Clone(c.sets)
}

// The Watcher is given the files templates depend on each time that set
// changes (a first write, a render reading another file), and not again
// for passes that change nothing.
func TestWatchedFilesFollowRenders(t *testing.T) {
	dir := t.TempDir()
	a, b, src, out, other := filepath.Join(dir, "a"), filepath.Join(dir, "b"), filepath.Join(dir, "t.tpl"), filepath.Join(dir, "out"), filepath.Join(dir, "other")
	os.WriteFile(a, []byte("A"), 0o600)
	os.WriteFile(b, []byte("B"), 0o600)
	os.WriteFile(src, []byte(`{{ file "`+a+`" }}`), 0o600)
	cw := &countingWatcher{Watcher: watch.New(nil)}
	specs := []Spec{{Source: src, Destination: out, Perms: 0o600}, {Contents: `{{ with secret "kv/pw" }}x{{ end }}`, Destination: other, Perms: 0o600}}
	srv := httptest.NewServer(kvVault())
	t.Cleanup(srv.Close)
	c, _ := vaultclient.New(vaultclient.Config{Address: srv.URL}, vaultclient.Options{})
	store := lease.NewStore(lease.Options{Client: c, Policy: lease.Policy{Threshold: 0.9, StaticInterval: time.Hour}})
	store.SetToken(auth.NewToken(&api.Secret{Auth: &api.SecretAuth{ClientToken: "t", LeaseDuration: 3600}}, time.Now()))
	r, err := New(specs, nil, Options{Store: store, Watch: cw})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Go(func() { store.Run(ctx) })
	wg.Go(func() { cw.Watcher.(*watch.Watcher).Run(ctx) })
	wg.Go(func() { r.Run(ctx) })
	t.Cleanup(func() { cancel(); wg.Wait() })
	eventually(t, "first render", holds(out, "A"))
	first := []string{"a", "other", "out", "t.tpl"}
	eventually(t, "the first set", func() error {
		if s := cw.all(); len(s) != 1 || !slices.Equal(s[0], first) {
			return fmt.Errorf("sets %q", s)
		}
		return nil
	})
	// A render that reads the same file: the set stays as it is.
	os.WriteFile(a, []byte("A2"), 0o600)
	eventually(t, "the input rendered again", holds(out, "A2"))
	// A render that reads another file: the set follows.
	os.WriteFile(src, []byte(`{{ file "`+b+`" }}`), 0o600)
	eventually(t, "the new source rendered", holds(out, "B"))
	eventually(t, "the new set", func() error {
		if s := cw.all(); len(s) != 2 || !slices.Equal(s[1], []string{"b", "other", "out", "t.tpl"}) {
			return fmt.Errorf("sets %q", s)
		}
		return nil
	})
}
