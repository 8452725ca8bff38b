package template

import (
	"sort"
	"time"
)

// Status describes one template for operators. Errors are already
// redacted (see tmpl.redact).
type Status struct {
	Name       string    `json:"name"` // destination, or "env NAME"
	Rendered   bool      `json:"rendered"`
	LastRender time.Time `json:"last_render,omitzero"`
	LastError  string    `json:"last_error,omitempty"`
	// ErrorClass is the last error's class (Error.Class): a vaulterr
	// class when a Vault read failed, else its Kind. ErrorLine, ErrorCol
	// and ErrorFunction locate it when text/template did.
	ErrorClass    string    `json:"error_class,omitempty"`
	ErrorLine     int       `json:"error_line,omitempty"`
	ErrorCol      int       `json:"error_col,omitempty"`
	ErrorFunction string    `json:"error_function,omitempty"`
	Failures      int       `json:"failures"`
	Secrets       []string  `json:"-"` // store keys the last render used
	Command       string    `json:"command,omitempty"`
	CommandExit   *int      `json:"command_exit,omitempty"`
	CommandAt     time.Time `json:"command_at,omitzero"`
	CommandErr    string    `json:"command_error,omitempty"`
	Renders       int       `json:"renders"`
	Errors        int       `json:"errors"`
	// Confirm is the consumer check's state (confirm {}; "" without
	// one): pending while the last publish awaits it, confirmed, or
	// unconfirmed once its timeout passed ("published, not confirmed").
	Confirm      string    `json:"confirm,omitempty"`
	ConfirmSince time.Time `json:"confirm_since,omitzero"` // the publish being confirmed
	ConfirmedAt  time.Time `json:"confirmed_at,omitzero"`
	// ConfirmSeconds is the last confirmation's delay after its publish.
	ConfirmSeconds float64 `json:"confirm_seconds,omitempty"`
	// ConfirmClass is why the consumer is not confirmed (the last
	// check's failure: old_certificate, unreachable, check_failed,
	// no_certificate, reload_pending); ConfirmErr its redacted text.
	ConfirmClass string `json:"confirm_class,omitempty"`
	ConfirmErr   string `json:"confirm_error,omitempty"`
	// ConfirmFailures counts publishes not confirmed within the timeout.
	ConfirmFailures int `json:"confirm_failures,omitempty"`
}

// Status lists every template. Safe to call from any goroutine.
func (r *Runner) Status() []Status {
	r.smu.Lock()
	defer r.smu.Unlock()
	out := make([]Status, 0, len(r.status))
	for _, t := range r.tmpls {
		if st, ok := r.status[t]; ok {
			c := *st
			out = append(out, c)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// record updates a template's status under the status lock.
func (r *Runner) record(t *tmpl, f func(*Status)) {
	r.smu.Lock()
	defer r.smu.Unlock()
	st, ok := r.status[t]
	if !ok {
		st = &Status{Name: t.name, Command: t.cfg.Command.String()}
		r.status[t] = st
	}
	f(st)
}

func (r *Runner) recordRender(t *tmpl) {
	keys := make([]string, 0, len(t.used))
	for k := range t.used {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	at := t.lastRender
	r.record(t, func(s *Status) {
		s.Rendered, s.LastRender, s.Failures, s.Secrets = true, at, 0, keys
		s.LastError, s.ErrorClass, s.ErrorLine, s.ErrorCol, s.ErrorFunction = "", "", 0, 0, ""
		s.Renders++
	})
	if r.o.OnRender != nil {
		r.o.OnRender(t.name, nil)
	}
}

func (r *Runner) recordFailure(t *tmpl, err *Error) {
	n := t.failures
	r.record(t, func(s *Status) {
		s.LastError, s.Failures = err.Error(), n
		s.ErrorClass, s.ErrorLine, s.ErrorCol, s.ErrorFunction = err.Class(), err.Line, err.Col, err.Function
		s.Errors++
	})
	if r.o.OnRender != nil {
		r.o.OnRender(t.name, err)
	}
}

func (r *Runner) recordCommand(g *group, res cmdResult, at time.Time) {
	code := res.exitCode
	errText := ""
	if res.err != nil {
		errText = res.err.Error()
		if code == 0 {
			code = -1
		}
	}
	for _, t := range g.members {
		r.record(t, func(s *Status) { s.CommandExit, s.CommandAt, s.CommandErr = &code, at, errText })
	}
	if r.o.OnCommand != nil {
		r.o.OnCommand(code)
	}
}
