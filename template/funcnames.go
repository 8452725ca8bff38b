package template

import (
	"fmt"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"text/template/parse"

	"github.com/Masterminds/sprig/v3"
)

// ctFuncs are consul-template v0.41.1's own template functions: the keys
// of its funcMap. consul-template does not export them, and rotor parses
// templates itself (once, at start, and in `rotor validate` without
// executing anything), so it needs the names. TestFuncNamesMatchConsulTemplate
// checks this list against consul-template's source.
var ctFuncs = []string{
	"datacenters", "exportedServices", "file", "key", "keyExists", "keyOrDefault", "ls", "safeLs", "node",
	"nodes", "partitions", "peerings", "secret", "secrets", "service", "connect", "services", "tree",
	"safeTree", "caRoots", "caLeaf", "pkiCert", "nomadServices", "nomadService", "nomadVarList",
	"nomadVarListSafe", "nomadVar", "nomadVarExists", "scratch", "base64Decode", "base64Encode",
	"base64URLDecode", "base64URLEncode", "byKey", "byPort", "byTag", "contains", "containsAll", "containsAny",
	"containsNone", "containsNotAll", "env", "mustEnv", "envOrDefault", "executeTemplate", "explode",
	"explodeMap", "mergeMap", "mergeMapWithOverride", "in", "indent", "loop", "join", "trim", "trimPrefix",
	"trimSuffix", "trimSpace", "parseBool", "parseFloat", "parseInt", "parseJSON", "parseUint", "parseYAML",
	"plugin", "regexReplaceAll", "regexMatch", "replaceAll", "sha256Hex", "md5sum", "hmacSHA256Hex",
	"timestamp", "toLower", "toJSON", "toJSONPretty", "toUnescapedJSON", "toUnescapedJSONPretty", "toTitle",
	"toTOML", "toUpper", "toYAML", "split", "splitToMap", "byMeta", "sockaddr", "writeToFile", "add",
	"subtract", "multiply", "divide", "modulo", "minimum", "maximum", "spew_dump", "spew_printf",
	"spew_sdump", "spew_sprintf",
}

// sideEffectFuncs act outside the rendered file: they run a command, write
// a file, or print to rotor's standard output. validate warns about them.
var sideEffectFuncs = map[string]string{
	"plugin":      "runs a command",
	"writeToFile": "writes a file",
	"spew_dump":   "prints its argument to rotor's standard output",
	"spew_printf": "prints to rotor's standard output",
}

// parseFuncs is every function name a template may use, for parsing:
// text/template checks names at parse time, not their values, so the
// values here only have to be functions. Arity is checked separately for
// functions whose signature rotor knows (arities). The map is shared by
// every parse and never written after it is built.
var parseFuncs = sync.OnceValue(func() map[string]any {
	stub := func(...any) (any, error) { return nil, nil }
	m := map[string]any{}
	for _, n := range ctFuncs {
		m[n] = stub
	}
	for n := range sprig.HermeticTxtFuncMap() {
		m["sprig_"+n] = stub
	}
	return m
})

// builtinNames are text/template's own functions (its unexported
// builtins), which every template may call; TestBuiltinNamesMatchGo
// checks the list against Go's source.
var builtinNames = []string{"and", "call", "html", "index", "slice", "js", "len", "not", "or", "print", "printf",
	"println", "urlquery", "eq", "ge", "gt", "le", "lt", "ne"}

// builtinFuncs is builtinNames as a name map for the parser.
var builtinFuncs = sync.OnceValue(func() map[string]any {
	stub := func(...any) (any, error) { return nil, nil }
	m := map[string]any{}
	for _, n := range builtinNames {
		m[n] = stub
	}
	return m
})

// arities holds the signatures rotor knows: its own Vault and file
// functions and sprig's. consul-template's helpers are unexported, so
// their argument counts are checked when the template runs.
var arities = sync.OnceValue(func() map[string]reflect.Type {
	out := map[string]reflect.Type{}
	for n, f := range sprig.HermeticTxtFuncMap() {
		out["sprig_"+n] = reflect.TypeOf(f)
	}
	var t tmpl
	for n, f := range t.funcMap() {
		out[n] = reflect.TypeOf(f)
	}
	return out
})

// parseTemplate parses text with every known function name, so a syntax
// error or an unknown function is reported with its line, without
// executing anything. It returns the template's own tree.
func parseTemplate(name, text, left, right string) (*parse.Tree, error) {
	trees, err := parseTrees(name, text, left, right)
	if err != nil {
		return nil, err
	}
	return trees[name], nil
}

// parseTrees parses text as text/template's Parse does (same parser, same
// function names, same errors), and returns the tree of every template it
// defines by name, name itself included. It calls parse.Parse directly
// with shared name maps: Template.Funcs would copy the ~250 names into
// every template, which with thousands of templates cost more than the
// parsing itself.
func parseTrees(name, text, left, right string) (map[string]*parse.Tree, error) {
	return parse.Parse(name, text, left, right, parseFuncs(), builtinFuncs())
}

// funcUse is one call of a function in a template.
type funcUse struct {
	name string
	args int // arguments given, including a piped value
	line int
}

// calls lists every function call in tree, in every branch.
func calls(tree *parse.Tree) []funcUse {
	var out []funcUse
	var node func(n parse.Node)
	pipe := func(p *parse.PipeNode) {
		if p == nil {
			return
		}
		for i, c := range p.Cmds {
			if id, ok := c.Args[0].(*parse.IdentifierNode); ok {
				n := len(c.Args) - 1
				if i > 0 {
					n++ // the previous command's value is piped in as the last argument
				}
				line, _ := tree.ErrorContext(id)
				out = append(out, funcUse{name: id.Ident, args: n, line: lineOf(line)})
			}
			for _, a := range c.Args {
				node(a)
			}
		}
	}
	node = func(n parse.Node) {
		switch x := n.(type) {
		case *parse.ListNode:
			if x != nil {
				for _, c := range x.Nodes {
					node(c)
				}
			}
		case *parse.ActionNode:
			pipe(x.Pipe)
		case *parse.PipeNode:
			pipe(x)
		case *parse.ChainNode:
			node(x.Node)
		case *parse.IfNode:
			pipe(x.Pipe)
			node(x.List)
			node(x.ElseList)
		case *parse.WithNode:
			pipe(x.Pipe)
			node(x.List)
			node(x.ElseList)
		case *parse.RangeNode:
			pipe(x.Pipe)
			node(x.List)
			node(x.ElseList)
		case *parse.TemplateNode:
			pipe(x.Pipe)
		}
	}
	if tree != nil {
		node(tree.Root)
	}
	return out
}

// lineOf takes the line from text/template's "name:line:col" location
// (the name may itself hold colons, so it is read from the end).
func lineOf(loc string) int {
	parts := strings.Split(loc, ":")
	if len(parts) < 3 {
		return 0
	}
	line, _ := strconv.Atoi(parts[len(parts)-2])
	return line
}

// checkArity reports a call whose argument count can never match the
// function's signature.
func checkArity(u funcUse) error {
	t, ok := arities()[u.name]
	if !ok {
		return nil
	}
	in := t.NumIn()
	switch {
	case t.IsVariadic() && u.args < in-1:
		return fmt.Errorf("line %d: %s takes at least %d argument(s), %d given", u.line, u.name, in-1, u.args)
	case !t.IsVariadic() && u.args != in:
		return fmt.Errorf("line %d: %s takes %d argument(s), %d given", u.line, u.name, in, u.args)
	}
	return nil
}

// sensitiveFields are field names whose value is a private key or a
// password: a template that renders one should say who may read it.
var sensitiveFields = map[string]bool{"Key": true, "private_key": true, "password": true, "secret_key": true,
	"secret_access_key": true, "client_secret": true, "secret_id": true, "client_token": true}

// sensitiveField returns the first field of tree that names a private key
// or a password, and its line ("" when none).
func sensitiveField(tree *parse.Tree) (string, int) {
	var found string
	var line int
	var visit func(n parse.Node)
	check := func(n parse.Node, idents []string) {
		for _, id := range idents {
			if found == "" && sensitiveFields[id] {
				found = id
				loc, _ := tree.ErrorContext(n)
				line = lineOf(loc)
			}
		}
	}
	visitPipe := func(p *parse.PipeNode) {
		if p != nil {
			visit(p)
		}
	}
	visit = func(n parse.Node) {
		switch x := n.(type) {
		case *parse.ListNode:
			if x != nil {
				for _, c := range x.Nodes {
					visit(c)
				}
			}
		case *parse.ActionNode:
			visitPipe(x.Pipe)
		case *parse.PipeNode:
			for _, c := range x.Cmds {
				for _, a := range c.Args {
					visit(a)
				}
			}
		case *parse.FieldNode:
			check(x, x.Ident)
		case *parse.ChainNode:
			check(x, x.Field)
			visit(x.Node)
		case *parse.IfNode:
			visitPipe(x.Pipe)
			visit(x.List)
			visit(x.ElseList)
		case *parse.WithNode:
			visitPipe(x.Pipe)
			visit(x.List)
			visit(x.ElseList)
		case *parse.RangeNode:
			visitPipe(x.Pipe)
			visit(x.List)
			visit(x.ElseList)
		case *parse.TemplateNode:
			visitPipe(x.Pipe)
		}
	}
	if tree != nil {
		visit(tree.Root)
	}
	return found, line
}
