package injector

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"os"
	"time"

	"github.com/rotorproject/rotor/internal/atomicfile"
)

// RestartOptions are those of `rotor injector restart`, the reload command
// the sidecar's file templates get with the restart-on-change annotation.
type RestartOptions struct {
	// Files are the templates' destinations.
	Files []string
	// StateFile remembers, across runs of the command, what the files held
	// and for which rotor process (in the sidecar's home, an emptyDir).
	StateFile string
	// Parent identifies the rotor process that runs the command (its pid
	// and start time): a new process starts a new first render.
	Parent string
	// Debounce is how long to wait before restarting, so that a burst of
	// changes makes one restart; up to half as much again is added at
	// random, so that replicas that saw the same change do not patch at
	// the same instant.
	Debounce time.Duration
	// Pod and Namespace name the pod the sidecar runs in.
	Pod, Namespace string
	// Cluster is how to reach the API server.
	Cluster InCluster
	// Now and Sleep are the clock (tests replace them).
	Now   func() time.Time
	Sleep func(context.Context, time.Duration) error
}

// restartState is the state file: for one rotor process, an HMAC-SHA256
// of each file's content as last seen, keyed by the file's path. The HMAC
// key is random per state and stored beside the digests, so it only keeps
// the digests from matching those of another pod or a precomputed table:
// whoever can read this file can still test guesses of a low-entropy
// secret. What protects it is its mode (0600, in the sidecar's home), the
// same protection as the rendered files it describes.
type restartState struct {
	Parent  string            `json:"parent"`
	Key     string            `json:"key"`
	Files   map[string]string `json:"files"`
	Pending bool              `json:"pending"` // a change not yet followed by a restart
}

// Restart is the command's body. Each run records what the files hold.
// A file that held something else at the previous run of the same rotor
// process has changed: the pod's workload is then restarted after the
// debounce. A file seen for the first time (this process's first render of
// it) never causes a restart, so a new pod, whose first render writes every
// file, cannot restart its workload - no restart loop. A restart that
// failed stays pending and is tried again at the next run (rotor retries a
// failed command with backoff). It returns what it did, for the log.
func Restart(ctx context.Context, o RestartOptions) (string, error) {
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Sleep == nil {
		o.Sleep = sleepCtx
	}
	st, err := loadRestartState(o.StateFile, o.Parent)
	if err != nil {
		return "", err
	}
	key, err := hex.DecodeString(st.Key)
	if err != nil {
		return "", fmt.Errorf("%s: %w", o.StateFile, err)
	}
	changed := 0
	for _, f := range o.Files {
		b, err := os.ReadFile(f)
		if errors.Is(err, os.ErrNotExist) {
			continue // not rendered yet
		}
		if err != nil {
			return "", err
		}
		m := hmac.New(sha256.New, key)
		m.Write(b)
		sum := hex.EncodeToString(m.Sum(nil))
		if prev, ok := st.Files[f]; ok && prev != sum {
			changed++
		}
		st.Files[f] = sum
	}
	st.Pending = st.Pending || changed > 0
	if err := saveRestartState(o.StateFile, st); err != nil {
		return "", err
	}
	if !st.Pending {
		return fmt.Sprintf("no file changed since this rotor process last rendered it (%d recorded): no restart", len(st.Files)), nil
	}
	wait := o.Debounce
	if o.Debounce > 0 {
		n, _ := rand.Int(rand.Reader, big.NewInt(int64(o.Debounce/2)+1))
		wait += time.Duration(n.Int64())
	}
	if err := o.Sleep(ctx, wait); err != nil {
		return "", err
	}
	k, err := newKubeClient(o.Cluster)
	if err != nil {
		return "", err
	}
	w, created, err := k.owner(ctx, o.Namespace, o.Pod)
	if err != nil {
		return "", err
	}
	done, why, err := k.restart(ctx, w, created, o.Now())
	if err != nil {
		return "", err
	}
	st.Pending = false
	if err := saveRestartState(o.StateFile, st); err != nil {
		return "", err
	}
	if !done {
		return "not restarted: " + why, nil
	}
	return fmt.Sprintf("restarted %s in namespace %s (%d file(s) changed)", w, w.Namespace, changed), nil
}

// loadRestartState reads the state, or starts a new one when there is
// none or it belongs to another rotor process.
func loadRestartState(path, parent string) (*restartState, error) {
	var st restartState
	b, err := os.ReadFile(path)
	switch {
	case errors.Is(err, os.ErrNotExist):
	case err != nil:
		return nil, err
	default:
		if err := json.Unmarshal(b, &st); err != nil {
			// A damaged state must not restart anything: start afresh.
			st = restartState{}
		}
	}
	if st.Parent != parent || st.Key == "" || st.Files == nil {
		key := make([]byte, 32)
		if _, err := rand.Read(key); err != nil {
			return nil, err
		}
		st = restartState{Parent: parent, Key: hex.EncodeToString(key), Files: map[string]string{}}
	}
	return &st, nil
}

func saveRestartState(path string, st *restartState) error {
	b, err := json.Marshal(st)
	if err != nil {
		return err
	}
	_, err = atomicfile.Write(path, b, atomicfile.Options{Mode: 0o600})
	return err
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
