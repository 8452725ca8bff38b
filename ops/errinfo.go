package ops

import (
	"fmt"

	"github.com/rotorproject/rotor/internal/vaulterr"
	"github.com/rotorproject/rotor/lease"
	"github.com/rotorproject/rotor/template"
)

// The local API reports error classes instead of error text. Error text
// can carry a secret that redaction missed (a password echoed in a Vault
// error, a value printed by a template function); a class cannot. The
// full text stays in rotor's log.
//
// The classes are not found here: each travels with its error by type,
// from vaulterr (what Vault answered: vault_denied, secret_not_found,
// vault_unavailable, ...) and template (the step that failed:
// template_parse, template_execute, publish_failed, command_failed), and
// lease.Status and template.Status carry it. ops only adds the states
// that are no error.
const (
	// ClassNotRendered: the template has not rendered yet and has not failed.
	ClassNotRendered = "not_rendered"
	// ClassNotAuthenticated: rotor holds no valid Vault token yet (the
	// name of vaulterr.NoToken).
	ClassNotAuthenticated = "not_authenticated"
	// ClassCommandFailed: the reload command failed or timed out (the
	// name of template.KindCommand).
	ClassCommandFailed = "command_failed"
	// ClassUnconfirmed: the template's consumer was not confirmed on its
	// last publish within the confirm block's timeout (the name of
	// template.ConfirmUnconfirmed); Reason says why.
	ClassUnconfirmed = "unconfirmed"
	// ClassUnknown: a failure that carries no class. It carries no detail
	// either.
	ClassUnknown = "error"
)

// ErrorInfo describes a failure without its text: a class and, for
// template errors, where in the template it happened when text/template
// said so (Function is always a known template function's name).
type ErrorInfo struct {
	Class    string `json:"class"`
	Line     int    `json:"line,omitempty"`
	Col      int    `json:"col,omitempty"`
	Function string `json:"function,omitempty"`
	// Reason is an unconfirmed template's check failure class
	// (old_certificate, unreachable, check_failed, no_certificate,
	// reload_pending).
	Reason string `json:"reason,omitempty"`
}

// String is the short human form used by `rotor status`, e.g.
// "template_execute at 3:14 in toJSON".
func (e ErrorInfo) String() string {
	s := e.Class
	switch {
	case e.Line > 0 && e.Col > 0:
		s += fmt.Sprintf(" at %d:%d", e.Line, e.Col)
	case e.Line > 0:
		s += fmt.Sprintf(" at line %d", e.Line)
	}
	if e.Function != "" {
		s += " in " + e.Function
	}
	if e.Reason != "" {
		s += " (" + e.Reason + ")"
	}
	return s
}

// leaseError is l's last error as the API shows it; nil when it has none.
func leaseError(l lease.Status) *ErrorInfo {
	if l.LastError == "" {
		return nil
	}
	return &ErrorInfo{Class: orUnknown(l.ErrorClass)}
}

// templateError is t's last render error as the API shows it; nil when it
// has none.
func templateError(t template.Status) *ErrorInfo {
	if t.LastError == "" {
		return nil
	}
	return &ErrorInfo{Class: orUnknown(t.ErrorClass), Line: t.ErrorLine, Col: t.ErrorCol, Function: t.ErrorFunction}
}

// commandFailed reports whether t's last reload command failed: it did
// not run, timed out, or exited non-zero. Its status is in CommandExit,
// its text stays in the log.
func commandFailed(t template.Status) bool {
	return t.CommandErr != "" || (t.CommandExit != nil && *t.CommandExit != 0)
}

// unconfirmed is t's consumer check as readiness shows it: nil unless
// its last publish went unconfirmed past the timeout.
func unconfirmed(t template.Status) *ErrorInfo {
	if t.Confirm != template.ConfirmUnconfirmed {
		return nil
	}
	return &ErrorInfo{Class: ClassUnconfirmed, Reason: t.ConfirmClass}
}

func orUnknown(class string) string {
	if class == "" || class == vaulterr.None.String() {
		return ClassUnknown
	}
	return class
}
