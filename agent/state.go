package agent

import (
	"context"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/rotorproject/rotor/auth"
	"github.com/rotorproject/rotor/internal/state"
	"github.com/rotorproject/rotor/lease"
	"github.com/rotorproject/rotor/proxy"
)

// snapshot is the state file's content.
type snapshot struct {
	SavedAt time.Time
	Token   auth.Saved
	Secrets lease.SavedSecrets
	// Cache is the API proxy's cache: a restarted sidecar hands its app
	// the same lease.
	Cache []proxy.Entry `json:",omitempty"`
}

// saveDelay gathers bursts of updates into one write of the state file.
const saveDelay = 500 * time.Millisecond

// openState opens the state file and loads what a previous run left. A
// missing, corrupt, foreign or expired file is reported and ignored:
// rotor then starts fresh. It fails only when the state cannot be used
// at all (no key, unwritable directory).
func (a *Agent) openState(s *stateSettings) (*snapshot, error) {
	key, err := state.KeyMaterial(s.keyFile, s.keyEnv, s.kubernetesSAToken, os.LookupEnv)
	if err != nil {
		return nil, err
	}
	f, err := state.Open(s.dir, key, s.bind)
	if err != nil {
		return nil, err
	}
	a.state = f
	log := a.log.With("component", "state")
	var snap snapshot
	switch err := f.Load(&snap); {
	case errors.Is(err, state.ErrNone):
		log.Info("no state file yet; starting fresh", "path", f.Path())
		return nil, nil
	case errors.Is(err, state.ErrOldFormat):
		log.Warn("state file format v1 is no longer read; starting fresh", "path", f.Path())
		return nil, nil
	case err != nil && s.exitOnErr:
		return nil, fmt.Errorf("state file %s cannot be restored (cache persist exit_on_err): %w", f.Path(), err)
	case err != nil:
		log.Warn("state file ignored; starting fresh", "path", f.Path(), "reason", err)
		return nil, nil
	case snap.Token.Value == "":
		log.Warn("state file ignored: it holds no token", "path", f.Path())
		return nil, nil
	case snap.Secrets.Check() != nil:
		log.Warn("state file ignored; starting fresh", "path", f.Path(), "reason", snap.Secrets.Check())
		return nil, nil
	}
	log.Info("state file loaded", "path", f.Path(), "key", key.String(), "saved", snap.SavedAt, "secrets", len(snap.Secrets.Secrets), "accessor", snap.Token.Accessor)
	return &snap, nil
}

// stateChanged asks for the state file to be saved soon. Never blocks.
func (a *Agent) stateChanged() {
	if a.state == nil {
		return
	}
	select {
	case a.saveCh <- struct{}{}:
	default:
	}
}

// runSaver writes the state file after changes, at most every saveDelay,
// until ctx is done.
func (a *Agent) runSaver(ctx context.Context) error {
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-a.saveCh:
		}
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(saveDelay):
		}
		a.saveState()
	}
}

func (a *Agent) saveState() {
	tok := a.lifecycle().Token()
	if a.state == nil || tok == nil {
		return
	}
	snap := snapshot{SavedAt: time.Now(), Token: tok.Save(), Secrets: lease.SavedSecrets{Secrets: a.store.Snapshot()}}
	if a.cache != nil {
		snap.Cache = a.cache.Snapshot()
	}
	if err := a.state.Save(snap); err != nil {
		a.log.Warn("could not save the state file", "component", "state", "error", err)
	}
}
