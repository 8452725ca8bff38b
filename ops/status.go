// Package ops is rotor's local API for operators: health, readiness,
// status and Prometheus metrics, served on the configured listeners.
package ops

import (
	"time"

	"github.com/rotorproject/rotor/lease"
	"github.com/rotorproject/rotor/template"
)

// Status is everything rotor holds, without any secret value. It is what
// the agent reports (Source) and what metrics read; the API serves its
// View, which replaces error text with error classes.
type Status struct {
	Authenticated bool              `json:"authenticated"`
	Token         *TokenStatus      `json:"token,omitempty"`
	Ready         bool              `json:"ready"`
	Leases        []lease.Status    `json:"leases"`
	Templates     []template.Status `json:"templates"`
	// Held are superseded leases kept alive until their consumers are
	// confirmed on the new ones (template confirm {}).
	Held []lease.HeldStatus `json:"held_leases,omitempty"`
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

// NotReady says, by error class, why each template is not ready ("auth"
// when rotor is not authenticated); it is empty when all are ready.
func (s Status) NotReady() map[string]ErrorInfo {
	out := map[string]ErrorInfo{}
	if !s.Authenticated {
		out["auth"] = ErrorInfo{Class: ClassNotAuthenticated}
	}
	for _, t := range s.Templates {
		if !t.Rendered {
			out[t.Name] = templateReason(t)
		}
	}
	return out
}

// Degraded names the secrets rotor fails to renew or fetch again right
// now, by path, with the failure's class, and the templates whose
// consumers were not confirmed on their last publish within the timeout
// (class unconfirmed, with the check's reason). rotor is still ready while they
// are valid (the files hold working credentials, and taking the pod out of
// service would not help): /readyz answers 200 and lists them, so a
// dashboard or a probe that wants to can tell.
func (s Status) Degraded() map[string]ErrorInfo {
	out := map[string]ErrorInfo{}
	for _, l := range s.Leases {
		if e := leaseError(l); e != nil {
			out[l.Path] = *e
		}
	}
	for _, t := range s.Templates {
		if e := unconfirmed(t); e != nil {
			out[t.Name] = *e
		}
	}
	return out
}

// templateReason is why t is not rendered: its last error's class, or
// not_rendered when it has not failed.
func templateReason(t template.Status) ErrorInfo {
	if e := templateError(t); e != nil {
		return *e
	}
	return ErrorInfo{Class: ClassNotRendered}
}

// StatusView is GET /agent/v1/status: Status with every error replaced by an
// ErrorInfo. Fields are copied one by one, so a field added to
// lease.Status or template.Status is not served until it is added here.
type StatusView struct {
	Authenticated bool           `json:"authenticated"`
	Token         *TokenStatus   `json:"token,omitempty"`
	Ready         bool           `json:"ready"`
	Leases        []LeaseView    `json:"leases"`
	Templates     []TemplateView `json:"templates"`
	// HeldLeases are superseded leases kept alive for unconfirmed
	// consumers.
	HeldLeases []lease.HeldStatus `json:"held_leases,omitempty"`
}

// LeaseView is one secret in StatusView.
type LeaseView struct {
	Path       string    `json:"path"`
	Engine     string    `json:"engine"`
	Class      string    `json:"class"` // lease, static, ... (not an error class)
	LeaseID    string    `json:"lease_id,omitempty"`
	Renewable  bool      `json:"renewable"`
	Expires    time.Time `json:"expires,omitzero"`
	NextAction string    `json:"next_action"`
	NextAt     time.Time `json:"next_at"`
	// TokenBound: the lease ends with the token that owns it (Expires is
	// that token's death), and a new one is fetched before.
	TokenBound bool `json:"token_bound,omitempty"`
	// Error is the last failure's class, which also says how the
	// scheduler retries it (vault_unavailable within seconds,
	// vault_denied every few minutes, bad_token after the next login).
	Error *ErrorInfo `json:"error,omitempty"`
}

// TemplateView is one template in StatusView.
type TemplateView struct {
	Name         string     `json:"name"`
	Rendered     bool       `json:"rendered"`
	LastRender   time.Time  `json:"last_render,omitzero"`
	Error        *ErrorInfo `json:"error,omitempty"`
	Failures     int        `json:"failures"`
	Command      string     `json:"command,omitempty"`
	CommandExit  *int       `json:"command_exit,omitempty"`
	CommandAt    time.Time  `json:"command_at,omitzero"`
	CommandError *ErrorInfo `json:"command_error,omitempty"`
	Renders      int        `json:"renders"`
	Errors       int        `json:"errors"`
	// Confirm is the consumer check's state: pending, confirmed, or
	// unconfirmed (published, not confirmed within the timeout).
	Confirm         string    `json:"confirm,omitempty"`
	ConfirmSince    time.Time `json:"confirm_since,omitzero"`
	ConfirmedAt     time.Time `json:"confirmed_at,omitzero"`
	ConfirmSeconds  float64   `json:"confirm_seconds,omitempty"`
	ConfirmReason   string    `json:"confirm_reason,omitempty"` // the last check's failure class
	ConfirmFailures int       `json:"confirm_failures,omitempty"`
}

// View is s as the API serves it.
func (s Status) View() StatusView {
	v := StatusView{Authenticated: s.Authenticated, Token: s.Token, Ready: s.Ready, HeldLeases: s.Held,
		Leases: make([]LeaseView, 0, len(s.Leases)), Templates: make([]TemplateView, 0, len(s.Templates))}
	for _, l := range s.Leases {
		v.Leases = append(v.Leases, LeaseView{Path: l.Path, Engine: l.Engine, Class: l.Class, LeaseID: l.LeaseID,
			Renewable: l.Renewable, Expires: l.Expires, NextAction: l.NextAction, NextAt: l.NextAt,
			TokenBound: l.TokenBound, Error: leaseError(l)})
	}
	for _, t := range s.Templates {
		tv := TemplateView{Name: t.Name, Rendered: t.Rendered, LastRender: t.LastRender, Error: templateError(t),
			Failures: t.Failures, Command: t.Command, CommandExit: t.CommandExit, CommandAt: t.CommandAt,
			Renders: t.Renders, Errors: t.Errors, Confirm: t.Confirm, ConfirmSince: t.ConfirmSince, ConfirmedAt: t.ConfirmedAt,
			ConfirmSeconds: t.ConfirmSeconds, ConfirmReason: t.ConfirmClass, ConfirmFailures: t.ConfirmFailures}
		if commandFailed(t) {
			tv.CommandError = &ErrorInfo{Class: ClassCommandFailed}
		}
		v.Templates = append(v.Templates, tv)
	}
	return v
}

// ConfirmText is the consumer check as `rotor status` shows it:
// "published, not confirmed (old_certificate)", "confirming (...)", or
// nothing once confirmed or without a confirm block.
func (t TemplateView) ConfirmText() string {
	var s string
	switch t.Confirm {
	case template.ConfirmUnconfirmed:
		s = "published, not confirmed"
	case template.ConfirmPending:
		s = "confirming"
	default:
		return ""
	}
	if t.ConfirmReason != "" {
		s += " (" + t.ConfirmReason + ")"
	}
	return s
}
