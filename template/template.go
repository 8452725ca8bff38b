// Package template renders files from consul-template's template language.
// Secrets come from rotor's lease scheduler (package lease), files are
// written through internal/atomicfile, and templates that share a reload
// command are published as one group: all files first, then the command
// once.
package template

import (
	"errors"
	"fmt"
	"os"
	"sort"
	"strings"
	"time"

	ctemplate "github.com/hashicorp/consul-template/template"
	"github.com/rotorproject/rotor/agent/config"
	"github.com/rotorproject/rotor/internal/atomicfile"
	"github.com/rotorproject/rotor/internal/backoff"
	"github.com/rotorproject/rotor/lease"
)

// tmpl is one template block and its rendering state. Only the runner's
// goroutine touches it.
type tmpl struct {
	cfg      *config.Template
	name     string // destination, or "env NAME": how logs and status name it
	envName  string // set for env_template: the variable it renders
	ct       *ctemplate.Template
	rec      recorder
	uid, gid int

	static     []lease.Ref          // secrets it certainly asks for (prefetched)
	used       map[string]lease.Ref // secrets the last render used
	output     []byte               // last rendered content (nil before the first)
	rendered   bool                 // has been written at least once
	lastErr    error
	failures   int
	b          *backoff.Backoff
	retryAt    time.Time // when a failed render is tried again
	dueAt      time.Time // when a pending render may run (wait min/max)
	firstDue   time.Time // first change not yet rendered (wait max)
	dirty      bool
	lastRender time.Time
}

var brain = ctemplate.NewBrain()

// newTmpl parses a template block. It reads the source file and checks the
// syntax, so a broken template is reported at start with its name.
func newTmpl(c *config.Template, name string) (*tmpl, error) {
	t := &tmpl{cfg: c, name: name, b: backoff.New(250*time.Millisecond, time.Minute)}
	uid, gid, err := atomicfile.ResolveOwner(c.Owner.User, c.Owner.Group, c.Owner.UID, c.Owner.GID)
	if err != nil {
		return nil, fmt.Errorf("template %s: %w", name, err)
	}
	t.uid, t.gid = uid, gid
	in := &ctemplate.NewTemplateInput{
		Contents:      c.Contents,
		Destination:   c.Destination,
		ErrMissingKey: c.ErrorOnMissingKey,
		LeftDelim:     c.LeftDelim,
		RightDelim:    c.RightDelim,
		SandboxPath:   c.SandboxPath,
		ExtFuncMap:    t.funcMap(),
		// function_denylist: consul-template replaces each named function
		// with one that fails.
		FunctionDenylist: c.FunctionDenylist,
	}
	if c.Source != "" {
		b, err := os.ReadFile(c.Source)
		if err != nil {
			return nil, fmt.Errorf("template %s: read source: %w", name, err)
		}
		in.Contents = string(b)
	}
	if in.Contents == "" {
		in.Contents = " " // consul-template refuses empty contents; render an empty-ish file
	}
	if t.ct, err = ctemplate.NewTemplate(in); err != nil {
		return nil, fmt.Errorf("template %s: %w", name, err)
	}
	if t.static, err = staticRefs(name, in.Contents, c.LeftDelim, c.RightDelim); err != nil {
		return nil, fmt.Errorf("template %s: %s: %w", name, sourceName(c), err)
	}
	return t, nil
}

// checkSyntax executes t with no secrets: a parse error shows now.
// Execution errors are expected (nothing is fetched) and ignored.
func (t *tmpl) checkSyntax() error {
	t.rec.reset()
	if _, err := t.ct.Execute(&ctemplate.ExecuteInput{Brain: brain}); err != nil && strings.HasPrefix(err.Error(), "parse") {
		return fmt.Errorf("template %s: %s: %w", t.name, sourceName(t.cfg), err)
	}
	return nil
}

func sourceName(c *config.Template) string {
	if c.Source != "" {
		return c.Source
	}
	return "contents"
}

// result of one execution.
type result struct {
	out     []byte
	missing map[string]lease.Ref
	err     error
}

// execute renders t against what the store holds now.
func (t *tmpl) execute(store *lease.Store) result {
	t.rec.store = store
	t.rec.reset()
	res, err := t.ct.Execute(&ctemplate.ExecuteInput{Brain: brain})
	t.used = t.rec.used
	if err != nil {
		return result{missing: t.rec.missing, err: t.redact(store, err)}
	}
	return result{out: res.Output, missing: t.rec.missing}
}

// redact removes every value of every secret the template used from err:
// a template error must never print a secret (consul-template does this
// only for its own brain, which rotor bypasses).
func (t *tmpl) redact(store *lease.Store, err error) error {
	return errors.New(redactText(store, t.rec.used, err.Error()))
}

// redactText replaces every value of the given secrets in text.
func redactText(store *lease.Store, keys map[string]lease.Ref, text string) string {
	var vals []string
	for k := range keys {
		v, ok := store.Lookup(k)
		if !ok || v.Secret == nil {
			continue
		}
		collect(v.Secret.Data, &vals)
	}
	// Longest first, so a value containing another is replaced whole.
	sort.Slice(vals, func(i, j int) bool { return len(vals[i]) > len(vals[j]) })
	for _, v := range vals {
		if len(v) >= 4 {
			text = strings.ReplaceAll(text, v, "[redacted]")
		}
	}
	return text
}

func collect(v any, out *[]string) {
	switch x := v.(type) {
	case string:
		*out = append(*out, x)
	case map[string]any:
		for _, e := range x {
			collect(e, out)
		}
	case []any:
		for _, e := range x {
			collect(e, out)
		}
	default:
		if x != nil {
			*out = append(*out, fmt.Sprint(x))
		}
	}
}

// Check parses a template block as New would (source file, syntax), for
// `rotor validate`. A missing source file is reported as such.
func Check(c *config.Template) error {
	t, err := newTmpl(c, c.Destination)
	if err != nil {
		return err
	}
	return t.checkSyntax()
}
