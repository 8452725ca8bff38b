package differential

import "strings"

// The corpus: the examples that touch Vault in consul-template's
// templating-language.md (v0.41.1) and in Vault Agent's template
// documentation and tutorials, the dynamic-secrets article's templates,
// and rotor's own shipped templates (configs/, examples/). Templates that
// come from documentation are short snippets, re-typed as test inputs with
// paths adapted to this Vault (testdata/SOURCES.md says where each comes
// from); configs/ and examples/ are read in place.

// file is one template block of a case.
type file struct {
	dest  string // destination, relative to the run's output directory
	tpl   string // template under testdata/, or
	repo  string // a template shipped in the repository (path from its root), or
	text  string // the template inline (contents)
	attrs string // more HCL attributes for the block
}

// envVar is one env_template block. A case with env templates runs in
// process supervisor mode: the child writes each variable to env/<NAME>
// in the output directory and exits.
type envVar struct {
	name  string
	text  string
	attrs string
}

// tcase is one configuration given to both agents.
type tcase struct {
	name  string
	from  string // where the templates come from, for the report
	files []file
	envs  []envVar
	extra string // more top-level HCL
	// fail: both agents must exit non-zero having written nothing.
	fail bool
	// restart: each agent runs a second time over its own output, and must
	// leave every file as it was (a certificate is reused, not re-issued).
	restart bool
	// known names a difference rotor keeps on purpose or has not fixed
	// yet: the case must then differ (so the note goes once it is fixed).
	known string
	// umask, when set, is the umask both agents run under (e.g. "077").
	umask string
	// login, when set, finds the database user and password in an agent's
	// files: they must log in to PostgreSQL.
	login func(files map[string]string) (user, password string)
}

// field returns the text after prefix on the first line of s that has it.
func field(s, prefix string) string {
	for _, line := range strings.Split(s, "\n") {
		if v, ok := strings.CutPrefix(line, prefix); ok {
			return v
		}
	}
	return ""
}

// failFast makes Vault Agent exit on a failed template instead of retrying
// it forever (its exit_after_auth alone waits); rotor exits either way.
const failFast = "template_config { exit_on_retry_failure = true }\n"

var corpus = []tcase{
	{name: "secret KV v1 and v2 reads", from: "consul-template docs: secret (simple, versioned read)", files: []file{
		{dest: "kv1.txt", tpl: "ct-secret-read.tpl"},
		{dest: "kv2-version.txt", tpl: "ct-secret-version.tpl"},
		{dest: "kv2-latest.txt", text: "{{ with secret \"secret/passwords\" }}\n{{ .Data.data.wifi }}{{ end }}"},
		{dest: "kv2-data-path.txt", text: "{{ with secret \"secret/data/passwords\" }}{{ .Data.data.wifi }}{{ end }}"},
		{dest: "guard.txt", tpl: "ct-secret-guard.tpl"},
	}},
	{name: "secret write: pki issue, token create", from: "consul-template docs: secret (write and read back)", files: []file{
		{dest: "cert.pem", tpl: "ct-secret-write-pki.tpl"},
		{dest: "token.txt", tpl: "ct-secret-write-token.tpl"},
	}},
	{name: "secrets on KV v1", from: "consul-template docs: secrets (list, nested read)", files: []file{
		{dest: "list.txt", tpl: "ct-secrets-kv1.tpl"},
		{dest: "nested.txt", tpl: "ct-secrets-nested.tpl"},
	}},
	{name: "secrets on a path with nothing under it", from: "consul-template docs: secrets", files: []file{
		{dest: "empty.txt", text: "{{ range secrets \"kv1/none/\" }}{{ . }}{{ end }}end"},
	}},
	{name: "secrets on KV v2", from: "consul-template docs: secrets", files: []file{
		{dest: "list.txt", tpl: "ct-secrets-kv2.tpl"},
		{dest: "sub.txt", text: "{{ range secrets \"secret/customers\" }}{{ . }},{{ end }}"},
	}},
	{name: "pkiCert fields", from: "consul-template docs: pkiCert (first example)", restart: true, files: []file{
		{dest: "cert.txt", tpl: "ct-pkicert.tpl"},
	}},
	{name: "pkiCert with the CA chain from secret", from: "consul-template docs: pkiCert (second example)", files: []file{
		{dest: "cert.txt", tpl: "ct-pkicert-ca-chain.tpl"},
	}},
	{name: "pkiCert and writeToFile", from: "consul-template docs: pkiCert (writeToFile example)", restart: true, files: []file{
		{dest: "bundle.pem", tpl: "ct-pkicert-writetofile.tpl"},
	}},
	{name: "pkiCert bundle", from: "Vault Agent docs: template, certificates", files: []file{
		{dest: "bundle.pem", tpl: "va-pkicert-bundle.tpl", attrs: `perms = "0600"`},
		{dest: "data.pem", tpl: "va-pkicert-data.tpl"},
	}},
	{name: "pkiCert reused after a restart", from: "Vault Agent docs: template, certificates (renewal)", restart: true, files: []file{
		{dest: "bundle.pem", tpl: "va-pkicert-bundle.tpl", attrs: `perms = "0600"`},
	}},
	{name: "default perms under umask 077", from: "the Vault Agent templates tutorial, with no perms", umask: "077", files: []file{
		{dest: "customer.txt", tpl: "va-tutorial-customer.tpl"},
	}, known: "rotor applies the umask to the 0644 default (0600 here, as under the shipped systemd unit's UMask=0077); Vault Agent writes 0644 whatever the umask"},
	{name: "KV v2 for an app", from: "Vault Agent templates tutorial (customer.tmpl)", files: []file{
		{dest: "customer.txt", tpl: "va-tutorial-customer.tpl"},
	}},
	{name: "database credentials", from: "Vault validated designs: agent templates", files: []file{
		{dest: "db.txt", tpl: "va-design-db.tpl"},
	}, login: func(f map[string]string) (string, string) {
		return field(f["db.txt"], "DBUser:"), field(f["db.txt"], "DBPassword:")
	}},
	{name: "article: certificate and key", from: "seed article cert.tpl; seed.hcl's template blocks", files: []file{
		{dest: "tls/server.crt", tpl: "seed-cert.tpl", attrs: `perms = "0644"` + "\n" + `command = "true"`},
		{dest: "tls/server.key", repo: "configs/nginx/key.tpl", attrs: `perms = "0600"` + "\n" + `command = "true"`},
	}},
	{name: "shipped configs and examples", from: "configs/nginx, configs/postgres, examples/demo", files: []file{
		{dest: "nginx/cert.pem", repo: "configs/nginx/cert.tpl"},
		{dest: "nginx/key.pem", repo: "configs/nginx/key.tpl", attrs: `perms = "0600"`},
		{dest: "app/db.env", repo: "configs/postgres/db.env.tpl", attrs: `perms = "0600"`},
		{dest: "demo/cert.pem", repo: "examples/demo/cert.tpl"},
		{dest: "demo/key.pem", repo: "examples/demo/key.tpl", attrs: `perms = "0600"`},
	}},
	{name: "KV data and metadata", from: "KV v1/v2 response shapes", files: []file{
		{dest: "kv.txt", tpl: "kv-data-metadata.tpl"},
	}},
	{name: "secret's own fields", from: "the value secret returns", files: []file{
		{dest: "fields.txt", tpl: "secret-fields.tpl"},
	}},
	{name: "static database role", from: "seed article: static roles", files: []file{
		{dest: "static.txt", tpl: "static-creds.tpl"},
	}},
	{name: "left_delimiter and right_delimiter", from: "Vault Agent docs: template options", files: []file{
		{dest: "delims.txt", tpl: "delimiters.tpl", attrs: `left_delimiter = "[["` + "\n" + `right_delimiter = "]]"`},
	}},
	{name: "missing key renders <no value>", from: "consul-template docs: error_on_missing_key", files: []file{
		{dest: "missing.txt", tpl: "missing-key.tpl"},
	}},
	{name: "error_on_missing_key fails", from: "consul-template docs: error_on_missing_key", fail: true, extra: failFast, files: []file{
		{dest: "missing.txt", tpl: "missing-key.tpl", attrs: "error_on_missing_key = true"},
	}},
	{name: "a missing secret fails", from: "consul-template: vault.read", fail: true, extra: failFast, files: []file{
		{dest: "none.txt", text: "{{ with secret \"secret/does-not-exist\" }}{{ .Data.data.x }}{{ end }}"},
	}},
	{name: "a denied path fails", from: "consul-template: vault.read", fail: true, extra: failFast, files: []file{
		{dest: "denied.txt", text: "{{ with secret \"database/config/myapp-db\" }}{{ .Data }}{{ end }}"},
	}},
	{name: "env_template and exec", from: "Vault Agent docs: process supervisor mode", envs: []envVar{
		{name: "API_KEY", text: "{{ with secret \"secret/data/app/config\" }}{{ .Data.data.api_key }}{{ end }}", attrs: "error_on_missing_key = true"},
		{name: "DB_USER", text: "{{ with secret \"database/creds/myapp-readonly\" }}{{ .Data.username }}{{ end }}"},
		{name: "DB_PASSWORD", text: "{{ with secret \"database/creds/myapp-readonly\" }}{{ .Data.password }}{{ end }}"},
		{name: "TLS_BUNDLE", text: "{{ with pkiCert \"pki_int/issue/web-servers\" \"common_name=env.example.com\" }}{{ .Cert }}{{ .Key }}{{ end }}"},
		{name: "DELIMS", text: "<% with secret \"kv1/passwords\" %><% .Data.wifi %><% end %>", attrs: `left_delimiter = "<%"` + "\n" + `right_delimiter = "%>"`},
	}, login: func(f map[string]string) (string, string) { return f["env/DB_USER"], f["env/DB_PASSWORD"] }},
}
