package differential

import (
	"crypto"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
)

// What differs between two agents rendering the same template against the
// same Vault is what Vault makes anew for each request: certificates and
// keys, serial numbers, database users and passwords, lease and request
// IDs, tokens, times. mask replaces each of those with a placeholder that
// keeps its shape, so that everything else (the template's own text,
// newlines, field order, the CA certificates, KV values) is compared byte
// for byte. A one-byte difference outside a masked value is a difference.

// pemRE matches one PEM block, without the newline after its END line, so
// the newlines between and after blocks stay in the compared text.
var pemRE = regexp.MustCompile(`-----BEGIN ([A-Z0-9 ]+)-----\n[A-Za-z0-9+/=\n]*?-----END ([A-Z0-9 ]+)-----`)

// maskers run in order, after PEM blocks are replaced.
var maskers = []struct {
	re   *regexp.Regexp
	repl string
}{
	// Vault tokens (service, batch, recovery).
	{regexp.MustCompile(`\bhv[sbr]\.[A-Za-z0-9_-]{20,}`), "<token>"},
	// Request IDs, entity IDs.
	{regexp.MustCompile(`\b[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b`), "<uuid>"},
	// Database users, from the postgres plugin's default template
	// v-<display name, 8>-<role, 8>-<random 20>-<unix time>: the shape and
	// the two names stay.
	{regexp.MustCompile(`\bv-([A-Za-z0-9_]{1,8})-([A-Za-z0-9_-]{1,8})-[A-Za-z0-9]{20}-[0-9]{10}\b`), "v-$1-$2-<random20>-<unixtime>"},
	// Lease IDs' random part and token accessors: 24 letters and digits.
	{regexp.MustCompile(`\b[A-Za-z0-9]{24}\b`), "<id24>"},
	// Certificate serial numbers, as Vault writes them.
	{regexp.MustCompile(`\b[0-9a-f]{2}(?::[0-9a-f]{2}){7,}\b`), "<serial>"},
	// Times: RFC 3339, and Unix seconds (a certificate's expiration).
	{regexp.MustCompile(`\b\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:Z|[+-]\d{2}:\d{2})`), "<time>"},
	{regexp.MustCompile(`\b1[7-9][0-9]{8}\b`), "<unixtime>"},
}

// passwordRE finds candidates for Vault's default generated passwords:
// 20 characters of letters, digits and dashes (see maskPasswords).
var passwordRE = regexp.MustCompile(`[A-Za-z0-9-]+`)

// maskPasswords replaces each run of exactly 20 letters, digits and dashes
// that holds an upper-case letter, a lower-case letter, a digit and a dash:
// the shape of the passwords Vault's default policy generates.
func maskPasswords(s string) string {
	return passwordRE.ReplaceAllStringFunc(s, func(w string) string {
		if len(w) == 20 && strings.ContainsAny(w, "ABCDEFGHIJKLMNOPQRSTUVWXYZ") &&
			strings.ContainsAny(w, "abcdefghijklmnopqrstuvwxyz") && strings.ContainsAny(w, "0123456789") && strings.Contains(w, "-") {
			return "<password20>"
		}
		return w
	})
}

// rendered is one agent's file, masked, with what its PEM blocks held.
type rendered struct {
	masked string
	mode   fs.FileMode
	leaves []*x509.Certificate // leaf certificates
	keys   []crypto.PublicKey  // public halves of the private keys
}

// mask replaces what Vault makes anew per request in b. CA certificates
// are kept whole: both agents talk to the same Vault. A PEM block that is
// not exactly what encoding/pem writes (64-column lines, no headers) is
// marked "noncanonical", so a mangled block is a difference too.
func mask(b []byte) rendered {
	var r rendered
	s := pemRE.ReplaceAllStringFunc(string(b), func(m string) string {
		block, rest := pem.Decode([]byte(m))
		if block == nil || len(strings.TrimSpace(string(rest))) != 0 {
			return "<PEM unparsable>"
		}
		note := ""
		if string(pem.EncodeToMemory(block)) != m+"\n" {
			note = " noncanonical"
		}
		switch {
		case block.Type == "CERTIFICATE":
			c, err := x509.ParseCertificate(block.Bytes)
			if err != nil {
				return "<CERTIFICATE unparsable>"
			}
			if c.IsCA {
				return m // the same Vault, the same CA: compared byte for byte
			}
			r.leaves = append(r.leaves, c)
			return fmt.Sprintf("<CERTIFICATE leaf CN=%s%s>", c.Subject.CommonName, note)
		case strings.HasSuffix(block.Type, "PRIVATE KEY"):
			pub, err := publicKey(block)
			if err != nil {
				return "<" + block.Type + " unparsable>"
			}
			r.keys = append(r.keys, pub)
			return "<" + block.Type + note + ">"
		}
		return "<" + block.Type + note + ">"
	})
	for _, m := range maskers {
		s = m.re.ReplaceAllString(s, m.repl)
	}
	r.masked = maskPasswords(s)
	return r
}

func publicKey(b *pem.Block) (crypto.PublicKey, error) {
	var k any
	var err error
	switch b.Type {
	case "RSA PRIVATE KEY":
		k, err = x509.ParsePKCS1PrivateKey(b.Bytes)
	case "EC PRIVATE KEY":
		k, err = x509.ParseECPrivateKey(b.Bytes)
	default:
		k, err = x509.ParsePKCS8PrivateKey(b.Bytes)
	}
	if err != nil {
		return nil, err
	}
	s, ok := k.(crypto.Signer)
	if !ok {
		return nil, fmt.Errorf("unsupported key type %T", k)
	}
	return s.Public(), nil
}

// readTree reads every regular file under dir, masked, by relative path.
func readTree(dir string) (map[string]rendered, error) {
	out := map[string]rendered{}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		st, err := os.Lstat(p)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		r := mask(b)
		r.mode = st.Mode()
		out[rel] = r
		return nil
	})
	if os.IsNotExist(err) {
		return out, nil
	}
	return out, err
}

// compareTrees compares two agents' output directories and returns every
// difference, in file order. Each run must also be sound on its own: every
// private key matches a leaf certificate of the same file, or of the run
// when its file holds no certificate (a key file beside a cert file).
func compareTrees(want, got map[string]rendered) []string {
	var diffs []string
	names := map[string]bool{}
	for n := range want {
		names[n] = true
	}
	for n := range got {
		names[n] = true
	}
	sorted := make([]string, 0, len(names))
	for n := range names {
		sorted = append(sorted, n)
	}
	sort.Strings(sorted)
	for _, n := range sorted {
		w, okW := want[n]
		g, okG := got[n]
		switch {
		case !okW:
			diffs = append(diffs, n+": written by rotor only")
			continue
		case !okG:
			diffs = append(diffs, n+": not written by rotor")
			continue
		}
		if w.masked != g.masked {
			diffs = append(diffs, n+": "+firstDifference(w.masked, g.masked))
		}
		if w.mode.Perm() != g.mode.Perm() {
			diffs = append(diffs, fmt.Sprintf("%s: mode %04o, Vault Agent's %04o", n, g.mode.Perm(), w.mode.Perm()))
		}
	}
	if p := unmatchedKeys(want); p != "" {
		diffs = append(diffs, "Vault Agent: "+p)
	}
	if p := unmatchedKeys(got); p != "" {
		diffs = append(diffs, "rotor: "+p)
	}
	return diffs
}

// unmatchedKeys names the first file of a run holding a private key that
// matches none of the run's certificates ("" if all match, or if the run
// rendered no certificate to check against, as a key-only template).
func unmatchedKeys(tree map[string]rendered) string {
	var all []*x509.Certificate
	for _, r := range tree {
		all = append(all, r.leaves...)
	}
	if len(all) == 0 {
		return ""
	}
	names := make([]string, 0, len(tree))
	for n := range tree {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		r := tree[n]
		pool := r.leaves
		if len(pool) == 0 {
			pool = all
		}
		for _, k := range r.keys {
			if !matches(pool, k) {
				return n + ": the private key matches no certificate rendered with it"
			}
		}
	}
	return ""
}

func matches(certs []*x509.Certificate, pub crypto.PublicKey) bool {
	type equaler interface{ Equal(crypto.PublicKey) bool }
	for _, c := range certs {
		if e, ok := c.PublicKey.(equaler); ok && e.Equal(pub) {
			return true
		}
	}
	return false
}

// firstDifference describes where two masked texts part: the line, both
// versions of it (masked, so no secret is printed), and a note when only
// the final newline differs.
func firstDifference(want, got string) string {
	if strings.TrimSuffix(want, "\n") == strings.TrimSuffix(got, "\n") {
		return fmt.Sprintf("only the final newline differs (Vault Agent ends with %q, rotor with %q)", tail(want), tail(got))
	}
	wl, gl := strings.SplitAfter(want, "\n"), strings.SplitAfter(got, "\n")
	for i := 0; i < max(len(wl), len(gl)); i++ {
		var w, g string
		if i < len(wl) {
			w = wl[i]
		}
		if i < len(gl) {
			g = gl[i]
		}
		if w != g {
			return fmt.Sprintf("line %d differs:\n      Vault Agent: %q\n      rotor:       %q", i+1, elide(w), elide(g))
		}
	}
	return "differs" // not reached: unequal texts differ on some line
}

// longRunRE matches runs long enough to be a secret that no masker knew.
var longRunRE = regexp.MustCompile(`[A-Za-z0-9+/=_.-]{16,}`)

// elide shortens every long run of token characters that mixes letters
// and digits, in a line about to be printed, to its length: masking knows
// the shapes of Vault's secrets, and this keeps one of another shape out
// of the test's output. Words, host names and PEM armor stay readable.
func elide(s string) string {
	return longRunRE.ReplaceAllStringFunc(s, func(m string) string {
		if !strings.ContainsAny(m, "0123456789") || !strings.ContainsAny(strings.ToLower(m), "abcdefghijklmnopqrstuvwxyz") {
			return m
		}
		return fmt.Sprintf("<%d chars>", len(m))
	})
}

func tail(s string) string {
	if len(s) > 8 {
		return s[len(s)-8:]
	}
	return s
}
