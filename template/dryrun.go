package template

import (
	"context"
	"fmt"
	"maps"
	"regexp"
	"sort"

	"github.com/rotorproject/rotor/lease"
)

// A dry run (rotor validate -online) executes a template exactly as a
// render does (the same parse, the same functions, the same rounds of
// "execute, fetch what was missing, execute again"), but its secrets come
// from a resolver instead of the lease store, and nothing is published:
// no file is written (writeToFile is staged, and a dry run never
// publishes), no command runs (plugin is replaced by a stand-in) and
// nothing is printed (spew_dump, spew_printf).
//
// The resolver decides what is safe to read for real. A value it cannot
// read without a side effect (a database user, a certificate, a lease) is
// a placeholder: a secret whose Data answers the keys the template asks
// for, so that error_on_missing_key reports only keys missing from real
// secrets. A placeholder's keys are therefore never checked.

// PlaceholderValue is the value of every key of a placeholder secret that
// the resolver did not set itself.
const PlaceholderValue = "(placeholder)"

// DryAnswer is a resolver's answer for one secret of a dry run.
type DryAnswer struct {
	Value lease.Value
	// Placeholder says Value stands in for a secret that was not read:
	// its keys are not checked.
	Placeholder bool
	// Err says the secret cannot be had (denied, missing, Vault down):
	// the dry run stops at the round that asked for it.
	Err error
}

// DryOptions configure a dry run.
type DryOptions struct {
	// Resolve answers one secret; it is called once per secret, from the
	// caller's goroutine.
	Resolve func(ctx context.Context, ref lease.Ref) DryAnswer
}

// DryResult is what a dry run found.
type DryResult struct {
	// Used lists every secret the template asked for, by key.
	Used []lease.Ref
	// Placeholders lists the keys of the secrets served by placeholders.
	Placeholders []string
	// SecretErrs are the resolver's errors, by key: the template would
	// fail on them (the dry run stopped there).
	SecretErrs map[string]error
	// Err is the template's own failure: a parse error, or an execution
	// error (*Error, located), once every secret was served.
	Err error
	// MissingKey is set when Err is error_on_missing_key's "map has no
	// entry for key": a key missing from a real secret.
	MissingKey string
	// Uncertain says Err happened while placeholders were in use: it may
	// come from a placeholder's made-up value (e.g. base64Decode of it).
	Uncertain bool
	// UnsetKey, without error_on_missing_key, is a key missing from a
	// real secret, which renders as "<no value>" (not a failure).
	UnsetKey string
	// NotRun lists the calls a dry run does not make (plugin).
	NotRun []string
	// FileValues are the contents the file function read, for redaction.
	FileValues []string
}

// dryState is a dry run's replacement of the functions that act outside
// the rendered text, and what they were asked.
type dryState struct {
	notRun []string
}

// override replaces, in a consul-template function map, the functions a
// dry run must not run.
func (d *dryState) override(m map[string]any) {
	m["plugin"] = func(name string, args ...string) (string, error) {
		d.notRun = append(d.notRun, "plugin "+name+" (runs a command)")
		return PlaceholderValue, nil
	}
	m["spew_dump"] = func(args ...any) (string, error) { return "", nil }
	m["spew_printf"] = func(format string, args ...any) (string, error) { return "", nil }
}

// DryRun executes a file template with secrets from o.Resolve, writing
// nothing and running nothing (see above). It blocks until done.
func DryRun(ctx context.Context, s Spec, o DryOptions) DryResult {
	return dryRun(ctx, &s, s.Destination, o)
}

// DryRunEnv is DryRun for an env_template.
func DryRunEnv(ctx context.Context, e EnvSpec, o DryOptions) DryResult {
	return dryRun(ctx, e.spec(), "env "+e.Name, o)
}

// maxPlaceholderKeys bounds the keys added to placeholders, one execution
// each: a template names few keys of one secret.
const maxPlaceholderKeys = 64

func dryRun(ctx context.Context, c *Spec, name string, o DryOptions) (res DryResult) {
	d := &dryState{}
	t, err := loadTmplDry(c, name, true, d)
	if err != nil {
		res.Err = err
		return res
	}
	vals := map[string]lease.Value{}
	placeholder := map[string]bool{}
	used := map[string]lease.Ref{}
	t.rec.lookup = func(k string) (lease.Value, bool) { v, ok := vals[k]; return v, ok }
	defer func() {
		for _, k := range sortedKeys(used) {
			res.Used = append(res.Used, used[k])
			if placeholder[k] {
				res.Placeholders = append(res.Placeholders, k)
			}
		}
		res.NotRun = dedupe(d.notRun)
	}()
	r := t.execute(nil)
	for round := 0; len(r.missing) > 0; round++ {
		if round == maxRounds || ctx.Err() != nil {
			res.Err = fmt.Errorf("secrets still missing after %d rounds", round)
			return res
		}
		for _, k := range sortedKeys(r.missing) {
			ref := r.missing[k]
			used[k] = ref
			a := o.Resolve(ctx, ref)
			if a.Err != nil {
				if res.SecretErrs == nil {
					res.SecretErrs = map[string]error{}
				}
				res.SecretErrs[k] = a.Err
				continue
			}
			vals[k], placeholder[k] = a.Value, a.Placeholder
		}
		if len(res.SecretErrs) > 0 {
			return res
		}
		r = t.execute(nil)
	}
	maps.Copy(used, t.used)
	res.FileValues = t.fileVals
	r.err = answerKeys(t, r.err, vals, placeholder)
	if r.err == nil && int64(len(r.out)) > c.MaxBytes {
		r.err = fmt.Errorf("rendered output is %w (%d bytes)", errFileTooBig, c.MaxBytes)
	}
	if r.err != nil {
		res.Err = asError(KindExecute, r.err)
		res.MissingKey = missingKey(r.err)
		res.Uncertain = res.MissingKey == "" && usesPlaceholder(t, placeholder)
		return res
	}
	if !c.ErrorOnMissingKey {
		res.UnsetKey = unsetKey(c, name, vals, placeholder)
	}
	return res
}

// answerKeys executes t again while its error is a key missing from a
// placeholder it used, after giving each such placeholder that key: what
// error remains is the template's own, or a key missing from a real
// secret.
func answerKeys(t *tmpl, err error, vals map[string]lease.Value, placeholder map[string]bool) error {
	for range maxPlaceholderKeys {
		key := missingKey(err)
		if key == "" {
			return err
		}
		added := false
		for k := range t.used {
			v := vals[k]
			if !placeholder[k] || v.Secret == nil {
				continue
			}
			if _, ok := v.Secret.Data[key]; ok {
				continue
			}
			// A new value, not a change to the one handed out.
			sec := *v.Secret
			sec.Data = maps.Clone(sec.Data)
			if sec.Data == nil {
				sec.Data = map[string]any{}
			}
			sec.Data[key] = PlaceholderValue
			vals[k] = lease.Value{Secret: &sec, List: v.List}
			added = true
		}
		if !added {
			return err
		}
		r := t.execute(nil)
		if len(r.missing) > 0 {
			return err // cannot happen: the same secrets were served
		}
		err = r.err
	}
	return err
}

// unsetKey executes the template once more as if error_on_missing_key
// were set, with the values already resolved, and returns the key missing
// from a real secret that would render as "<no value>", if any.
func unsetKey(c *Spec, name string, vals map[string]lease.Value, placeholder map[string]bool) string {
	strict := *c
	strict.ErrorOnMissingKey = true
	t, err := loadTmplDry(&strict, name, true, &dryState{})
	if err != nil {
		return ""
	}
	t.rec.lookup = func(k string) (lease.Value, bool) { v, ok := vals[k]; return v, ok }
	r := t.execute(nil)
	if len(r.missing) > 0 {
		return ""
	}
	return missingKey(answerKeys(t, r.err, vals, placeholder))
}

var missingKeyRE = regexp.MustCompile(`map has no entry for key "([^"]*)"`)

// missingKey is the key of text/template's missingkey=error failure.
func missingKey(err error) string {
	if err == nil {
		return ""
	}
	if m := missingKeyRE.FindStringSubmatch(err.Error()); m != nil {
		return m[1]
	}
	return ""
}

func usesPlaceholder(t *tmpl, placeholder map[string]bool) bool {
	for k := range t.used {
		if placeholder[k] {
			return true
		}
	}
	return false
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

func dedupe(s []string) []string {
	seen := map[string]bool{}
	var out []string
	for _, v := range s {
		if !seen[v] {
			seen[v] = true
			out = append(out, v)
		}
	}
	return out
}
