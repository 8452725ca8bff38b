package template

import (
	"fmt"
	"strings"

	"github.com/hashicorp/consul-template/dependency"
	ctemplate "github.com/hashicorp/consul-template/template"
	"github.com/rotorproject/rotor/lease"
)

// recorder collects, during one execution of a template, the secrets it
// used and those the store did not hold yet.
type recorder struct {
	store *lease.Store // nil for a dry run (syntax check, rotor validate -online)
	// lookup serves a dry run (DryRun) the values it resolved, when store
	// is nil.
	lookup  func(key string) (lease.Value, bool)
	used    map[string]lease.Ref
	missing map[string]lease.Ref
	files   map[string]bool // local files read (the file function)
	// reuse, when set, gives the store a still-valid certificate found at
	// the template's destination for a pkiCert call the store does not
	// hold yet (see Runner.reuseCert). Nil for env templates and dry runs.
	reuse func(lease.Ref)
	// scratch is this execution's scratch (see scratchFunc); nil until
	// the template asks for it.
	scratch *ctemplate.Scratch
	// writes are this execution's writeToFile calls, staged (sidewrite.go).
	writes []sideWrite
	// fileVals are the contents the file function read, for redaction:
	// a file may hold a secret (a key, a password).
	fileVals []string
}

func (r *recorder) reset() {
	r.used, r.missing, r.files = map[string]lease.Ref{}, map[string]lease.Ref{}, map[string]bool{}
	r.scratch, r.writes, r.fileVals = nil, nil, nil
}

// get returns the stored value of ref, or records it as missing.
func (r *recorder) get(ref lease.Ref) (lease.Value, bool) {
	k := ref.Key()
	r.used[k] = ref
	if r.store != nil {
		if v, ok := r.store.Lookup(k); ok {
			return v, true
		}
	} else if r.lookup != nil {
		if v, ok := r.lookup(k); ok {
			return v, true
		}
	}
	r.missing[k] = ref
	return lease.Value{}, false
}

// consulFuncs read Consul or Nomad, which rotor does not talk to. They
// fail with a clear message instead of waiting forever for data.
var consulFuncs = []string{"datacenters", "exportedServices", "key", "keyExists", "keyOrDefault", "ls", "safeLs",
	"node", "nodes", "partitions", "peerings", "service", "connect", "services", "tree", "safeTree", "caRoots",
	"caLeaf", "nomadServices", "nomadService", "nomadVarList", "nomadVarListSafe", "nomadVar", "nomadVarExists"}

// funcMap overrides consul-template's Vault and file functions so they are
// served by rotor's scheduler; every other function (toJSON, base64Encode,
// env, sprig helpers, ...) is consul-template's own.
func (t *tmpl) funcMap() map[string]any {
	m := map[string]any{
		"secret":  t.secretFunc,
		"secrets": t.secretsFunc,
		"pkiCert": t.pkiCertFunc,
		"file":    t.fileFunc,
		// writeToFile is staged until the template publishes: a render
		// that is thrown away must not write (sidewrite.go).
		"writeToFile": t.writeToFileFunc,
	}
	for _, name := range consulFuncs {
		m[name] = consulFunc(name)
	}
	if t.dry != nil {
		t.dry.override(m) // a dry run runs no command and prints nothing
	}
	return m
}

// consulFunc is what a Consul or Nomad function does in rotor: fail.
func consulFunc(name string) func(...any) (any, error) {
	return func(...any) (any, error) {
		return nil, fmt.Errorf("%s reads Consul or Nomad; rotor only talks to Vault", name)
	}
}

// secretFunc is `secret "path"` (read) or `secret "path" "k=v" ...` (write).
// A secret not fetched yet yields nil, as in consul-template: `with`
// skips it, and the runner fetches it and renders again.
func (t *tmpl) secretFunc(path string, args ...string) (any, error) {
	ref, err := lease.ParseSecretArgs(append([]string{path}, args...))
	if err != nil {
		return nil, err
	}
	v, ok := t.rec.get(ref)
	if !ok || v.Secret == nil {
		return nil, nil
	}
	return dependencySecret(v.Secret), nil
}

// dependencySecret gives templates consul-template's shape of a secret:
// its field names are what templates (and toJSON) see.
func dependencySecret(s *lease.Secret) *dependency.Secret {
	d := &dependency.Secret{RequestID: s.RequestID, LeaseID: s.LeaseID, LeaseDuration: s.LeaseDuration,
		Renewable: s.Renewable, Data: s.Data, Warnings: s.Warnings}
	if a := s.Auth; a != nil {
		d.Auth = &dependency.SecretAuth{ClientToken: a.ClientToken, Accessor: a.Accessor, Policies: a.Policies,
			Metadata: a.Metadata, LeaseDuration: a.LeaseDuration, Renewable: a.Renewable}
	}
	if w := s.WrapInfo; w != nil {
		d.WrapInfo = &dependency.SecretWrapInfo{Token: w.Token, TTL: w.TTL, CreationTime: w.CreationTime, WrappedAccessor: w.WrappedAccessor}
	}
	return d
}

// secretsFunc is `secrets "path"`: the keys listed under path.
func (t *tmpl) secretsFunc(p string) ([]string, error) {
	p = strings.Trim(p, "/")
	if p == "" {
		return nil, nil
	}
	v, ok := t.rec.get(lease.Ref{Kind: lease.KindList, Path: p})
	if !ok {
		return nil, nil
	}
	return v.List, nil
}

// pkiCertFunc is `pkiCert "pki/issue/role" "common_name=..."`: the
// certificate, key and CA as PEM, from the same shared issue call that a
// `secret` with the same arguments would use. The fields are Vault
// Agent's, byte for byte (see pemsFromData): each PEM ends with a newline.
// As in Vault Agent, a certificate still valid at the template's
// destination is used instead of issuing a new one at each start.
func (t *tmpl) pkiCertFunc(path string, args ...string) (any, error) {
	ref, err := lease.ParseSecretArgs(append([]string{path}, args...))
	if err != nil {
		return nil, err
	}
	if ref.Kind != lease.KindWrite {
		ref.Kind, ref.Data = lease.KindWrite, map[string]string{}
	}
	if t.rec.reuse != nil {
		t.rec.reuse(ref)
	}
	v, ok := t.rec.get(ref)
	if !ok || v.Secret == nil {
		return nil, nil
	}
	pems, _, err := pemsFromData(v.Secret.Data)
	if err != nil {
		return nil, err
	}
	return pems, nil
}

// maxRedactedFile bounds the content of a file read by the file function
// that is hidden from errors and command output: every 16-byte piece of
// it is indexed (about 40 bytes of memory per byte of content). Secret
// files (keys, passwords, tokens) are far smaller.
const maxRedactedFile = 64 << 10

// fileFunc is `file "path"`: the file's content, read at each render (a
// regular file only, at most MaxBytes), confined to sandbox_path when set.
func (t *tmpl) fileFunc(p string) (string, error) {
	if p == "" {
		return "", nil
	}
	if t.rec.files != nil {
		t.rec.files[p] = true // watched: a change renders the template again
	}
	s, err := readLocal(p, t.cfg.SandboxPath, t.cfg.MaxBytes)
	if err != nil {
		return "", fmt.Errorf("file: %w", err)
	}
	if len(s) <= maxRedactedFile {
		t.rec.fileVals = append(t.rec.fileVals, s)
	}
	return s, nil
}
