package agent

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/hashicorp/vault/api"
	"github.com/rotorproject/rotor/internal/vaulterr"
	"github.com/rotorproject/rotor/lease"
	"github.com/rotorproject/rotor/template"
)

// How rotor validate -online answers the secrets a template asks for
// (preflight.go runs the templates).
//
// Every secret's path is first checked with sys/capabilities-self: "read"
// for a secret read, "list" for secrets, "update" or "create" for a
// write (pkiCert, a secret with k=v arguments). Then only what cannot
// have a side effect is read for real: reads and lists of KV (v1 and v2)
// and cubbyhole mounts, through the lease store as the agent reads them
// (same KV v2 path rewriting). A KV read creates no lease. Everything
// else (every write, and any read or list of another mount type, whose
// read may create a database user, cloud credentials, a certificate, a
// lease, or of a mount whose type cannot be looked up) is answered with
// a placeholder once its capability is checked: its keys are not
// checked. The mount type comes from sys/internal/ui/mounts/PATH, as
// Vault's CLI finds it (allowed by Vault's default policy).

// safeTypes are the mount types read for real: reading them creates no
// lease and changes nothing.
var safeTypes = []string{"kv", "generic", "cubbyhole"}

// secretProblem is why a secret cannot be had: what the report shows.
type secretProblem struct {
	status     string   // statusDenied, statusMissingSecret, statusUnavailable, statusVaultError
	path       string   // the path Vault is asked (KV v2: under data/ or metadata/)
	capability string   // denied: the capability missing
	have       []string // denied: the capabilities the token has there
	err        error    // Vault's answer, if any
}

func (p *secretProblem) Error() string {
	switch p.status {
	case statusDenied:
		if p.err != nil {
			return fmt.Sprintf("%s: permission denied: %v", p.path, p.err)
		}
		have := "none"
		if len(p.have) > 0 {
			have = strings.Join(p.have, ", ")
		}
		return fmt.Sprintf("%s: the token may not %s it (its capabilities there: %s)", p.path, p.capability, have)
	case statusMissingSecret:
		return fmt.Sprintf("%s: no secret at this path", p.path)
	}
	return fmt.Sprintf("%s: %v", p.path, p.err)
}

// mountInfo is what sys/internal/ui/mounts says of a mount.
type mountInfo struct {
	path    string // "secret/"
	typ     string // "kv", "pki", ...; "" when it could not be looked up
	version int    // KV version
}

// resolver answers a dry run's secrets; one per validation, used from
// one goroutine.
type resolver struct {
	c      *api.Client  // the token's client, one request per call
	store  *lease.Store // the real reads
	mounts []mountInfo
	caps   map[string][]string
	// capsRefused: sys/capabilities-self itself is denied to the token:
	// capabilities are then learnt by reading (safe paths) or not at all.
	capsRefused bool
	// notes are what the report lists as not checked, by secret key.
	notes map[string]string
}

// resolve is the dry run's DryOptions.Resolve.
func (r *resolver) resolve(ctx context.Context, ref lease.Ref) template.DryAnswer {
	mi, err := r.mount(ctx, ref.Path)
	if err != nil {
		return template.DryAnswer{Err: &secretProblem{status: statusUnavailable, path: ref.Path, err: err}}
	}
	p := ref.Path
	if ref.Kind != lease.KindWrite {
		p = lease.KVPath(mi.path, mi.version, ref.Path, ref.Kind)
	}
	need := [...]string{lease.KindRead: "read", lease.KindWrite: "update", lease.KindList: "list"}[ref.Kind]
	have, err := r.capabilities(ctx, p)
	if err != nil {
		return template.DryAnswer{Err: &secretProblem{status: statusUnavailable, path: p, err: err}}
	}
	if have != nil && !allows(have, ref.Kind) {
		return template.DryAnswer{Err: &secretProblem{status: statusDenied, path: p, capability: need, have: have}}
	}
	if ref.Kind != lease.KindWrite && slices.Contains(safeTypes, mi.typ) {
		return r.read(ctx, ref, p)
	}
	why := fmt.Sprintf("a %s mount: reading it may create a lease or credentials", mi.typ)
	switch {
	case ref.Kind == lease.KindWrite:
		why = "a write: it would create a lease, a certificate or other state"
	case mi.typ == "":
		why = "its mount type could not be looked up"
	}
	note := fmt.Sprintf("keys of %s: %s", ref, why)
	if ref.Kind == lease.KindList {
		note = fmt.Sprintf("entries of %s: %s; served as an empty list", ref, why)
	}
	if have == nil {
		note += "; the token's capability there could not be checked (sys/capabilities-self refused)"
	}
	r.notes[ref.Key()] = note
	return template.DryAnswer{Value: placeholder(ref, mi.typ), Placeholder: true}
}

// read reads a safe secret for real, through the lease store.
func (r *resolver) read(ctx context.Context, ref lease.Ref, p string) template.DryAnswer {
	err := r.store.Fetch(ctx, []lease.Ref{ref})[ref.Key()]
	if err == nil {
		if v, ok := r.store.Lookup(ref.Key()); ok {
			return template.DryAnswer{Value: v}
		}
		err = errors.New("the store holds no value after the read")
	}
	prob := &secretProblem{status: statusVaultError, path: p, err: err}
	switch c := vaulterr.Classify(err); {
	case c == vaulterr.NotFound:
		prob.status, prob.err = statusMissingSecret, nil
	case c == vaulterr.Denied || c == vaulterr.BadToken:
		prob.status, prob.capability = statusDenied, "read"
	case c.Transient() || c == vaulterr.Canceled:
		prob.status = statusUnavailable
	}
	return template.DryAnswer{Err: prob}
}

// allows reports whether caps permit kind: a write needs update or
// create (which one Vault checks depends on the engine and on whether
// the entry exists).
func allows(caps []string, kind lease.Kind) bool {
	if slices.Contains(caps, "root") {
		return true
	}
	if slices.Contains(caps, "deny") {
		return false
	}
	switch kind {
	case lease.KindRead:
		return slices.Contains(caps, "read")
	case lease.KindList:
		return slices.Contains(caps, "list")
	}
	return slices.Contains(caps, "update") || slices.Contains(caps, "create")
}

// capabilities returns the token's capabilities on p, nil when Vault
// refuses to say (then the read itself tells, or nothing does).
func (r *resolver) capabilities(ctx context.Context, p string) ([]string, error) {
	if caps, ok := r.caps[p]; ok || r.capsRefused {
		return caps, nil
	}
	caps, err := r.c.Sys().CapabilitiesSelfWithContext(ctx, p)
	switch c := vaulterr.Classify(err); {
	case err == nil:
	case c == vaulterr.Denied:
		r.capsRefused = true
		return nil, nil
	default:
		return nil, fmt.Errorf("sys/capabilities-self: %w", vaulterr.Wrap(err))
	}
	if caps == nil {
		caps = []string{}
	}
	r.caps[p] = caps
	return caps, nil
}

// mount finds the mount holding p: its path, type and KV version. A
// mount that cannot be looked up (refused, not found) has type "", and
// its path is p's first segment, as the lease store then assumes.
func (r *resolver) mount(ctx context.Context, p string) (mountInfo, error) {
	best := -1
	for i, m := range r.mounts {
		if strings.HasPrefix(p+"/", m.path) && (best < 0 || len(m.path) > len(r.mounts[best].path)) {
			best = i
		}
	}
	if best >= 0 {
		return r.mounts[best], nil
	}
	first, _, _ := strings.Cut(p, "/")
	mi := mountInfo{path: first + "/"}
	sec, err := r.c.Logical().ReadWithContext(ctx, "sys/internal/ui/mounts/"+p)
	if c := vaulterr.Classify(err); c.Transient() || c == vaulterr.Canceled || c == vaulterr.Config {
		return mountInfo{}, fmt.Errorf("look up the mount of %s: %w", p, vaulterr.Wrap(err))
	}
	if err != nil || sec == nil {
		return mi, nil // not cached: another path under it may be allowed
	}
	if mp, _ := sec.Data["path"].(string); mp != "" {
		mi.path = mp
	}
	mi.typ, _ = sec.Data["type"].(string)
	if opts, ok := sec.Data["options"].(map[string]any); ok && mi.typ == "kv" && opts["version"] == "2" {
		mi.version = 2
	}
	r.mounts = append(r.mounts, mi)
	return mi, nil
}

// placeholder is the stand-in for a secret not read: the fields its
// engine is known to answer with (so that ranges over lists work), every
// other key added when the template asks for it (template.DryRun).
func placeholder(ref lease.Ref, typ string) lease.Value {
	if ref.Kind == lease.KindList {
		return lease.Value{List: []string{}}
	}
	pv := template.PlaceholderValue
	data := map[string]any{}
	switch {
	case typ == "pki":
		for _, k := range []string{"certificate", "issuing_ca", "private_key", "private_key_type", "serial_number"} {
			data[k] = pv
		}
		data["ca_chain"] = []any{pv}
		data["expiration"] = json.Number("0")
	case typ == "database" || typ == "rabbitmq" || typ == "mongodbatlas":
		data["username"], data["password"] = pv, pv
	case typ == "aws":
		data["access_key"], data["secret_key"], data["security_token"] = pv, pv, nil
	}
	return lease.Value{Secret: &lease.Secret{Data: data}}
}
