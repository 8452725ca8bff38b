package config

import (
	"fmt"
	"sort"
	"strings"
)

// unknownKey reports a key the block's spec does not take. Where Vault
// Agent refuses unknown keys (sp.strict) it is an error. Elsewhere Vault
// Agent's decoding skips it, so rotor warns, does not act on it, and says
// where Vault Agent would read it (or which key was probably meant).
func (d *decoder) unknownKey(it *item, where string, sp spec) {
	name := short(keyName(it.key))
	hint := ""
	if !d.ds.full() && len(it.name) <= 64 {
		if s := suggest(it.name, sp.all()); s != "" {
			hint = fmt.Sprintf(" Did you mean %q?", s)
		}
	}
	if sp.strict {
		d.ds.errorf(it.pos, "Unsupported argument", "%s: %q is not a known key (Vault Agent refuses it too).%s", where, name, hint)
		return
	}
	var detail string
	switch places := placesIndex[it.name]; {
	case sp.moved[it.name] != "":
		detail = fmt.Sprintf("%s: %q is ignored: Vault Agent reads %s only inside %s, not here; rotor does not act on it either. Move it into %s.",
			where, name, it.name, sp.moved[it.name], sp.moved[it.name])
	case len(places) > 0:
		detail = fmt.Sprintf("%s: %q is ignored: Vault Agent reads %s only %s, not here; rotor does not act on it either.",
			where, name, it.name, placeList(places))
	default:
		detail = fmt.Sprintf("%s: %q is ignored: Vault Agent does not read it here; rotor does not act on it either.", where, name)
	}
	d.ds.warnf(it.pos, "Ignored", "%s%s", detail, hint)
}

// placeList names at most three places, e.g. "inside method or inside
// cache.persist".
func placeList(places []string) string {
	var out []string
	for i, p := range places {
		if i == 3 {
			out = append(out, "...")
			break
		}
		if p == "the top level" {
			out = append(out, "at the top level")
		} else {
			out = append(out, "inside "+p)
		}
	}
	return strings.Join(out, " or ")
}

// placesIndex is keyPlaces, computed once; it is never changed.
var placesIndex = keyPlaces()

// keyPlaces maps each key Vault Agent reads to the blocks it reads it in,
// for the warning about a key written in the wrong place.
func keyPlaces() map[string][]string {
	out := map[string][]string{}
	add := func(place string, sp spec) {
		for _, k := range sp.all() {
			if !contains(out[k], place) {
				out[k] = append(out[k], place)
			}
		}
	}
	for _, p := range []struct {
		place string
		sp    spec
	}{
		{"the top level", rootSpec}, {"vault", vaultSpec}, {"vault.retry", retrySpec},
		{"auto_auth", autoAuthSpec}, {"method", methodSpec}, {"sink", sinkSpec}, {"sink's config", sinkConfigSpec},
		{"template", templateSpec}, {"template_config", templateConfigSpec}, {"exec", execSpec},
		{"cache", cacheSpec}, {"cache.persist", persistSpec}, {"api_proxy", apiProxySpec},
		{"listener", listenerSpec}, {"state", stateSpec}, {"rotor", rotorSpec},
	} {
		add(p.place, p.sp)
	}
	types := make([]string, 0, len(methodKeys))
	for t := range methodKeys {
		types = append(types, t)
	}
	sort.Strings(types)
	for _, t := range types {
		add(fmt.Sprintf("method %q config", t), methodKeys[t])
	}
	for k := range out {
		sort.Strings(out[k])
	}
	return out
}

// blockBody opens a block Vault Agent reads with its parse functions
// (vault, auto_auth, cache, api_proxy, template_config, template, exec,
// retry): they take the first item of that name and decode its body, so a
// label (`cache "file" { ... }`, copied from a server's configuration) is
// ignored and the body is the block. rotor does the same, and warns.
func (b *block) blockBody(it *item, where string, sp spec) *block {
	if len(it.labels) > 0 {
		var ls []string
		for _, l := range it.labels {
			ls = append(ls, fmt.Sprintf("%q", short(keyName(l))))
		}
		b.d.ds.warnf(it.pos, "Ignored", "%s %s: the label is ignored: Vault Agent reads a %s block's body and not its label; rotor does the same. Remove the label.",
			where, strings.Join(ls, " "), where)
		if it.key.Token.JSON {
			b.d.ds.warnf(it.pos, "Ignored", "%s: in JSON, an object whose members are all objects is read as labels (HCL 1, as Vault Agent reads it): give %s a plain member, or write it as a list of one object.", where, where)
		}
		inner := *it
		inner.labels = nil
		it = &inner
	}
	return b.body(it, where, sp)
}
