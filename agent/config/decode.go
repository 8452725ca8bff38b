package config

import (
	"fmt"
	"math/big"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/hashicorp/hcl/v2"
	"github.com/zclconf/go-cty/cty"
	"github.com/zclconf/go-cty/cty/convert"
)

// fields decodes the attributes of one block (or of a `config = {...}` map)
// into typed Go values. Every problem is appended to diags with the range of
// the offending expression, so the caller can report all of them at once.
type fields struct {
	attrs hcl.Attributes
	diags *hcl.Diagnostics
	where string // human name of the block, e.g. `method "approle" config`
}

func newFields(attrs hcl.Attributes, diags *hcl.Diagnostics, where string) *fields {
	return &fields{attrs: attrs, diags: diags, where: where}
}

// has reports whether the attribute was set.
func (f *fields) has(name string) bool { _, ok := f.attrs[name]; return ok }

// rng returns the range of the attribute's value, or nil if unset.
func (f *fields) rng(name string) *hcl.Range {
	if a, ok := f.attrs[name]; ok {
		r := a.Expr.Range()
		return &r
	}
	return nil
}

func (f *fields) errorf(name, summary, format string, args ...any) {
	*f.diags = append(*f.diags, &hcl.Diagnostic{
		Severity: hcl.DiagError,
		Summary:  summary,
		Detail:   fmt.Sprintf(format, args...),
		Subject:  f.rng(name),
	})
}

// value evaluates an attribute without variables or functions: rotor's
// config is data, not a program.
func (f *fields) value(name string) (cty.Value, bool) {
	a, ok := f.attrs[name]
	if !ok {
		return cty.NilVal, false
	}
	v, d := a.Expr.Value(nil)
	if d.HasErrors() {
		*f.diags = append(*f.diags, d...)
		return cty.NilVal, false
	}
	if v.IsNull() {
		return cty.NilVal, false
	}
	if !v.IsWhollyKnown() {
		f.errorf(name, "Invalid value", "%s: %s must be a constant.", f.where, name)
		return cty.NilVal, false
	}
	return v, true
}

func (f *fields) typed(name string, ty cty.Type, tyName string) (cty.Value, bool) {
	v, ok := f.value(name)
	if !ok {
		return v, false
	}
	c, err := convert.Convert(v, ty)
	if err != nil {
		f.errorf(name, "Incorrect attribute value type", "%s: %s must be %s.", f.where, name, tyName)
		return cty.NilVal, false
	}
	return c, true
}

func (f *fields) str(name string, dst *string) {
	if v, ok := f.typed(name, cty.String, "a string"); ok {
		*dst = v.AsString()
	}
}

func (f *fields) boolean(name string, dst *bool) {
	if v, ok := f.typed(name, cty.Bool, "a boolean"); ok {
		*dst = v.True()
	}
}

// optBool stores a *bool so that "unset" and "false" differ.
func (f *fields) optBool(name string, dst **bool) {
	var b bool
	if f.has(name) {
		before := len(*f.diags)
		f.boolean(name, &b)
		if len(*f.diags) == before {
			*dst = &b
		}
	}
}

func (f *fields) integer(name string, dst *int) {
	v, ok := f.typed(name, cty.Number, "a whole number")
	if !ok {
		return
	}
	bf := v.AsBigFloat()
	i, acc := bf.Int64()
	if acc != big.Exact {
		f.errorf(name, "Invalid value", "%s: %s must be a whole number.", f.where, name)
		return
	}
	*dst = int(i)
}

func (f *fields) float(name string, dst *float64) {
	if v, ok := f.typed(name, cty.Number, "a number"); ok {
		*dst, _ = v.AsBigFloat().Float64()
	}
}

// duration accepts a Go duration string ("90s", "5m") or a number of
// seconds, as Vault Agent does.
func (f *fields) duration(name string, dst *time.Duration) {
	v, ok := f.value(name)
	if !ok {
		return
	}
	switch v.Type() {
	case cty.Number:
		secs, _ := v.AsBigFloat().Float64()
		if secs < 0 {
			f.errorf(name, "Invalid duration", "%s: %s must not be negative.", f.where, name)
			return
		}
		*dst = time.Duration(secs * float64(time.Second))
	case cty.String:
		d, err := parseDuration(v.AsString())
		if err != nil {
			f.errorf(name, "Invalid duration", "%s: %s: %v.", f.where, name, err)
			return
		}
		*dst = d
	default:
		f.errorf(name, "Incorrect attribute value type", "%s: %s must be a duration such as \"30s\" or \"5m\".", f.where, name)
	}
}

func parseDuration(s string) (time.Duration, error) {
	s = strings.TrimSpace(s)
	if n, err := strconv.ParseFloat(s, 64); err == nil {
		if n < 0 {
			return 0, fmt.Errorf("%q is negative", s)
		}
		return time.Duration(n * float64(time.Second)), nil
	}
	d, err := time.ParseDuration(s)
	if err != nil {
		return 0, fmt.Errorf("%q is not a duration (use e.g. \"30s\", \"5m\", \"1h\")", s)
	}
	if d < 0 {
		return 0, fmt.Errorf("%q is negative", s)
	}
	return d, nil
}

// mode accepts an octal string ("0640") or a number written with octal
// digits (0640 or 640): HCL 2 reads 0640 as decimal 640, and nobody means
// mode 01200, so the digits are taken as octal either way.
func (f *fields) mode(name string, dst *os.FileMode) {
	v, ok := f.value(name)
	if !ok {
		return
	}
	var s string
	switch v.Type() {
	case cty.String:
		s = v.AsString()
	case cty.Number:
		s = v.AsBigFloat().Text('f', -1)
	default:
		f.errorf(name, "Incorrect attribute value type", "%s: %s must be an octal file mode such as \"0640\".", f.where, name)
		return
	}
	m, err := strconv.ParseUint(strings.TrimSpace(s), 8, 32)
	if err != nil || m > 0o7777 {
		f.errorf(name, "Invalid file mode", "%s: %s = %q is not an octal file mode such as \"0640\".", f.where, name, s)
		return
	}
	*dst = os.FileMode(m)
}

// command accepts a string (run through /bin/sh -c, as Vault Agent does) or
// a list of strings (argv, no shell).
func (f *fields) command(name string, dst *Command) {
	v, ok := f.value(name)
	if !ok {
		return
	}
	r := f.rng(name)
	switch {
	case v.Type() == cty.String:
		if strings.TrimSpace(v.AsString()) == "" {
			f.errorf(name, "Invalid command", "%s: %s is empty.", f.where, name)
			return
		}
		*dst = Command{Shell: v.AsString(), Range: *r}
	case v.Type().IsListType() || v.Type().IsTupleType():
		l, err := convert.Convert(v, cty.List(cty.String))
		if err != nil || l.LengthInt() == 0 {
			f.errorf(name, "Invalid command", "%s: %s must be a non-empty list of strings or a string.", f.where, name)
			return
		}
		var argv []string
		for _, e := range l.AsValueSlice() {
			argv = append(argv, e.AsString())
		}
		if argv[0] == "" {
			f.errorf(name, "Invalid command", "%s: %s: the program name is empty.", f.where, name)
			return
		}
		*dst = Command{Argv: argv, Range: *r}
	default:
		f.errorf(name, "Incorrect attribute value type", "%s: %s must be a string or a list of strings.", f.where, name)
	}
}

// mapAttrs turns a `name = { key = value, ... }` attribute into attributes,
// so the keys inside it are checked like a block's: unknown keys are errors
// at the key's position.
func mapAttrs(attr *hcl.Attribute, allowed []string, where string, diags *hcl.Diagnostics) hcl.Attributes {
	out := hcl.Attributes{}
	if attr == nil {
		return out
	}
	pairs, d := hcl.ExprMap(attr.Expr)
	if d.HasErrors() {
		*diags = append(*diags, &hcl.Diagnostic{
			Severity: hcl.DiagError,
			Summary:  "Invalid config map",
			Detail:   fmt.Sprintf("%s: %s must be a map like { key = \"value\" }.", where, attr.Name),
			Subject:  attr.Expr.Range().Ptr(),
		})
		return out
	}
	for _, p := range pairs {
		kv, kd := p.Key.Value(nil)
		if kd.HasErrors() || kv.Type() != cty.String {
			*diags = append(*diags, &hcl.Diagnostic{
				Severity: hcl.DiagError, Summary: "Invalid key",
				Detail: where + ": keys must be names.", Subject: p.Key.Range().Ptr(),
			})
			continue
		}
		k := kv.AsString()
		if !contains(allowed, k) {
			*diags = append(*diags, unknownKey(k, allowed, where, p.Key.Range()))
			continue
		}
		if prev, dup := out[k]; dup {
			*diags = append(*diags, &hcl.Diagnostic{
				Severity: hcl.DiagError, Summary: "Duplicate key",
				Detail:  fmt.Sprintf("%s: %q was already set at %s.", where, k, pos(prev.Range)),
				Subject: p.Key.Range().Ptr(),
			})
			continue
		}
		out[k] = &hcl.Attribute{Name: k, Expr: p.Value, Range: p.Key.Range(), NameRange: p.Key.Range()}
	}
	return out
}

func unknownKey(k string, allowed []string, where string, r hcl.Range) *hcl.Diagnostic {
	detail := fmt.Sprintf("%s: %q is not a known key.", where, k)
	if s := suggest(k, allowed); s != "" {
		detail += fmt.Sprintf(" Did you mean %q?", s)
	}
	return &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "Unsupported argument", Detail: detail, Subject: r.Ptr()}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// suggest returns the allowed key closest to k, if it is close enough to be
// a likely typo.
func suggest(k string, allowed []string) string {
	best, bestD := "", 3
	for _, a := range allowed {
		if d := editDistance(k, a); d < bestD {
			best, bestD = a, d
		}
	}
	return best
}

func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}
