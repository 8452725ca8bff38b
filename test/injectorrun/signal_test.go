//go:build unix

package injectorrun

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/rotorproject/rotor/test/harness/proc"
)

// TestReloadSignal runs a reload-signal pod as rendered: the sidecar's
// reload command, `rotor injector signal`, finds the app container's
// process by name and sends it SIGHUP when the secret changes; processes
// with similar names are left alone; at the first render, before the app
// runs, the command succeeds without signalling anything.
func TestReloadSignal(t *testing.T) {
	lab := newVaultLab(t)
	appDir := t.TempDir()
	name := fmt.Sprintf("rtapp%d", os.Getpid()%100000) // unique on this host
	app := writeApp(t, appDir, name)
	out := filepath.Join(appDir, "app.out")
	p := render(t, lab.srv, podManifest(app, out, map[string]string{"rotorproject.github.io/reload-signal": "SIGHUP"}))
	p.serviceAccount(lab.token)
	if share, _ := p.obj["spec"].(map[string]any)["shareProcessNamespace"].(bool); !share {
		t.Fatal("the pod does not share its process namespace")
	}

	// The sidecar's first render comes before the app starts (the native
	// sidecar's startup probe holds the app): nothing to signal, and no
	// failure that rotor would retry.
	p.start("rotor-agent", nil)
	waitFor(t, 30*time.Second, "the first render and its reload command", func() bool {
		return strings.Contains(p.logs["rotor-agent"].String(), "reload command succeeded")
	})
	if strings.Contains(p.logs["rotor-agent"].String(), "reload command failed") {
		t.Fatal("the reload command failed at the first render")
	}

	// The app container (its command as written: the injector leaves it
	// alone in this mode) and processes named like it.
	c := p.container("app")
	argv := p.command(c)
	appProc := startApp(t, argv, out)
	var decoys []string
	var decoyProcs []*proc.Process
	for _, dn := range []string{name + "x", "x" + name, name[:len(name)-1]} {
		dout := filepath.Join(appDir, dn+".out")
		decoyProcs = append(decoyProcs, startApp(t, []string{writeApp(t, appDir, dn), dout}, dout))
		decoys = append(decoys, dout)
	}
	pid := fmt.Sprint(appProc.Pid())

	lab.put(t, "k-2")
	waitFor(t, 30*time.Second, "the app's SIGHUP after the change", func() bool {
		return strings.Contains(readFile(out), "hup "+pid)
	})
	if !strings.Contains(readFile(p.path("/vault/secrets/config")), "api_key:k-2") {
		t.Error("the file does not hold the new value")
	}
	// The command signals every match in one pass. A SIGUSR1 sent to each
	// decoy now is a barrier: a SIGHUP it got before is handled first.
	for i, d := range decoys {
		if err := decoyProcs[i].Signal(syscall.SIGUSR1); err != nil {
			t.Fatal(err)
		}
		waitFor(t, 10*time.Second, "the barrier", func() bool { return strings.Contains(readFile(d), "usr1") })
		if strings.Contains(readFile(d), "hup") {
			t.Errorf("%s was signalled", filepath.Base(d))
		}
	}
	if n := lab.kube.Reviews(); n != 1 {
		t.Errorf("%d logins, want 1", n)
	}
}

// startApp runs the app script directly (a container the injector did not
// wrap) and waits for it to be up.
func startApp(t *testing.T, argv []string, out string) *proc.Process {
	t.Helper()
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Env = proc.CleanEnv()
	pr := proc.StartT(t, cmd)
	t.Cleanup(func() { pr.Stop(os.Interrupt, 5*time.Second) })
	waitFor(t, 10*time.Second, filepath.Base(argv[0])+" up", func() bool { return strings.Contains(readFile(out), "start ") })
	return pr
}
