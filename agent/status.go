package agent

import (
	"time"

	"github.com/rotorproject/rotor/ops"
)

// Status reports what rotor holds, for the local API and metrics. It
// never includes a secret: the token is named by its accessor.
func (a *Agent) Status() ops.Status {
	st := ops.Status{Leases: a.store.Status(), Held: a.store.Held()}
	if tok := a.lifecycle().Token(); tok != nil {
		// A token Vault rejected is no token: /readyz says not ready
		// until the new login.
		st.Authenticated = (tok.Expires.IsZero() || time.Now().Before(tok.Expires)) && !a.lifecycle().Rejected()
		ts := &ops.TokenStatus{Accessor: tok.Accessor, Renewable: tok.Renewable, Expires: tok.Expires}
		if !tok.Expires.IsZero() {
			ts.TTLSeconds = int64(time.Until(tok.Expires).Seconds())
		}
		st.Token = ts
	}
	if r := a.templates(); r != nil {
		st.Templates = r.Status()
	}
	st.Ready = len(st.NotReady()) == 0
	return st
}

// closeServers releases listeners bound by New when New fails later.
func (a *Agent) closeServers() {
	for _, s := range a.servers {
		s.Close()
	}
}

// ListenAddrs are the local API's bound addresses.
func (a *Agent) ListenAddrs() []string {
	out := make([]string, len(a.servers))
	for i, s := range a.servers {
		out[i] = s.Addr()
	}
	return out
}

// Status is what rotor holds, without any secret (the local API's status).
type Status = ops.Status
