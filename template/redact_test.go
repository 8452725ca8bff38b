package template

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/vault/api"
	"github.com/rotorproject/rotor/auth"
	"github.com/rotorproject/rotor/internal/command"
	"github.com/rotorproject/rotor/internal/redact"
	"github.com/rotorproject/rotor/internal/vaultclient"
	"github.com/rotorproject/rotor/lease"
)

// Secrets shaped like those that leaked: a PEM key, a JSON credential, and
// a password full of quotes and backslashes.
var leakSecrets = map[string]string{
	"pem": "-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQC7VJTUt9Us8cKj\n" +
		"MzEfYyjiWA4R4/M2bS1GB4t7NXp98C3SC6dVMvDuictGeurT8jNbvJZHtCSuYEvu\n-----END PRIVATE KEY-----\n",
	"json": `{"type":"service_account","private_key_id":"7f3a9c1e5b2d4f6a8c0e","client_secret":"cs-0123456789abcdef"}`,
	"pw":   `p@ss"w'o\rd-0123456789-"quoted"`,
}

// stringFuncs are consul-template's functions that take a string.
// writeToFile, spew_dump and spew_printf are left out: they write their
// argument to a file or to rotor's standard output, which is what they
// are for (validate warns about them).
var stringFuncs = []string{
	"base64Decode", "base64Encode", "base64URLDecode", "base64URLEncode", "contains", "containsAll",
	"containsAny", "containsNone", "containsNotAll", "env", "mustEnv", "envOrDefault", "executeTemplate",
	"explode", "in", "indent", "join", "trim", "trimPrefix", "trimSuffix", "trimSpace", "parseBool",
	"parseFloat", "parseInt", "parseJSON", "parseUint", "parseYAML", "plugin", "regexReplaceAll",
	"regexMatch", "replaceAll", "sha256Hex", "md5sum", "hmacSHA256Hex", "timestamp", "toLower", "toJSON",
	"toTitle", "toUpper", "split", "splitToMap", "sockaddr", "add", "subtract", "multiply", "divide",
	"modulo", "minimum", "maximum", "file", "secret", "secrets", "pkiCert", "key", "keyOrDefault",
	"service", "nomadVar", "spew_sprintf", "sprig_atoi", "sprig_int", "sprig_float64",
	"sprig_b64dec", "sprig_regexFind", "sprig_fromJson", "sprig_mustFromJson", "sprig_semver", "sprig_toDate",
	"sprig_urlParse", "sprig_mustRegexMatch", "sprig_fail",
}

// kvVault serves kv/<name> with the secret as .Data.v, and answers every
// other path with Vault's 404, which quotes the path it was asked for.
func kvVault() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if name, ok := strings.CutPrefix(r.URL.Path, "/v1/kv/"); ok && leakSecrets[name] != "" {
			json.NewEncoder(w).Encode(map[string]any{"data": map[string]any{"v": leakSecrets[name]}})
			return
		}
		w.WriteHeader(404)
		json.NewEncoder(w).Encode(map[string]any{"errors": []string{"no handler for route " + strings.TrimPrefix(r.URL.Path, "/v1/")}})
	})
}

type syncBuf struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuf) Write(p []byte) (int, error) { s.mu.Lock(); defer s.mu.Unlock(); return s.b.Write(p) }
func (s *syncBuf) String() string              { s.mu.Lock(); defer s.mu.Unlock(); return s.b.String() }

// Every function that takes a string, fed each secret in each argument
// position, fails or succeeds without a 16-byte piece of the secret in the
// logs, the templates' status, or the error Run returns.
func TestNoSecretInErrorsOfAnyFunction(t *testing.T) {
	srv := httptest.NewServer(kvVault())
	defer srv.Close()
	c, err := vaultclient.New(vaultclient.Config{Address: srv.URL}, vaultclient.Options{})
	if err != nil {
		t.Fatal(err)
	}
	store := lease.NewStore(lease.Options{Client: c, Policy: lease.Policy{Threshold: 0.9, StaticInterval: time.Hour}})
	store.SetToken(auth.NewToken(&api.Secret{Auth: &api.SecretAuth{ClientToken: "t", LeaseDuration: 3600}}, time.Now()))
	dir := t.TempDir()
	var specs []Spec
	for name := range leakSecrets {
		s := fmt.Sprintf(`(secret "kv/%s").Data.v`, name)
		for _, fn := range stringFuncs {
			for i, call := range []string{fn + " " + s, fn + " " + s + ` "x"`, fn + ` "x" ` + s, fn + " " + s + " " + s, s + " | " + fn} {
				sp := Spec{
					Contents:    "{{ " + call + " }}",
					Destination: filepath.Join(dir, fmt.Sprintf("%s-%s-%d", name, fn, i)),
					Perms:       0o600,
				}
				if _, err := Check(sp); err != nil {
					continue // refused at start (e.g. argument count): it never runs
				}
				specs = append(specs, sp)
			}
		}
		// A reload command that prints the secret, and fails.
		specs = append(specs, Spec{Contents: "{{ " + s + " }}", Destination: filepath.Join(dir, name+"-cmd"), Perms: 0o600,
			Command: command.Command{Shell: "cat " + filepath.Join(dir, name+"-cmd") + "; echo; cat " + filepath.Join(dir, name+"-cmd") + " | tr -d '\\n'; exit 3"}})
	}
	var logs syncBuf
	r, err := New(specs, nil, Options{Store: store, Once: true, MaxRetries: 1, Env: []string{"PATH=/usr/bin:/bin"},
		Logger: slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()
	go store.Run(ctx)
	runErr := r.Run(ctx)
	var all strings.Builder
	all.WriteString(logs.String())
	if runErr != nil {
		all.WriteString(runErr.Error())
	}
	failures := 0
	for _, st := range r.Status() {
		all.WriteString(st.LastError)
		if st.LastError != "" {
			failures++
		}
	}
	if failures < len(specs)/4 || !strings.Contains(all.String(), redact.Mask) {
		t.Fatalf("only %d of %d templates failed, %q redactions: the test exercises nothing", failures, len(specs), redact.Mask)
	}
	for name, secret := range leakSecrets {
		for i := 0; i+redact.Window <= len(secret); i++ {
			if piece := secret[i : i+redact.Window]; strings.Contains(all.String(), piece) {
				t.Fatalf("a piece of the %s secret (%q) reached the logs, status or error", name, piece)
			}
		}
	}
	t.Logf("%d templates, %d failed; no secret piece in %d bytes of logs and errors", len(specs), failures, all.Len())
}

// Command output is kept as a head and a tail. A secret straddling the
// two, with nothing dropped between them, is redacted as the one stream
// it is; with output dropped, neither part keeps 16 bytes of a secret.
func TestCommandOutputRedactedAcrossHeadAndTail(t *testing.T) {
	secret := "s3cr3t-straddling-20" // 20 bytes: 10 in the head, 10 in the tail
	set := redact.New(func(yield func(string) bool) { yield(secret) })
	for _, extra := range []int{0, 100 << 10} {
		var h headTail
		h.Write([]byte(strings.Repeat("a", outputHead-10)))
		h.Write([]byte(secret + "\n"))
		h.Write([]byte(strings.Repeat("b\n", extra/2)))
		out := h.redacted(set)
		for i := 0; i+16 <= len(secret); i++ {
			if strings.Contains(out, secret[i:i+16]) {
				t.Fatalf("extra %d: output keeps %q of the secret", extra, secret[i:i+16])
			}
		}
		if !strings.HasPrefix(out, strings.Repeat("a", outputHead-10)) {
			t.Fatalf("extra %d: the output before the secret was lost", extra)
		}
	}
}
