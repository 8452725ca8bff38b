package agent

import (
	"context"
	"encoding/json"
	"fmt"
	"reflect"
	"strings"

	"github.com/rotorproject/rotor/agent/config"
	"github.com/rotorproject/rotor/auth"
	"github.com/rotorproject/rotor/lease"
	"github.com/rotorproject/rotor/sink"
)

// Reload applies a new configuration to the running agent (SIGHUP):
// templates added, removed or changed, a new auth method, new sinks, new
// renewal settings. Secrets are kept: templates whose secrets did not
// change render the same bytes, so nothing is rewritten, re-issued or
// reloaded. A configuration that cannot be applied is refused whole with
// the reason, and the running one continues.
func (a *Agent) Reload(cfg *config.Config) error {
	a.mu.Lock()
	old := a.cfg
	a.mu.Unlock()
	if why := needsRestart(old, cfg); len(why) > 0 {
		return fmt.Errorf("these changes need a restart: %s", strings.Join(why, "; "))
	}
	runner, err := a.newRunner(cfg)
	if err != nil {
		return err
	}
	var life *auth.Lifecycle
	var sinks []*sink.File
	authChanged := !same(authPart(old), authPart(cfg))
	sinksChanged := !same(sinkPart(old), sinkPart(cfg))
	if authChanged || sinksChanged {
		var newLife *auth.Lifecycle
		if newLife, sinks, err = a.newLifecycle(cfg, nil, a.lifecycle().Token()); err != nil {
			return err
		}
		if authChanged {
			life = newLife
		}
	}
	a.mu.Lock()
	a.cfg, a.runner = cfg, runner
	if life != nil {
		a.life = life
	}
	if sinksChanged {
		a.sinks = sinks
	}
	a.mu.Unlock()
	tc := cfg.TemplateConfig
	a.store.SetPolicy(lease.Policy{Threshold: tc.LeaseRenewalThreshold, StaticInterval: tc.StaticSecretRenderInterval})
	if runner != nil {
		a.runnerSlot.set(runner.Run)
	} else {
		a.runnerSlot.set(nil)
	}
	switch {
	case life != nil:
		a.log.Info("auth method changed: logging in with the new one", "component", "auth")
		a.lifeSlot.set(life.Run)
	case sinksChanged:
		if tok := a.lifecycle().Token(); tok != nil {
			a.writeSinks(context.Background(), tok)
		}
	}
	a.log.Info("configuration reloaded", "templates", len(cfg.Templates), "env_templates", len(cfg.EnvTemplates),
		"auth_changed", authChanged, "sinks_changed", sinksChanged)
	return nil
}

// needsRestart lists the changes a reload cannot apply.
func needsRestart(old, cfg *config.Config) []string {
	var why []string
	check := func(name string, a, b any) {
		if !same(a, b) {
			why = append(why, name)
		}
	}
	check("vault block", old.Vault, cfg.Vault)
	check("state block", old.State, cfg.State)
	check("exec block", old.Exec, cfg.Exec)
	check("listener blocks", old.Listeners, cfg.Listeners)
	check("pid_file", old.PidFile, cfg.PidFile)
	check("template_config.max_connections_per_host", old.TemplateConfig.MaxConnectionsPerHost, cfg.TemplateConfig.MaxConnectionsPerHost)
	if (old.AutoAuth == nil) != (cfg.AutoAuth == nil) {
		why = append(why, "adding or removing auto_auth")
	}
	return why
}

func authPart(c *config.Config) any {
	if c.AutoAuth == nil {
		return nil
	}
	return c.AutoAuth.Method
}

func sinkPart(c *config.Config) any {
	if c.AutoAuth == nil {
		return nil
	}
	return c.AutoAuth.Sinks
}

// same compares configuration values, ignoring where in the files they
// were written (the Range fields).
func same(a, b any) bool {
	return reflect.DeepEqual(withoutRanges(a), withoutRanges(b))
}

func withoutRanges(v any) any {
	b, err := json.Marshal(v)
	if err != nil {
		return v
	}
	var out any
	json.Unmarshal(b, &out)
	return strip(out)
}

func strip(v any) any {
	switch x := v.(type) {
	case map[string]any:
		delete(x, "Range")
		for k, e := range x {
			x[k] = strip(e)
		}
	case []any:
		for i, e := range x {
			x[i] = strip(e)
		}
	}
	return v
}
