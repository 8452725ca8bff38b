package config

import (
	"sort"
	"strconv"
	"strings"

	"github.com/hashicorp/hcl/hcl/ast"
	"github.com/hashicorp/hcl/hcl/token"
)

// Environment expansion in configuration values, rotor's own and off by
// default: Vault Agent keeps "${...}" as written, so a configuration
// means the same to both unless expansion is asked for (-expand-env,
// ROTOR_EXPAND_ENV=1, or rotor { expand_env = true } in the file).
//
// Syntax, in any string value except a template's or env_template's
// contents (consul-template's own text, never touched):
//
//	${env:NAME}           the variable's value; an error if it is not set
//	${env:NAME:-default}  default when the variable is unset or empty
//	$${env:NAME}          the literal text ${env:NAME}
//
// Other text, including other "${", is kept as written.

// ExpandEnvVar turns expansion on for every file when it is "1" or "true".
const ExpandEnvVar = "ROTOR_EXPAND_ENV"

// expansion is one expanded reference, so that its value can be taken out
// of messages again.
type expansion struct {
	value string
	ref   string // as written: ${env:NAME}
}

// wantsEnv reports rotor { expand_env = true } in a parsed file.
func wantsEnv(list *ast.ObjectList) bool {
	for _, oi := range list.Items {
		if len(oi.Keys) == 0 || !strings.EqualFold(keyName(oi.Keys[0]), "rotor") {
			continue
		}
		inner, ok := objectList(oi.Val)
		if !ok {
			continue
		}
		for _, x := range inner.Items {
			if len(x.Keys) == 1 && strings.EqualFold(keyName(x.Keys[0]), "expand_env") {
				if l, ok := x.Val.(*ast.LiteralType); ok && l.Token.Type == token.BOOL && l.Token.Text == "true" {
					return true
				}
			}
		}
	}
	return false
}

// envExpander rewrites the string values of one parsed file.
type envExpander struct {
	file string
	env  Env
	ds   *diags
	done *[]expansion
}

func (e *envExpander) list(l *ast.ObjectList) {
	for _, oi := range l.Items {
		skip := false
		for _, k := range oi.Keys {
			skip = skip || strings.EqualFold(keyName(k), "contents")
		}
		if skip {
			continue
		}
		e.node(oi.Val, Pos{Filename: e.file, Line: oi.Assign.Line, Column: oi.Assign.Column})
	}
}

func (e *envExpander) node(n ast.Node, near Pos) {
	switch v := n.(type) {
	case *ast.ObjectType:
		if v.List != nil {
			e.list(v.List)
		}
	case *ast.ObjectList:
		e.list(v)
	case *ast.ListType:
		for _, x := range v.List {
			e.node(x, near)
		}
	case *ast.LiteralType:
		e.literal(v, near)
	}
}

// literal expands one string token in place. The new token is a JSON-style
// quoted string, which HCL 1 unquotes exactly as Go quoted it.
func (e *envExpander) literal(l *ast.LiteralType, near Pos) {
	if l.Token.Type != token.STRING && l.Token.Type != token.HEREDOC {
		return
	}
	s, ok := tokValue(l.Token).(string)
	if !ok || !strings.Contains(s, "${env:") {
		return
	}
	at := near
	if l.Token.Pos.Line > 0 {
		at = Pos{Filename: e.file, Line: l.Token.Pos.Line, Column: l.Token.Pos.Column}
	}
	out, ok := e.expand(s, l.Token.Text, at)
	if !ok {
		return
	}
	l.Token.Type, l.Token.Text, l.Token.JSON = token.STRING, strconv.Quote(out), true
}

// expand replaces the references in s. raw is the token as written, used
// to place a problem at its reference.
func (e *envExpander) expand(s, raw string, at Pos) (string, bool) {
	var b strings.Builder
	ok := true
	nth := 0
	for i := 0; i < len(s); {
		if strings.HasPrefix(s[i:], "$${env:") {
			b.WriteString("${env:")
			i += len("$${env:")
			nth++
			continue
		}
		if !strings.HasPrefix(s[i:], "${env:") {
			b.WriteByte(s[i])
			i++
			continue
		}
		where := refPos(raw, nth, at)
		nth++
		end := strings.IndexByte(s[i:], '}')
		if end < 0 {
			e.ds.errorf(where, "Invalid reference", "an ${env:NAME} reference has no closing }.")
			return "", false
		}
		ref := s[i+len("${env:") : i+end]
		name, def, hasDef := strings.Cut(ref, ":-")
		if !validEnvName(name) {
			e.ds.errorf(where, "Invalid reference", "${env:%s}: %q is not an environment variable name (letters, digits and _, not starting with a digit).", short(ref), short(name))
			ok = false
			i += end + 1
			continue
		}
		v, set := e.env(name)
		switch {
		case hasDef && v == "":
			v = def
		case !set:
			e.ds.errorf(where, "Unset environment variable", "${env:%s}: the environment variable %s is not set (write ${env:%s:-default} for a default, or $${env:%s} for the literal text).", name, name, name, name)
			ok = false
		}
		*e.done = append(*e.done, expansion{value: v, ref: "${env:" + ref + "}"})
		b.WriteString(v)
		i += end + 1
	}
	return b.String(), ok
}

// refPos finds the nth "${env:" of a token as written: its line and column.
func refPos(raw string, nth int, at Pos) Pos {
	idx := -1
	for k, from := 0, 0; k <= nth; k++ {
		j := strings.Index(raw[from:], "${env:")
		if j < 0 {
			return at
		}
		idx = from + j
		from = idx + 1
	}
	before := raw[:idx]
	if nl := strings.LastIndexByte(before, '\n'); nl >= 0 {
		return Pos{Filename: at.Filename, Line: at.Line + strings.Count(before, "\n"), Column: idx - nl}
	}
	return Pos{Filename: at.Filename, Line: at.Line, Column: at.Column + idx}
}

func validEnvName(s string) bool {
	if s == "" || s[0] >= '0' && s[0] <= '9' {
		return false
	}
	for _, r := range s {
		if !(r == '_' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9') {
			return false
		}
	}
	return true
}

// redact takes expanded values out of the diagnostics' text, putting back
// the reference as written: a value from the environment may be a secret.
// Values shorter than 4 bytes are left (they would garble the message and
// hide little).
func redact(ds *diags, done []expansion) {
	if len(done) == 0 {
		return
	}
	sorted := append([]expansion(nil), done...)
	sort.SliceStable(sorted, func(i, j int) bool { return len(sorted[i].value) > len(sorted[j].value) })
	for i := range ds.list {
		for _, x := range sorted {
			if len(x.value) < 4 {
				continue
			}
			d := &ds.list[i]
			d.Summary = strings.ReplaceAll(d.Summary, x.value, x.ref)
			d.Detail = strings.ReplaceAll(d.Detail, x.value, x.ref)
			// A message may quote the value (%q): its escaped form too.
			if q := strconv.Quote(x.value); q[1:len(q)-1] != x.value {
				d.Summary = strings.ReplaceAll(d.Summary, q[1:len(q)-1], x.ref)
				d.Detail = strings.ReplaceAll(d.Detail, q[1:len(q)-1], x.ref)
			}
		}
	}
}
