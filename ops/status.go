// Package ops is rotor's local API for operators: health, readiness,
// status and Prometheus metrics, served on the configured listeners.
package ops

import (
	"time"

	"github.com/rotorproject/rotor/lease"
	"github.com/rotorproject/rotor/template"
)

// Status is everything rotor holds, without any secret: GET /v1/status.
type Status struct {
	Authenticated bool              `json:"authenticated"`
	Token         *TokenStatus      `json:"token,omitempty"`
	Ready         bool              `json:"ready"`
	Leases        []lease.Status    `json:"leases"`
	Templates     []template.Status `json:"templates"`
}

// TokenStatus describes the token by its accessor; the token itself is
// never shown.
type TokenStatus struct {
	Accessor   string    `json:"accessor"`
	Renewable  bool      `json:"renewable"`
	Expires    time.Time `json:"expires,omitzero"`
	TTLSeconds int64     `json:"ttl_seconds"`
}

// Source is what the API reports on and acts on (the agent).
type Source interface {
	Status() Status
	// Rotate forces new secrets (all, or those whose key contains match)
	// and returns how many were scheduled.
	Rotate(match string) int
}

// NotReady explains why each template is not ready (empty when all are).
func (s Status) NotReady() map[string]string {
	out := map[string]string{}
	if !s.Authenticated {
		out["auth"] = "not authenticated yet"
	}
	for _, t := range s.Templates {
		if t.Rendered {
			continue
		}
		why := "not rendered yet"
		if t.LastError != "" {
			why = t.LastError
		}
		out[t.Name] = why
	}
	return out
}
