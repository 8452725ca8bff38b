package lease

import (
	"fmt"
	"net/url"
	"sort"
	"strings"
)

// Kind is how a secret is obtained from Vault.
type Kind int

// Kinds, named after the template functions that ask for them.
const (
	KindRead  Kind = iota // secret "path" (GET)
	KindWrite             // secret "path" "k=v" ... (PUT), and pkiCert
	KindList              // secrets "path" (LIST)
)

// Ref names one secret. Templates that name the same Ref share one fetch
// and one value: a certificate and its key from one pki issue call match.
// The JSON names are those of rotor's state file.
type Ref struct {
	Kind  Kind              `json:"kind"`
	Path  string            `json:"path"`
	Query url.Values        `json:"query,omitempty"` // read: e.g. ?version=2 for KV v2
	Data  map[string]string `json:"data,omitempty"`  // write: the k=v arguments
}

// Key is the Ref's identity: kind, path and sorted arguments.
func (r Ref) Key() string {
	var b strings.Builder
	b.WriteString([...]string{"read:", "write:", "list:"}[r.Kind])
	b.WriteString(r.Path)
	if len(r.Query) > 0 {
		b.WriteString("?" + r.Query.Encode())
	}
	if len(r.Data) > 0 {
		keys := make([]string, 0, len(r.Data))
		for k := range r.Data {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			b.WriteString(" " + k + "=" + r.Data[k])
		}
	}
	return b.String()
}

// String names the secret for logs; written values may be secret, so
// only their keys are shown.
func (r Ref) String() string {
	s := r.Path
	if len(r.Query) > 0 {
		s += "?" + r.Query.Encode()
	}
	if len(r.Data) > 0 {
		keys := make([]string, 0, len(r.Data))
		for k := range r.Data {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		s += " (" + strings.Join(keys, ",") + ")"
	}
	return s
}

// ParseSecretArgs turns the arguments of the `secret` template function
// into a Ref: a read without k=v arguments, a write with them.
func ParseSecretArgs(args []string) (Ref, error) {
	if len(args) == 0 {
		return Ref{}, fmt.Errorf("secret: missing path")
	}
	p, rest := strings.Trim(strings.TrimSpace(args[0]), "/"), args[1:]
	if p == "" {
		return Ref{}, fmt.Errorf("secret: empty path")
	}
	data := map[string]string{}
	for _, a := range rest {
		if a == "" {
			continue
		}
		k, v, ok := strings.Cut(a, "=")
		if !ok {
			return Ref{}, fmt.Errorf("secret %q: argument %q is not k=v", p, a)
		}
		data[strings.TrimSpace(k)] = strings.TrimSpace(v)
	}
	if len(data) > 0 {
		return Ref{Kind: KindWrite, Path: p, Data: data}, nil
	}
	r := Ref{Kind: KindRead, Path: p}
	if i := strings.IndexByte(p, '?'); i >= 0 {
		q, err := url.ParseQuery(p[i+1:])
		if err != nil {
			return Ref{}, fmt.Errorf("secret %q: bad query: %v", p, err)
		}
		r.Path, r.Query = p[:i], q
	}
	return r, nil
}
