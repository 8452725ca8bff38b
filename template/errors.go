package template

import (
	"errors"
	"strconv"
	"strings"
	ttemplate "text/template"

	"github.com/rotorproject/rotor/internal/vaulterr"
)

// Kind is the step of a template's life that failed.
type Kind int

// Kinds, in the order a template goes through them.
const (
	// KindParse: the template's text does not parse (syntax, an unknown
	// function, a wrong argument count).
	KindParse Kind = iota + 1
	// KindExecute: the template could not be rendered: a function failed,
	// a key is missing (error_on_missing_key), the output is too large, or
	// a secret it reads could not be fetched (then the Vault class shows).
	KindExecute
	// KindPublish: rendered, but not written: a file error, or a
	// certificate and key that do not match.
	KindPublish
	// KindCommand: the reload command failed or timed out.
	KindCommand
)

// String names the kind as status, metrics and logs show it.
func (k Kind) String() string {
	switch k {
	case KindParse:
		return "template_parse"
	case KindExecute:
		return "template_execute"
	case KindPublish:
		return "publish_failed"
	case KindCommand:
		return "command_failed"
	}
	return "error"
}

// Error is a failed template step. Its class travels with it (Class):
// a render that failed because a Vault read failed keeps that read's
// vaulterr class, however its text is wrapped or redacted. Line, Col and
// Function locate a parse or execution error when text/template located
// it; Function is only ever the name of a known template function.
type Error struct {
	Kind      Kind
	Line, Col int
	Function  string
	Err       error
}

func (e *Error) Error() string { return e.Err.Error() }
func (e *Error) Unwrap() error { return e.Err }

// Class is what status, metrics and logs show for e: the class of the
// Vault failure behind it if there is one, else its kind.
func (e *Error) Class() string {
	if c, ok := vaulterr.Find(e.Err); ok && c != vaulterr.None {
		return c.String()
	}
	return e.Kind.String()
}

// asError returns err as an *Error of kind k, located: err itself when it
// is one already (a parse error keeps its kind when it fails a reload).
func asError(k Kind, err error) *Error {
	var e *Error
	if errors.As(err, &e) {
		return e
	}
	e = &Error{Kind: k, Err: err}
	var xe ttemplate.ExecError
	if errors.As(err, &xe) {
		// text/template's execution error, by its type: its text starts
		// with the position it states, "template: NAME:3:14: executing",
		// and names a failed function call "error calling NAME:".
		e.Line, e.Col = position(xe.Error(), xe.Name, true)
		e.Function = calledFunction(xe.Error())
	}
	return e
}

// ctExecError is an execution error of consul-template's Execute, which
// rebuilds text/template's error from its text (to redact it), so the
// ExecError type is gone: it is an execution error by where it comes
// from, and is located as asError locates an ExecError, from the text
// consul-template kept ("execute: template: :3:14: executing ...", the
// template being named "" as rotor names its own).
func ctExecError(err error) *Error {
	e := &Error{Kind: KindExecute, Err: err}
	text := strings.TrimPrefix(err.Error(), "execute: ")
	if e.Line, e.Col = position(text, "", true); e.Line > 0 {
		e.Function = calledFunction(text)
	}
	return e
}

// parseError is a parse error of the template named name, located by the
// position text/template's parser states ("template: NAME:3: ...").
func parseError(name string, err error) *Error {
	e := &Error{Kind: KindParse, Err: err}
	e.Line, _ = position(err.Error(), name, false)
	return e
}

// position reads the line (and, withCol, the column) text/template puts
// after "template: NAME:" in its errors; zero when they are not there.
// Only digits are taken from the text.
func position(text, name string, withCol bool) (line, col int) {
	rest, ok := strings.CutPrefix(text, "template: "+name+":")
	if !ok {
		return 0, 0
	}
	line, rest = number(rest)
	if withCol && line > 0 {
		if col, rest = number(rest); col == 0 {
			return 0, 0
		}
	}
	if line == 0 || !strings.HasPrefix(rest, " ") {
		return 0, 0
	}
	return line, col
}

// number reads "DIGITS:" from the start of s.
func number(s string) (int, string) {
	digits, rest, ok := strings.Cut(s, ":")
	if !ok || len(digits) == 0 || len(digits) > 6 {
		return 0, s
	}
	n, err := strconv.Atoi(digits)
	if err != nil || n <= 0 {
		return 0, s
	}
	return n, rest
}

// calledFunction is the function text/template says failed ("error
// calling NAME: ..."), if NAME is one of the template language's: the
// text around it is free-form, so nothing else of it is copied.
func calledFunction(text string) string {
	_, rest, ok := strings.Cut(text, "error calling ")
	if !ok {
		return ""
	}
	name, _, ok := strings.Cut(rest, ":")
	if !ok {
		return ""
	}
	if _, known := parseFuncs()[name]; known {
		return name
	}
	if _, known := builtinFuncs()[name]; known {
		return name
	}
	return ""
}
