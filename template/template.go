// Package template renders files from consul-template's template language.
// Secrets come from rotor's lease scheduler (package lease), files are
// written through internal/atomicfile, and templates that share a reload
// command are published as one group: all files first, then the command
// once.
package template

import (
	"fmt"
	ttemplate "text/template"
	"time"

	ctemplate "github.com/hashicorp/consul-template/template"
	"github.com/rotorproject/rotor/internal/backoff"
	"github.com/rotorproject/rotor/lease"
	"github.com/ryanuber/go-glob"
)

// tmpl is one template block and its rendering state. Only the runner's
// goroutine touches it.
type tmpl struct {
	cfg      *Spec
	name     string // destination, or "env NAME": how logs and status name it
	envName  string // set for env_template: the variable it renders
	rec      recorder
	uid, gid int
	parsed   // from the template's text; replaced when its source file changes

	used       map[string]lease.Ref // secrets the last render used
	files      map[string]bool      // local files the last render read (the file function)
	output     []byte               // last rendered content (nil before the first)
	staged     []sideWrite          // writeToFile calls of the render being published
	fileVals   []string             // what the file function read in the last execution (redacted)
	rendered   bool                 // has been written at least once
	lastErr    error
	failures   int
	b          *backoff.Backoff
	retryAt    time.Time // when a failed render is tried again
	dueAt      time.Time // when a pending render may run (wait min/max)
	firstDue   time.Time // first change not yet rendered (wait max)
	dirty      bool
	lastRender time.Time
	// nextMark is the store's hold mark taken before the render being
	// published; holdMark that of the last published one (confirmrun.go).
	nextMark, holdMark uint64
	// cert is what certificate reuse last found at the destination;
	// guarded by Runner.seedMu (see reuseCert).
	cert certFile
	// dry is set for a dry run (rotor validate -online, dryrun.go).
	dry *dryState
}

var brain = ctemplate.NewBrain()

// newTmpl parses a template block and prepares it for execution. It reads
// the source file, checks the syntax, the function names and the argument
// counts it can know, so a broken template is reported at start with its
// name. Nothing is executed.
func newTmpl(c *Spec, name string) (*tmpl, error) { return loadTmpl(c, name, true) }

// loadTmpl is newTmpl; with run false the template is only checked, not
// prepared for execution (rotor validate).
func loadTmpl(c *Spec, name string, run bool) (*tmpl, error) { return loadTmplDry(c, name, run, nil) }

// loadTmplDry is loadTmpl; a non-nil dry prepares a dry run (dryrun.go).
func loadTmplDry(c *Spec, name string, run bool, dry *dryState) (*tmpl, error) {
	t := &tmpl{cfg: c, name: name, b: backoff.New(250*time.Millisecond, time.Minute), dry: dry}
	uid, gid, err := c.Owner.Resolve()
	if err != nil {
		return nil, fmt.Errorf("template %s: %w", name, err)
	}
	t.uid, t.gid = uid, gid
	if c.MaxBytes <= 0 {
		c.MaxBytes = DefaultMaxBytes
	}
	text := c.Contents
	if c.Source != "" {
		if text, err = readLocal(c.Source, "", c.MaxBytes); err != nil {
			return nil, fmt.Errorf("template %s: read source: %w", name, err)
		}
	}
	p, err := t.parse(text, run)
	if err != nil {
		return nil, err
	}
	t.parsed = p
	return t, nil
}

// parsed is what parsing a template's text gives: replaced whole when a
// template's source file changes. Exactly one of exec and ct is set.
type parsed struct {
	exec          *ttemplate.Template // rotor executes the parse itself (exec.go)
	ct            *ctemplate.Template // consul-template executes the text
	funcs         []funcUse           // every function call
	static        []lease.Ref         // secrets it certainly asks for (prefetched)
	pkiRefs       []lease.Ref         // the pkiCert calls among them (certificate reuse)
	sensitive     string              // a field naming a key or password it renders ("" if none)
	sensitiveLine int
}

// parse checks text (syntax, function names, argument counts) and, with
// run, prepares it for execution.
func (t *tmpl) parse(text string, run bool) (parsed, error) {
	c, name := t.cfg, t.name
	if text == "" {
		text = " " // consul-template refuses empty contents; render an empty-ish file
	}
	var p parsed
	// Parsed under the name consul-template executes it with (""), which
	// its execution errors show; a parse error is reported under the
	// template's own name, as text/template words it.
	trees, err := parseTrees("", text, c.LeftDelim, c.RightDelim)
	if err != nil {
		_, err = parseTemplate(name, text, c.LeftDelim, c.RightDelim)
		return p, fmt.Errorf("template %s: %s: %w", name, sourceName(c), parseError(name, err))
	}
	tree := trees[""]
	for _, u := range calls(tree) {
		if err := checkArity(u); err != nil {
			return p, fmt.Errorf("template %s: %s: %w", name, sourceName(c), &Error{Kind: KindParse, Line: u.line, Function: u.name, Err: err})
		}
		p.funcs = append(p.funcs, u)
	}
	for _, sc := range staticCalls(tree) {
		p.static = append(p.static, sc.ref)
		if sc.fn == "pkiCert" {
			p.pkiRefs = append(p.pkiRefs, sc.ref)
		}
	}
	p.sensitive, p.sensitiveLine = sensitiveField(tree)
	if !run {
		return p, nil
	}
	if p.exec = t.newExec(trees); p.exec != nil {
		return p, nil
	}
	in := &ctemplate.NewTemplateInput{
		Contents:         text,
		Destination:      c.Destination,
		ErrMissingKey:    c.ErrorOnMissingKey,
		LeftDelim:        c.LeftDelim,
		RightDelim:       c.RightDelim,
		SandboxPath:      c.SandboxPath,
		FunctionDenylist: c.FunctionDenylist,
		ExtFuncMap:       t.funcMap(),
	}
	if p.ct, err = ctemplate.NewTemplate(in); err != nil {
		return p, fmt.Errorf("template %s: %w", name, &Error{Kind: KindParse, Err: err})
	}
	return p, nil
}

// warnings lists what validate should point out about a template that is
// not an error: calls of functions that act outside the rendered file,
// unless the template's denylist disables them.
func (t *tmpl) warnings() []string {
	var out []string
	seen := map[string]bool{}
	for _, u := range t.funcs {
		what, ok := sideEffectFuncs[u.name]
		if !ok || seen[u.name] || denied(u.name, t.cfg.FunctionDenylist) {
			continue
		}
		seen[u.name] = true
		out = append(out, fmt.Sprintf("template %s: %s: line %d: %s %s when the template renders; add it to function_denylist unless you mean it",
			t.name, sourceName(t.cfg), u.line, u.name, what))
	}
	if t.sensitive != "" && t.cfg.PermsUnset && t.envName == "" {
		out = append(out, fmt.Sprintf("template %s: %s: line %d: renders .%s with no perms set: a new file gets mode %04o (0644 minus the umask), readable by others (an existing one keeps its mode); set perms, e.g. \"0600\"",
			t.name, sourceName(t.cfg), t.sensitiveLine, t.sensitive, t.cfg.Perms))
	}
	return out
}

// denied reports whether name matches a denylist glob, as consul-template
// matches them.
func denied(name string, denylist []string) bool {
	for _, g := range denylist {
		if glob.Glob(g, name) {
			return true
		}
	}
	return false
}

func sourceName(c *Spec) string {
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
	// filesChanged: the execution read other local files than the last
	// one (the file function), so the watched files changed.
	filesChanged bool
	writes       []sideWrite // staged writeToFile calls
}

// execute renders t against what the store holds now. An error is
// returned as is: Runner.fail redacts it before anyone sees it.
func (t *tmpl) execute(store *lease.Store) result {
	t.rec.store = store
	t.rec.reset()
	var out []byte
	var err error
	if t.exec != nil {
		out, err = runOwn(t.exec, len(t.output))
	} else {
		var res *ctemplate.ExecuteResult
		if res, err = t.ct.Execute(&ctemplate.ExecuteInput{Brain: brain}); err == nil {
			out = res.Output
		} else {
			err = ctExecError(err)
		}
	}
	changed := !sameKeys(t.files, t.rec.files)
	t.used, t.files = t.rec.used, t.rec.files
	writes := t.rec.writes
	t.fileVals = t.rec.fileVals
	t.rec.scratch, t.rec.writes, t.rec.fileVals = nil, nil, nil
	if err != nil {
		return result{missing: t.rec.missing, err: err, filesChanged: changed}
	}
	return result{out: out, missing: t.rec.missing, filesChanged: changed, writes: writes}
}

// sameKeys reports whether a and b hold the same keys.
func sameKeys(a, b map[string]bool) bool {
	if len(a) != len(b) {
		return false
	}
	for k := range a {
		if !b[k] {
			return false
		}
	}
	return true
}

// Check parses a template as New would (source file, syntax, function
// names, argument counts), for `rotor validate`, and returns warnings
// about it. It never executes the template: a template's functions can
// run commands (plugin) and write files (writeToFile), and validating a
// configuration must have no side effects.
func Check(s Spec) (warnings []string, err error) {
	t, err := loadTmpl(&s, s.Destination, false)
	if err != nil {
		return nil, err
	}
	return t.warnings(), nil
}

// CheckEnv is Check for an env_template.
func CheckEnv(e EnvSpec) (warnings []string, err error) {
	t, err := loadTmpl(e.spec(), "env "+e.Name, false)
	if err != nil {
		return nil, err
	}
	return t.warnings(), nil
}
