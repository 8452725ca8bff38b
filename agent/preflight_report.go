package agent

import (
	"fmt"
	"io"
	"strings"
)

// Verdicts of rotor validate -online: a part's Status, and each Problem's.
const (
	statusOK            = "ok"
	statusDenied        = "denied"         // the token may not use a path
	statusMissingSecret = "missing_secret" // Vault has nothing at a path (404)
	statusMissingKey    = "missing_key"    // error_on_missing_key: a key a real secret lacks
	statusTemplateError = "template_error" // the template does not parse or fails to execute
	statusUnavailable   = "unavailable"    // Vault did not answer: not checked
	statusVaultError    = "vault_error"    // Vault refused the request otherwise
	statusUncertain     = "uncertain"      // failed only with placeholder values: not a failure
	statusNotWritable   = "not_writable"   // a sink's or destination's directory
	statusNotFound      = "not_found"      // a command not on PATH
)

// Report is what rotor validate -online found; its JSON form is the
// -format json output (documented in docs/operations.md).
type Report struct {
	// OK is true when nothing would fail (exit code 0).
	OK bool `json:"ok"`
	// Vault is the address checked against (credentials removed).
	Vault string `json:"vault"`
	// Auth says how the token was had: "approle at auth/approle", "token
	// from -token", ...
	Auth string `json:"auth"`
	// TokenRevoked says the token rotor logged in for was revoked; a
	// token rotor did not create (-token, VAULT_TOKEN, token_file) never is.
	TokenRevoked bool `json:"token_revoked"`
	// Parts are the templates, then the env templates, the sinks and the
	// exec command, each kind in the configuration's order.
	Parts []Part `json:"parts"`
	// Notes say what the whole check could not cover.
	Notes []string `json:"notes,omitempty"`
	// ConfigProblems are the offline checks' problems (the templates that
	// do not parse): Vault is then not asked.
	ConfigProblems []string `json:"config_problems,omitempty"`
	// Error says why nothing could be checked (exit code 2): the login
	// failed, or Vault did not answer.
	Error string `json:"error,omitempty"`
}

// Part is one checked block of the configuration.
type Part struct {
	// Kind is "template", "env_template", "sink" or "exec".
	Kind string `json:"kind"`
	// Name is the template's destination, the variable's name, the sink's
	// path or the command.
	Name string `json:"name"`
	// Position is the block's file:line:col in the configuration.
	Position string `json:"position"`
	// Status is "ok" or the first problem's status.
	Status   string    `json:"status"`
	Problems []Problem `json:"problems,omitempty"`
	// NotChecked lists what a dry run cannot know (placeholder secrets,
	// plugin calls).
	NotChecked []string `json:"not_checked,omitempty"`
	// Warnings are findings that do not fail (a key that renders as
	// "<no value>", an error seen only with placeholder values).
	Warnings []string `json:"warnings,omitempty"`
}

// Problem is one reason a part would fail.
type Problem struct {
	Status string `json:"status"`
	// Path is the Vault path concerned (as Vault is asked it: KV v2 under
	// data/), or the local directory or command.
	Path string `json:"path,omitempty"`
	// Capability is the capability the token lacks at Path (denied).
	Capability string `json:"capability,omitempty"`
	// Key is the missing key (missing_key).
	Key string `json:"key,omitempty"`
	// Line and Col locate a template error in the template's text.
	Line    int    `json:"line,omitempty"`
	Col     int    `json:"col,omitempty"`
	Message string `json:"message"`
}

// failing reports whether the part would fail.
func (p *Part) failing() bool {
	return p.Status != statusOK && p.Status != statusUnavailable && p.Status != statusUncertain
}

// add records a problem; the part's status is its first problem's.
func (p *Part) add(pr Problem) {
	p.Problems = append(p.Problems, pr)
	if p.Status == statusOK || p.Status == "" || (p.Status == statusUnavailable && pr.Status != statusUnavailable) {
		p.Status = pr.Status
	}
}

// Failing counts the parts that would fail.
func (r *Report) Failing() int {
	n := 0
	for i := range r.Parts {
		if r.Parts[i].failing() {
			n++
		}
	}
	return n
}

// Unchecked counts the parts that could not be checked (Vault did not
// answer).
func (r *Report) Unchecked() int {
	n := 0
	for _, p := range r.Parts {
		if p.Status == statusUnavailable {
			n++
		}
	}
	return n
}

// WriteText writes the report for a terminal: one line per part, its
// problems, what was not checked, and a summary.
func (r *Report) WriteText(w io.Writer) {
	revoked := "not revoked: rotor did not create it"
	if r.TokenRevoked {
		revoked = "revoked"
	}
	fmt.Fprintf(w, "vault %s, token from %s (%s)\n", r.Vault, r.Auth, revoked)
	for _, p := range r.Parts {
		label := "ok  "
		switch {
		case p.failing():
			label = "FAIL"
		case p.Status != statusOK:
			label = "??  "
		}
		fmt.Fprintf(w, "%s %s %s (%s)", label, p.Kind, p.Name, p.Position)
		if p.Status != statusOK {
			fmt.Fprintf(w, ": %s", p.Status)
		}
		fmt.Fprintln(w)
		for _, pr := range p.Problems {
			at := ""
			if pr.Line > 0 {
				at = fmt.Sprintf("line %d:%d: ", pr.Line, pr.Col)
			}
			fmt.Fprintf(w, "       %s: %s%s\n", pr.Status, at, pr.Message)
		}
		for _, s := range p.Warnings {
			fmt.Fprintf(w, "       warning: %s\n", s)
		}
		for _, s := range p.NotChecked {
			fmt.Fprintf(w, "       not checked: %s\n", s)
		}
	}
	for _, n := range r.Notes {
		fmt.Fprintf(w, "note: %s\n", n)
	}
	switch f, u := r.Failing(), r.Unchecked(); {
	case f > 0:
		fmt.Fprintf(w, "%d of %d would fail\n", f, len(r.Parts))
	case u > 0:
		fmt.Fprintf(w, "%d of %d could not be checked: Vault did not answer\n", u, len(r.Parts))
	default:
		fmt.Fprintf(w, "all %d checked parts would work%s\n", len(r.Parts), notCheckedSuffix(r))
	}
}

func notCheckedSuffix(r *Report) string {
	for _, p := range r.Parts {
		if len(p.NotChecked) > 0 {
			return " (see \"not checked\")"
		}
	}
	return ""
}

// oneLine keeps a message on one line of the report.
func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }
