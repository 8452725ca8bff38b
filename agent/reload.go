package agent

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/rotorproject/rotor/agent/config"
	"github.com/rotorproject/rotor/auth"
	"github.com/rotorproject/rotor/sink"
)

// Reload applies a new configuration to the running agent (SIGHUP):
// templates added, removed or changed, a new auth method, new sinks, new
// renewal settings. Secrets are kept: templates whose secrets did not
// change render the same bytes, so nothing is rewritten, re-issued or
// reloaded. A configuration that cannot be applied is refused whole with
// the reason, and the running one continues.
func (a *Agent) Reload(cfg *config.Config) error {
	cur := translate(cfg)
	if err := checkWrapped(cur); err != nil {
		return err
	}
	old := a.settings()
	if why := restartNeeded(old, cur); len(why) > 0 {
		return fmt.Errorf("these changes need a restart: %s", strings.Join(why, "; "))
	}
	// Build every new part before replacing anything: a part that cannot
	// be built refuses the reload and leaves the running agent untouched.
	runner, err := a.newRunner(cur, a.templates())
	if err != nil {
		return err
	}
	var life *auth.Lifecycle
	var sinks []*sink.File
	authChanged := !old.auth.equal(cur.auth)
	sinksChanged := !slices.Equal(old.sinks, cur.sinks)
	if sinksChanged && cur.auth != nil && cur.auth.wrapTTL > 0 {
		// A wrapped login's wrap info is for one reader and rotor keeps no
		// token: a changed sink gets a new wrapped login.
		authChanged = true
	}
	if authChanged || sinksChanged {
		var newLife *auth.Lifecycle
		if newLife, sinks, err = a.newLifecycle(cur, nil, a.lifecycle().Token()); err != nil {
			return err
		}
		if authChanged {
			life = newLife
		}
	}
	a.mu.Lock()
	a.set, a.runner = cur, runner
	if life != nil {
		a.life = life
	}
	if sinksChanged {
		a.sinks = sinks
	}
	a.mu.Unlock()
	a.store.SetPolicy(cur.policy)
	if runner != nil {
		a.runnerSlot.set(runner.Run)
	} else {
		a.runnerSlot.set(nil)
	}
	switch {
	case life != nil:
		a.log.Info("auth method changed: logging in with the new one", "component", "auth")
		a.lifeSlot.set(life.Run)
		a.watchCredentials()
	case sinksChanged:
		if tok := a.lifecycle().Token(); tok != nil {
			a.writeSinks(context.Background(), tok)
		}
	}
	a.log.Info("configuration reloaded", "templates", len(cur.templates), "env_templates", len(cur.envs),
		"auth_changed", authChanged, "sinks_changed", sinksChanged)
	return nil
}

// LogLevel is the configuration's log_level ("" when unset), for the
// command line to apply after a reload.
func (a *Agent) LogLevel() string { return a.settings().logLevel }
