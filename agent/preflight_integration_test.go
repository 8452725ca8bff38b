package agent

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/vault/api"
	"github.com/rotorproject/rotor/agent/config"
	"github.com/rotorproject/rotor/test/harness/pgtest"
	"github.com/rotorproject/rotor/test/harness/vaulttest"
)

// preflightVault is a Vault with KV v2 (secret/app, secret/other), the
// article's PKI (issuing with leases, so that an issue would show in
// sys/leases) and database engine on a real PostgreSQL, and an approle
// login whose policy reads secret/app* but not secret/other.
type preflightVault struct {
	srv  *vaulttest.Server
	root *api.Client
	pg   *pgtest.Postgres
	dir  string
	// secretIDFile is the approle secret_id's file, which the agent
	// removes after reading (remove_secret_id_file_after_reading's
	// default) but a check must not.
	secretIDFile string
	roleIDFile   string
}

// auth is the auto_auth block, with sinks (HCL) inside.
func (v *preflightVault) auth(sinks string) string {
	return fmt.Sprintf(`
auto_auth {
  method "approle" {
    config = {
      role_id_file_path   = %q
      secret_id_file_path = %q
    }
  }
%s
}
`, v.roleIDFile, v.secretIDFile, sinks)
}

const preflightPolicy = `
path "secret/data/app*" { capabilities = ["read"] }
path "pki_int/issue/web-servers" { capabilities = ["update"] }
path "database/creds/myapp-readonly" { capabilities = ["read"] }
`

func newPreflightVault(t *testing.T) *preflightVault {
	t.Helper()
	srv := vaulttest.Start(t)
	root := srv.Client(t)
	vaulttest.SetupPKI(t, root, "720h", map[string]any{"generate_lease": true})
	pg := pgtest.Start(t)
	pgtest.SetupVaultDatabase(t, root, pg, "1h", "2h")
	for p, data := range map[string]map[string]any{
		"secret/data/app":   {"data": map[string]any{"user": "alice", "pass": "kv-pass-0123456789"}},
		"secret/data/other": {"data": map[string]any{"x": "y"}},
	} {
		if _, err := root.Logical().Write(p, data); err != nil {
			t.Fatal(err)
		}
	}
	vaulttest.WritePolicy(t, root, "app", preflightPolicy)
	roleID, secretID := vaulttest.SetupAppRole(t, root, "approle", "app", nil)
	dir, creds := t.TempDir(), t.TempDir()
	return &preflightVault{srv: srv, root: root, pg: pg, dir: dir,
		roleIDFile: writeFile(t, creds, "role_id", roleID), secretIDFile: writeFile(t, creds, "secret_id", secretID)}
}

// trace is what a check must leave unchanged: leases, issued
// certificates, database users, and the files under dir.
type trace struct {
	leases, certs, users, files []string
	tokens                      int
}

func (v *preflightVault) trace(t *testing.T, dir string) trace {
	t.Helper()
	var tr trace
	for _, prefix := range []string{"pki_int/issue/web-servers/", "database/creds/myapp-readonly/", "auth/approle/login/"} {
		s, err := v.root.Logical().List("sys/leases/lookup/" + prefix)
		if err != nil {
			t.Fatal(err)
		}
		if s != nil {
			for _, k := range s.Data["keys"].([]any) {
				tr.leases = append(tr.leases, prefix+k.(string))
			}
		}
	}
	if s, err := v.root.Logical().List("pki_int/certs"); err != nil {
		t.Fatal(err)
	} else if s != nil {
		for _, k := range s.Data["keys"].([]any) {
			tr.certs = append(tr.certs, k.(string))
		}
	}
	if s, err := v.root.Logical().List("auth/token/accessors"); err != nil {
		t.Fatal(err)
	} else if s != nil {
		tr.tokens = len(s.Data["keys"].([]any))
	}
	tr.users = v.pg.Roles(t, "v-")
	filepath.WalkDir(dir, func(p string, _ os.DirEntry, err error) error {
		if err == nil {
			tr.files = append(tr.files, p)
		}
		return nil
	})
	sort.Strings(tr.files)
	return tr
}

func (tr trace) String() string {
	return fmt.Sprintf("leases %v, certs %d, tokens %d, database users %v, files %v", tr.leases, len(tr.certs), tr.tokens, tr.users, tr.files)
}

// noSideEffects fails the test if Vault's audit log shows a request on a
// path that creates a lease, a certificate or a database user, and checks
// that the capability checks and KV reads did happen.
func (v *preflightVault) noSideEffects(t *testing.T) {
	t.Helper()
	var caps, kv int
	for _, r := range v.srv.Requests(t) {
		switch {
		case strings.HasPrefix(r.Path, "database/creds/"), strings.HasPrefix(r.Path, "pki_int/issue/"):
			t.Errorf("the check sent %s %s", r.Operation, r.Path)
		case r.Path == "sys/capabilities-self":
			caps++
		case strings.HasPrefix(r.Path, "secret/data/") && r.Operation == "read":
			kv++
		}
	}
	if caps == 0 || kv == 0 {
		t.Errorf("%d capability checks and %d KV reads in the audit log; want some of each", caps, kv)
	}
}

// blockLine is the line of the n-th (0-based) occurrence of block in
// hcl, as file:line:1.
func blockLine(file, hcl, block string, n int) string {
	for i, line := range strings.Split(hcl, "\n") {
		if strings.HasPrefix(line, block) {
			if n == 0 {
				return fmt.Sprintf("%s:%d:1", file, i+1)
			}
			n--
		}
	}
	return "not found"
}

func TestPreflightPassesACorrectConfigAndLeavesNoTrace(t *testing.T) {
	v := newPreflightVault(t)
	out := filepath.Join(v.dir, "out")
	os.MkdirAll(out, 0o755)
	marker := filepath.Join(v.dir, "command-ran")
	hcl := v.auth(fmt.Sprintf(`sink "file" { config = { path = %q } }`, filepath.Join(out, "token"))) + fmt.Sprintf(`
template {
  contents = "{{ with secret \"secret/app\" }}{{ .Data.data.user }}{{ end }}"
  destination = %[2]q
  error_on_missing_key = true
  command = "touch %[3]s"
}
template {
  contents = "{{ with secret \"pki_int/issue/web-servers\" \"common_name=a.example.com\" }}{{ .Data.certificate }}{{ range .Data.ca_chain }}{{ . }}{{ end }}{{ .Data.private_key }}{{ end }}"
  destination = %[4]q
  error_on_missing_key = true
}
template {
  contents = "{{ with pkiCert \"pki_int/issue/web-servers\" \"common_name=b.example.com\" }}{{ .Cert }}{{ .Key }}{{ end }}"
  destination = %[5]q
}
template {
  contents = "{{ with secret \"database/creds/myapp-readonly\" }}{{ .Data.username }}:{{ .Data.password }}{{ end }}"
  destination = %[6]q
  error_on_missing_key = true
}
`, "", filepath.Join(out, "app.txt"), marker, filepath.Join(out, "tls", "cert.pem"),
		filepath.Join(out, "tls", "both.pem"), filepath.Join(out, "db.env"))
	cfg := loadConfig(t, v.srv, hcl)
	if problems, _ := Validate(cfg); len(problems) > 0 {
		t.Fatalf("offline validate: %v", problems)
	}
	// exec mode: env templates and a command, never run.
	execHCL := v.auth("") + fmt.Sprintf(`
env_template "APP_USER" {
  contents = "{{ with secret \"secret/app\" }}{{ .Data.data.user }}{{ end }}"
  error_on_missing_key = true
}
env_template "DB_USER" {
  contents = "{{ with secret \"database/creds/myapp-readonly\" }}{{ .Data.username }}{{ end }}"
  error_on_missing_key = true
}
exec {
  command = ["sh", "-c", "touch %s"]
}
`, marker)
	before := v.trace(t, v.dir)

	var text strings.Builder
	kinds := map[string]int{}
	for _, cfg := range []*config.Config{cfg, loadConfig(t, v.srv, execHCL)} {
		rep, err := Preflight(t.Context(), cfg, PreflightOptions{})
		if err != nil {
			t.Fatal(err)
		}
		rep.WriteText(&text)
		if !rep.OK || rep.Failing() != 0 {
			t.Errorf("a correct configuration fails the check")
		}
		if !rep.TokenRevoked {
			t.Errorf("the token rotor logged in for was not revoked")
		}
		for _, p := range rep.Parts {
			kinds[p.Kind]++
			if p.Status != statusOK {
				t.Errorf("%s %s: %s %v", p.Kind, p.Name, p.Status, p.Problems)
			}
		}
	}
	t.Logf("reports:\n%s", text.String())
	if kinds["template"] != 4 || kinds["env_template"] != 2 || kinds["sink"] != 1 || kinds["exec"] != 1 {
		t.Errorf("parts %v, want 4 templates, 2 env_templates, 1 sink, 1 exec", kinds)
	}
	// What was only checked by capability says so.
	for _, want := range []string{"keys of pki_int/issue/web-servers (common_name): a write", "keys of database/creds/myapp-readonly: a database mount"} {
		if !strings.Contains(text.String(), "not checked: "+want) {
			t.Errorf("the report does not say %q is not checked", want)
		}
	}
	if strings.Contains(text.String(), "kv-pass-0123456789") {
		t.Errorf("the report shows a secret value")
	}

	// No trace: no lease (the approle login's lease went with its
	// token), no certificate, no database user, no file, no command.
	vaulttest.Eventually(t, 10*time.Second, func() error {
		if after := v.trace(t, v.dir); after.String() != before.String() {
			return fmt.Errorf("before: %s\nafter:  %s", before, after)
		}
		return nil
	})
	// Nothing that creates a lease or a certificate was even asked for
	// (the token's revocation would have cleaned up after it otherwise).
	v.noSideEffects(t)
	if _, err := os.Stat(v.secretIDFile); err != nil {
		t.Errorf("the secret_id file is gone (remove_secret_id_file_after_reading must not apply): %v", err)
	}
}

func TestPreflightNamesWhatWouldFail(t *testing.T) {
	v := newPreflightVault(t)
	out := filepath.Join(v.dir, "out")
	os.MkdirAll(out, 0o755)
	hcl := v.auth("") + fmt.Sprintf(`
template {
  contents = "{{ with secret \"secret/app\" }}{{ .Data.data.user }}{{ end }}"
  destination = %[1]q
}
template {
  contents = "{{ with secret \"secret/other\" }}{{ .Data.data.x }}{{ end }}"
  destination = %[2]q
}
template {
  contents = "{{ with secret \"secret/app\" }}{{ .Data.data.user }}\n{{ .Data.data.nokey }}{{ end }}"
  destination = %[3]q
  error_on_missing_key = true
}
template {
  contents = "{{ with secret \"secret/app-gone\" }}{{ .Data.data.x }}{{ end }}"
  destination = %[4]q
}
template {
  contents = "{{ with secret \"pki_int/issue/other-role\" \"common_name=a.example.com\" }}{{ .Data.certificate }}{{ end }}"
  destination = %[5]q
}
template {
  contents = "{{ with secret \"secret/app\" }}{{ .Data.data.user | parseInt }}{{ end }}"
  destination = %[6]q
}
template {
  contents = "x"
  destination = "/proc/rotor-cannot-write-here/x"
  create_dest_dirs = false
}
`, filepath.Join(out, "ok"), filepath.Join(out, "denied"), filepath.Join(out, "nokey"), filepath.Join(out, "gone"),
		filepath.Join(out, "pki"), filepath.Join(out, "bad"))
	cfg := loadConfig(t, v.srv, hcl)
	before := v.trace(t, v.dir)
	rep, err := Preflight(t.Context(), cfg, PreflightOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var text strings.Builder
	rep.WriteText(&text)
	t.Logf("report:\n%s", text.String())
	if rep.OK || rep.Failing() != 6 {
		t.Errorf("ok %v, %d failing; want 6", rep.OK, rep.Failing())
	}
	file := cfg.Files[0]
	want := []struct {
		status, path, capability, key string
		line                          int
	}{
		{status: statusOK},
		{status: statusDenied, path: "secret/data/other", capability: "read"},
		{status: statusMissingKey, key: "nokey", line: 2},
		{status: statusMissingSecret, path: "secret/data/app-gone"},
		{status: statusDenied, path: "pki_int/issue/other-role", capability: "update"},
		{status: statusTemplateError, line: 1},
		{status: statusNotWritable, path: "/proc/rotor-cannot-write-here"},
	}
	if len(rep.Parts) != len(want) {
		t.Fatalf("%d parts, want %d", len(rep.Parts), len(want))
	}
	for i, w := range want {
		p := rep.Parts[i]
		if pos := blockLine(file, hcl, "template {", i); p.Position != pos {
			t.Errorf("part %d: position %s, want %s", i, p.Position, pos)
		}
		if p.Status != w.status {
			t.Errorf("part %d (%s): status %s, want %s (%v)", i, p.Name, p.Status, w.status, p.Problems)
			continue
		}
		if w.status == statusOK {
			continue
		}
		pr := p.Problems[0]
		if pr.Path != w.path || pr.Capability != w.capability || pr.Key != w.key || (w.line > 0 && pr.Line != w.line) {
			t.Errorf("part %d (%s): problem %+v, want %+v", i, p.Name, pr, w)
		}
	}
	if !slices.ContainsFunc(strings.Split(text.String(), "\n"), func(l string) bool {
		return strings.HasPrefix(l, "FAIL template "+filepath.Join(out, "denied")+" ("+blockLine(file, hcl, "template {", 1)+"): denied")
	}) {
		t.Errorf("the text report does not name the denied template with its position")
	}
	if strings.Contains(text.String(), "alice") {
		t.Errorf("the report shows a secret value (parseInt's error quotes it)")
	}
	vaulttest.Eventually(t, 10*time.Second, func() error {
		if after := v.trace(t, v.dir); after.String() != before.String() {
			return fmt.Errorf("before: %s\nafter:  %s", before, after)
		}
		return nil
	})
	v.noSideEffects(t)
}
