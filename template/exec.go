package template

import (
	"bytes"
	"fmt"
	"os"
	"slices"
	"strings"
	"sync"
	ttemplate "text/template"
	"text/template/parse"

	"github.com/Masterminds/sprig/v3"
	ctemplate "github.com/hashicorp/consul-template/template"
)

// How a template executes.
//
// consul-template's Template.Execute builds its whole function map (~100
// closures, then ~250 entries copied twice into text/template) and parses
// the template's text again, at every execution: about 200 µs and 120 kB
// of garbage per render (BenchmarkExecute), the largest cost of rendering
// thousands of small templates. rotor parses each template once
// (parseTrees), so it executes that parse with text/template itself and a
// function map built once per template, holding only the functions the
// template calls.
//
// Those functions are exactly consul-template's: rotor's own (secret,
// secrets, pkiCert, file, and the Consul and Nomad functions it refuses,
// which consul-template is given as its ExtFuncMap anyway), sprig's
// (consul-template adds sprig.HermeticTxtFuncMap under sprig_),
// text/template's builtins, and the consul-template helpers small enough
// to give with the same behaviour: scratch (an exported type) and the
// environment functions (rotor gives Execute no environment of its own,
// so they read the process's). consul-template's other helpers (toJSON,
// base64Decode, plugin, ...) are unexported and bound inside Execute, so a
// template that calls one, or a function its function_denylist disables,
// is executed by consul-template as before.
// TestOwnExecutionMatchesConsulTemplate runs both ways on the same
// templates and compares output and errors.

// sprigFuncs is sprig's function map under consul-template's names.
var sprigFuncs = sync.OnceValue(func() map[string]any {
	m := map[string]any{}
	for n, f := range sprig.HermeticTxtFuncMap() {
		m["sprig_"+n] = f
	}
	return m
})

// newExec prepares rotor's own execution of the parsed trees (every
// template text defines, the top one named ""), or returns nil when
// consul-template must execute it: a call of one of its private helpers,
// or of a function the denylist disables.
func (t *tmpl) newExec(trees map[string]*parse.Tree) *ttemplate.Template {
	fm := ttemplate.FuncMap{}
	for _, tree := range trees {
		names, ok := identifiers(tree.Root, nil)
		if !ok {
			return nil
		}
		for _, name := range names {
			if _, ok := fm[name]; ok || slices.Contains(builtinNames, name) {
				continue // builtins are not in consul-template's map: the denylist cannot reach them
			}
			f := t.ownFunc(name)
			if f == nil || denied(name, t.cfg.FunctionDenylist) {
				return nil
			}
			fm[name] = f
		}
	}
	missing := "missingkey=zero"
	if t.cfg.ErrorOnMissingKey {
		missing = "missingkey=error"
	}
	// Built as consul-template builds it: named "", so that execution
	// errors read the same ("template: :1:5: executing \"\" at ...").
	x := ttemplate.New("").Delims(t.cfg.LeftDelim, t.cfg.RightDelim).Funcs(fm).Option(missing)
	for name, tree := range trees {
		if _, err := x.AddParseTree(name, tree); err != nil {
			return nil
		}
	}
	return x
}

// identifiers appends to names every function name n refers to, anywhere:
// called, piped into, or as the head of a chain (scratch.Get). ok is
// false on a node it does not know (a newer Go's): consul-template then
// executes the template, which is always right.
func identifiers(n parse.Node, names []string) ([]string, bool) {
	ok := true
	var walk func(n parse.Node)
	pipe := func(p *parse.PipeNode) {
		if p != nil {
			walk(p)
		}
	}
	list := func(l *parse.ListNode) {
		if l != nil {
			walk(l)
		}
	}
	branch := func(b *parse.BranchNode) {
		pipe(b.Pipe)
		list(b.List)
		list(b.ElseList)
	}
	walk = func(n parse.Node) {
		switch x := n.(type) {
		case *parse.IdentifierNode:
			names = append(names, x.Ident)
		case *parse.ListNode:
			for _, c := range x.Nodes {
				walk(c)
			}
		case *parse.ActionNode:
			pipe(x.Pipe)
		case *parse.PipeNode:
			for _, c := range x.Cmds {
				walk(c)
			}
		case *parse.CommandNode:
			for _, a := range x.Args {
				walk(a)
			}
		case *parse.ChainNode:
			walk(x.Node)
		case *parse.IfNode:
			branch(&x.BranchNode)
		case *parse.RangeNode:
			branch(&x.BranchNode)
		case *parse.WithNode:
			branch(&x.BranchNode)
		case *parse.TemplateNode:
			pipe(x.Pipe)
		case *parse.TextNode, *parse.CommentNode, *parse.VariableNode, *parse.DotNode, *parse.NilNode,
			*parse.FieldNode, *parse.BoolNode, *parse.NumberNode, *parse.StringNode, *parse.BreakNode, *parse.ContinueNode:
		default:
			ok = false
		}
	}
	walk(n)
	return names, ok
}

// ownFunc returns the function rotor gives name in its own execution, nil
// when only consul-template has it.
func (t *tmpl) ownFunc(name string) any {
	switch name {
	case "secret":
		return t.secretFunc
	case "secrets":
		return t.secretsFunc
	case "pkiCert":
		return t.pkiCertFunc
	case "file":
		return t.fileFunc
	case "writeToFile":
		return t.writeToFileFunc
	case "scratch":
		return t.scratchFunc
	case "env":
		return envFunc
	case "mustEnv":
		return mustEnvFunc
	case "envOrDefault":
		return envOrDefaultFunc
	}
	if slices.Contains(consulFuncs, name) {
		return consulFunc(name)
	}
	if strings.HasPrefix(name, "sprig_") {
		if f, ok := sprigFuncs()[name]; ok {
			return f
		}
	}
	return nil
}

// runOwn executes x as consul-template's Execute would: no data, output
// in a fresh buffer, an error prefixed with "execute: ". (consul-template
// also redacts the values of the secrets its own functions used; rotor's
// functions replace all of those, so there are none, and Runner.fail
// redacts every secret rotor holds.)
func runOwn(x *ttemplate.Template, sizeHint int) ([]byte, error) {
	var b bytes.Buffer
	b.Grow(sizeHint)
	if err := x.Execute(&b, nil); err != nil {
		return nil, fmt.Errorf("execute: %w", err)
	}
	return b.Bytes(), nil
}

// scratchFunc is consul-template's scratch: a key-value store that lives
// for one execution of the template (a new one each time).
func (t *tmpl) scratchFunc() *ctemplate.Scratch {
	if t.rec.scratch == nil {
		t.rec.scratch = &ctemplate.Scratch{}
	}
	return t.rec.scratch
}

// envFunc is consul-template's env with no environment of its own given
// to Execute (rotor gives none): the process's variable, "" when unset.
func envFunc(s string) (string, error) { return os.Getenv(s), nil }

// mustEnvFunc is consul-template's mustEnv: env, but empty is an error.
func mustEnvFunc(s string) (string, error) {
	v := os.Getenv(s)
	if v == "" {
		return "", fmt.Errorf("required environment variable %s is empty", s)
	}
	return v, nil
}

// envOrDefaultFunc is consul-template's envOrDefault: the variable if it
// is set, even empty, else def.
func envOrDefaultFunc(s, def string) (string, error) {
	if v, ok := os.LookupEnv(s); ok {
		return v, nil
	}
	return def, nil
}
