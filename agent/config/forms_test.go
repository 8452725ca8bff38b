package config

import (
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"

	"strings"
	"testing"
)

// formCase is one real-world form of a configuration: whether rotor
// loads it, the warning or error it gives (with its position), and the
// values it decodes.
type formCase struct {
	name, file, body string
	// warn and fail are substrings expected among the warnings or the
	// errors ("" for none), each starting with the position.
	warn, fail string
	check      func(t *testing.T, cfg *Config)
}

const (
	fm = `method "token_file" { config = { token_file_path = "/t" } }`
	fs = `sink "file" { config = { path = "/tmp/a" } }`
	fa = "auto_auth {\n  " + fm + "\n  " + fs + "\n}\n"
	// ja is auto_auth in JSON, with the sink as a list so that the object
	// is not split into blocks.
	ja = `"auto_auth": {"method": {"type": "token_file", "config": {"token_file_path": "/t"}}, "sink": [{"type": "file", "config": {"path": "/tmp/a"}}]}`
)

func sinkPaths(cfg *Config) []string {
	var out []string
	if cfg.AutoAuth != nil {
		for _, s := range cfg.AutoAuth.Sinks {
			out = append(out, s.Path)
		}
	}
	return out
}

func destinations(cfg *Config) []string {
	var out []string
	for _, t := range cfg.Templates {
		out = append(out, t.Destination)
	}
	return out
}

func wantList(t *testing.T, what string, got []string, want ...string) {
	t.Helper()
	if strings.Join(got, ",") != strings.Join(want, ",") {
		t.Fatalf("%s: got %q, want %q", what, got, want)
	}
}

var formCases = []formCase{
	// Several agent_api blocks: HCL 1 decodes them into one struct, in
	// order.
	{name: "two agent_api blocks", file: "c.hcl", body: fa + "api_proxy {}\nlistener \"tcp\" {\n  address = \"127.0.0.1:8100\"\n  tls_disable = true\n  agent_api { enable_quit = true }\n  agent_api { enable_quit = false }\n}\n",
		warn: `c.hcl:10:3: Repeated block: listener "tcp": 2 agent_api blocks`,
		check: func(t *testing.T, cfg *Config) {
			if cfg.Listeners[0].AgentAPIEnableQuit {
				t.Fatal("enable_quit: the last agent_api block sets false")
			}
		}},
	// A unix listener without address: Vault Agent binds an unnamed socket.
	{name: "unix listener without address", file: "c.hcl", body: fa + "api_proxy {}\nlistener \"unix\" {\n  tls_disable = true\n}\n",
		warn: `c.hcl:6:1: Listener not started: listener "unix": no address`},
	// socket_mode alone: Vault Agent applies the socket settings only
	// when socket_mode, socket_user and socket_group are all set.
	{name: "socket_mode alone", file: "c.hcl", body: fa + "api_proxy {}\nlistener \"unix\" {\n  address = \"/tmp/r.sock\"\n  tls_disable = true\n  socket_mode = \"0666\"\n}\n",
		warn: `c.hcl:9:3: Setting ignored: listener "unix": socket_mode is ignored: Vault Agent applies socket_mode, socket_user and socket_group only when all three are set`,
		check: func(t *testing.T, cfg *Config) {
			if l := cfg.Listeners[0]; l.Mode != 0o660 || l.SocketMode != "" {
				t.Fatalf("mode %#o, socket_mode %q: want rotor's default 0660, socket_mode ignored", l.Mode, l.SocketMode)
			}
		}},
	{name: "socket_user and socket_group without socket_mode", file: "c.hcl", body: fa + "api_proxy {}\nlistener \"unix\" {\n  address = \"/tmp/r.sock\"\n  tls_disable = true\n  socket_user = \"0\"\n  socket_group = \"0\"\n}\n",
		warn: `c.hcl:10:3: Setting ignored: listener "unix": socket_group is ignored`,
		check: func(t *testing.T, cfg *Config) {
			if l := cfg.Listeners[0]; l.SocketUser != "" || l.SocketGroup != "" {
				t.Fatalf("socket_user %q, socket_group %q: want both ignored", l.SocketUser, l.SocketGroup)
			}
		}},
	{name: "socket settings all three", file: "c.hcl", body: fa + "api_proxy {}\nlistener \"unix\" {\n  address = \"/tmp/r.sock\"\n  tls_disable = true\n  socket_mode = \"0666\"\n  socket_user = \"0\"\n  socket_group = \"0\"\n}\n",
		check: func(t *testing.T, cfg *Config) {
			if l := cfg.Listeners[0]; l.Mode != 0o666 || l.SocketUser != "0" || l.SocketGroup != "0" {
				t.Fatalf("mode %#o, socket_user %q, socket_group %q: want all three applied", l.Mode, l.SocketUser, l.SocketGroup)
			}
		}},
	// parseutil.SafeParseInt reads "" as 0.
	{name: "empty max_connections_per_host", file: "c.hcl", body: fa + "template_config { max_connections_per_host = \"\" }\n",
		warn: `c.hcl:5:46: Default used: template_config: max_connections_per_host 0`},
	// A listener address as a go-sockaddr template, rendered at load.
	{name: "listener address template", file: "a.hcl", body: fa + `listener "tcp" {
  address = "{{ GetAllInterfaces | include \"name\" \"lo\" | include \"type\" \"IPv4\" | attr \"address\" }}:8200"
  tls_disable = true
}
`, check: func(t *testing.T, cfg *Config) {
		wantList(t, "listener", []string{cfg.Listeners[0].Address}, "127.0.0.1:8200")
	}},
	{name: "listener address template that does not parse", file: "a.hcl", body: fa + `listener "tcp" {
  address = "{{ NoSuchFunc }}:8200"
  tls_disable = true
}
`, fail: "a.hcl:6:13: Invalid address template"},
	{name: "listener address template with two addresses", file: "a.hcl", body: fa + `listener "tcp" {
  address = "{{ GetAllInterfaces | include \"flags\" \"loopback\" | join \"address\" \" \" }}"
  tls_disable = true
}
`, fail: "multiple addresses found"},
	// Wrapper forms.
	{name: "sinks wrapper", file: "c.hcl", body: "auto_auth {\n  " + fm + "\n  sinks {\n    sink {\n      type = \"file\"\n      config = { path = \"/tmp/w\" }\n    }\n  }\n}\n",
		check: func(t *testing.T, cfg *Config) { wantList(t, "sinks", sinkPaths(cfg), "/tmp/w") }},
	{name: "sinks wrapper as a list", file: "c.hcl", body: "auto_auth {\n  " + fm + "\n  sinks = [{ type = \"file\", config = { path = \"/tmp/a\" } }, { type = \"file\", config = { path = \"/tmp/b\" } }]\n}\n",
		check: func(t *testing.T, cfg *Config) { wantList(t, "sinks", sinkPaths(cfg), "/tmp/a", "/tmp/b") }},
	{name: "sinks wrapper keyed by name", file: "c.hcl", body: "auto_auth {\n  " + fm + "\n  sinks {\n    token { \n      type = \"file\"\n      config = { path = \"/tmp/k\" }\n    }\n  }\n}\n",
		check: func(t *testing.T, cfg *Config) { wantList(t, "sinks", sinkPaths(cfg), "/tmp/k") }},
	{name: "sinks wrapper JSON list", file: "c.json", body: `{"auto_auth": {"method": {"type": "token_file", "config": {"token_file_path": "/t"}},
  "sinks": [{"sink": {"type": "file", "config": {"path": "/tmp/a"}}}, {"sink": {"type": "file", "config": {"path": "/tmp/b"}}}]}}`,
		check: func(t *testing.T, cfg *Config) { wantList(t, "sinks", sinkPaths(cfg), "/tmp/a", "/tmp/b") }},
	{name: "sinks wrapper with a labelled sink", file: "c.hcl", body: "auto_auth {\n  " + fm + "\n  sinks {\n    sink \"file\" { config = { path = \"/tmp/w\" } }\n  }\n}\n",
		fail: `c.hcl:4:5: Unknown sink type: auto_auth.sinks: Vault Agent refuses this sink: Unknown sink type "".`},
	{name: "sinks wrapper JSON flat list", file: "c.json", body: `{"auto_auth": {"method": {"type": "token_file", "config": {"token_file_path": "/t"}},
  "sinks": [{"type": "file", "config": {"path": "/tmp/a"}}]}}`,
		fail: `Vault Agent refuses this sink: Unknown sink type ""`},
	{name: "sinks wrapper beside sink blocks", file: "c.hcl", body: "auto_auth {\n  " + fm + "\n  " + fs + "\n  sinks {\n    sink {\n      type = \"file\"\n      config = { path = \"/tmp/w\" }\n    }\n  }\n}\n",
		warn:  "c.hcl:4:3: Ignored: auto_auth: the sinks block is ignored: this auto_auth also has sink blocks",
		check: func(t *testing.T, cfg *Config) { wantList(t, "sinks", sinkPaths(cfg), "/tmp/a") }},
	{name: "sinks wrapper wrap_ttl", file: "c.hcl", body: "auto_auth {\n  " + fm + "\n  sinks {\n    sink {\n      type = \"file\"\n      wrap_ttl = \"5m\"\n      config = { path = \"/tmp/w\" }\n    }\n  }\n}\n",
		warn: "c.hcl:6:7: Ignored: auto_auth.sinks: wrap_ttl is ignored",
		check: func(t *testing.T, cfg *Config) {
			if cfg.AutoAuth.Sinks[0].WrapTTL != 0 {
				t.Fatal("wrap_ttl acted on")
			}
		}},
	{name: "templates wrapper", file: "c.hcl", body: fa + "templates {\n  template {\n    destination = \"/tmp/x\"\n    contents = \"{{ with secret \\\"kv/x\\\" }}{{ .Data.x }}{{ end }}\"\n  }\n}\n",
		check: func(t *testing.T, cfg *Config) {
			wantList(t, "templates", destinations(cfg), "/tmp/x")
			if !strings.Contains(cfg.Templates[0].Contents, "with secret") || !cfg.Templates[0].CreateDestDirs {
				t.Fatalf("template %+v", cfg.Templates[0])
			}
		}},
	{name: "templates wrapper JSON list", file: "c.json", body: `{` + ja + `, "templates": [{"template": {"destination": "/tmp/x", "contents": "y"}}, {"template": {"destination": "/tmp/z", "contents": "w"}}]}`,
		check: func(t *testing.T, cfg *Config) { wantList(t, "templates", destinations(cfg), "/tmp/x", "/tmp/z") }},
	{name: "templates wrapper JSON object of a list", file: "c.json", body: `{` + ja + `, "templates": {"template": [{"destination": "/tmp/x", "contents": "y"}]}}`,
		check: func(t *testing.T, cfg *Config) { wantList(t, "templates", destinations(cfg), "/tmp/x") }},
	{name: "templates wrapper JSON named objects", file: "c.json", body: `{` + ja + `, "templates": {"a": {"destination": "/tmp/x", "contents": "y"}, "b": {"destination": "/tmp/z", "contents": "w"}}}`,
		check: func(t *testing.T, cfg *Config) { wantList(t, "templates", destinations(cfg), "/tmp/x", "/tmp/z") }},
	{name: "templates wrapper Go field names", file: "c.hcl", body: fa + "templates {\n  template {\n    destination = \"/tmp/x\"\n    contents = \"y\"\n    create_dest_dirs = false\n    createdestdirs = false\n    leftdelim = \"[[\"\n    command = [\"true\"]\n  }\n}\n",
		warn: `c.hcl:9:5: Ignored: templates template: "create_dest_dirs" is ignored: Vault Agent reads create_dest_dirs only inside a template block (outside templates { }), not here; rotor does not act on it either. Move it into a template block (outside templates { }). Did you mean "createdestdirs"?`,
		check: func(t *testing.T, cfg *Config) {
			tp := cfg.Templates[0]
			if tp.CreateDestDirs || tp.LeftDelim != "[[" || strings.Join(tp.Command.Argv, " ") != "true" {
				t.Fatalf("template %+v", tp)
			}
		}},
	{name: "templates wrapper beside template blocks", file: "c.hcl", body: fa + "templates {\n  template {\n    destination = \"/tmp/x\"\n    contents = \"y\"\n  }\n}\ntemplate {\n  destination = \"/tmp/z\"\n  contents = \"w\"\n}\n",
		warn:  "c.hcl:5:1: Ignored: templates: the templates block is ignored: this file also has template blocks",
		check: func(t *testing.T, cfg *Config) { wantList(t, "templates", destinations(cfg), "/tmp/z") }},
	{name: "templates wrapper perms", file: "c.hcl", body: fa + "templates {\n  template {\n    destination = \"/tmp/x\"\n    contents = \"y\"\n    perms = \"0600\"\n  }\n}\n",
		fail: "c.hcl:9:13: Unsupported argument: templates template: Vault Agent refuses perms inside templates { }"},
	{name: "templates wrapper command string", file: "c.hcl", body: fa + "templates {\n  template {\n    destination = \"/tmp/x\"\n    contents = \"y\"\n    command = \"echo hi\"\n  }\n}\n",
		fail: "c.hcl:9:15: Incorrect attribute value type: templates template: command must be a list"},
	// Keys in the wrong place, and keys neither knows.
	{name: "exit_on_err in auto_auth", file: "c.hcl", body: "auto_auth {\n  " + fm + "\n  " + fs + "\n  exit_on_err = true\n}\n",
		warn: `c.hcl:4:3: Ignored: auto_auth: "exit_on_err" is ignored: Vault Agent reads exit_on_err only inside cache.persist or inside method, not here; rotor does not act on it either.`,
		check: func(t *testing.T, cfg *Config) {
			if cfg.AutoAuth.Method.ExitOnErr {
				t.Fatal("exit_on_err acted on")
			}
		}},
	{name: "exit_on_err in auto_auth JSON", file: "c.json", body: `{"auto_auth": {"exit_on_err": true, "method": {"type": "token_file", "config": {"token_file_path": "/t"}}, "sink": [{"type": "file", "config": {"path": "/tmp/a"}}]}}`,
		warn: `Ignored: auto_auth: "exit_on_err" is ignored: Vault Agent reads exit_on_err only inside cache.persist or inside method`},
	{name: "exit_after_auth in auto_auth", file: "c.hcl", body: "auto_auth {\n  " + fm + "\n  " + fs + "\n  exit_after_auth = true\n}\n",
		warn: `c.hcl:4:3: Ignored: auto_auth: "exit_after_auth" is ignored: Vault Agent reads exit_after_auth only at the top level, not here`,
		check: func(t *testing.T, cfg *Config) {
			if cfg.ExitAfterAuth {
				t.Fatal("exit_after_auth acted on")
			}
		}},
	{name: "tls_disable in vault", file: "c.hcl", body: fa + "vault {\n  address = \"http://127.0.0.1:8200\"\n  tls_disable = true\n}\n",
		warn: `c.hcl:7:3: Ignored: vault: "tls_disable" is ignored: Vault Agent reads tls_disable only inside listener, not here`},
	{name: "extra approle key", file: "c.hcl", body: "auto_auth {\n  method \"approle\" {\n    config = {\n      role_id_file_path = \"/r\"\n      vault_addr = \"http://x\"\n    }\n  }\n  " + fs + "\n}\n",
		warn: `c.hcl:5:7: Ignored: method "approle" config: "vault_addr" is ignored: Vault Agent does not read it here`,
		check: func(t *testing.T, cfg *Config) {
			wantList(t, "role", []string{cfg.AutoAuth.Method.AppRole.RoleIDFilePath}, "/r")
		}},
	{name: "cert keys beside config", file: "c.hcl", body: "auto_auth {\n  method \"cert\" {\n    name = \"web\"\n    client_cert = \"/c\"\n    client_key = \"/k\"\n  }\n  " + fs + "\n}\n",
		warn: `c.hcl:3:5: Ignored: method "cert": "name" is ignored: Vault Agent reads name only inside config, not here; rotor does not act on it either. Move it into config.`,
		check: func(t *testing.T, cfg *Config) {
			if c := cfg.AutoAuth.Method.Cert; c.Name != "" || c.ClientCert != "" {
				t.Fatalf("cert keys acted on: %+v", c)
			}
		}},
	{name: "sink at the top level", file: "c.hcl", body: "auto_auth {\n  " + fm + "\n}\n" + fs + "\ntemplate {\n  destination = \"/tmp/x\"\n  contents = \"y\"\n}\n",
		warn:  `c.hcl:4:1: Ignored: top level: "sink" is ignored: Vault Agent reads sink only inside auto_auth, not here`,
		check: func(t *testing.T, cfg *Config) { wantList(t, "sinks", sinkPaths(cfg)) }},
	{name: "sink at the top level alone", file: "c.hcl", body: "auto_auth {\n  " + fm + "\n}\n" + fs + "\n",
		fail: "c.hcl:1:1: Nothing uses the token"},
	{name: "storage block", file: "c.hcl", body: fa + "storage \"file\" {\n  path = \"/var/lib/vault\"\n}\n",
		warn: `c.hcl:5:1: Ignored: top level: "storage" is ignored: Vault Agent does not read it here`},
	{name: "cache file block", file: "c.hcl", body: fa + "cache \"file\" {\n  path = \"/var/cache\"\n}\nlistener \"tcp\" {\n  address = \"127.0.0.1:8100\"\n  tls_disable = true\n}\n",
		warn: `c.hcl:5:1: Ignored: cache "file": the label is ignored: Vault Agent reads a cache block's body and not its label`,
		check: func(t *testing.T, cfg *Config) {
			if cfg.Cache == nil {
				t.Fatal("no cache")
			}
		}},
	{name: "pi_file typo", file: "c.hcl", body: fa + "pi_file = \"/run/agent.pid\"\n",
		warn: `c.hcl:5:1: Ignored: top level: "pi_file" is ignored: Vault Agent does not read it here; rotor does not act on it either. Did you mean "pid_file"?`,
		check: func(t *testing.T, cfg *Config) {
			if cfg.PidFile != "" {
				t.Fatal("pi_file acted on")
			}
		}},
	{name: "pi_file typo JSON", file: "c.json", body: `{` + ja + `, "pi_file": "/run/agent.pid"}`,
		warn: `Ignored: top level: "pi_file" is ignored: Vault Agent does not read it here; rotor does not act on it either. Did you mean "pid_file"?`},
	{name: "labelled vault block", file: "c.hcl", body: fa + "vault \"main\" {\n  address = \"http://127.0.0.1:8300\"\n}\n",
		warn: `c.hcl:5:1: Ignored: vault "main": the label is ignored`,
		check: func(t *testing.T, cfg *Config) {
			wantList(t, "address", []string{cfg.Vault.Address}, "http://127.0.0.1:8300")
		}},
	{name: "JSON vault with only retry", file: "c.json", body: `{` + ja + `, "vault": {"retry": {"num_retries": 5}}}`,
		warn: `Ignored: vault: "num_retries" is ignored: Vault Agent reads num_retries only inside vault.retry`,
		check: func(t *testing.T, cfg *Config) {
			if cfg.Vault.NumRetries != DefaultNumRetries {
				t.Fatalf("num_retries %d acted on", cfg.Vault.NumRetries)
			}
		}},
	// What Vault Agent refuses.
	{name: "unknown template key", file: "c.hcl", body: fa + "template {\n  destination = \"/tmp/x\"\n  contents = \"y\"\n  bogus = 1\n}\n",
		fail: `c.hcl:8:3: Unsupported argument: template: "bogus" is not a known key (Vault Agent refuses it too).`},
}

func TestVaultAgentForms(t *testing.T) {
	check, dump := agentTool(t, "agentcheck"), agentTool(t, "agentdump")
	for _, c := range formCases {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			t.Chdir(dir)
			write(t, dir, c.file, c.body)
			cfg, err := Load([]string{c.file}, env(nil))
			var ce *Error
			switch {
			case c.fail != "" && err == nil:
				t.Fatalf("loaded; want %s", c.fail)
			case c.fail != "":
				if !strings.Contains(err.Error(), c.fail) {
					t.Fatalf("errors do not contain %q:\n%v", c.fail, err)
				}
			case err != nil:
				t.Fatalf("refused: %v", err)
			}
			var warns []string
			if cfg != nil {
				warns = Warnings(cfg)
			} else if errors.As(err, &ce) {
				warns = ce.Warnings()
			}
			if c.warn != "" && !strings.Contains(strings.Join(warns, "\n"), c.warn) {
				t.Fatalf("warnings do not contain %q:\n%s", c.warn, strings.Join(warns, "\n"))
			}
			if c.check != nil && cfg != nil {
				c.check(t, cfg)
			}
			// -strict refuses what it warned about, with the same text.
			if cfg != nil && c.warn != "" {
				_, err := Load([]string{c.file}, env(nil), WithStrict())
				if err == nil || !strings.Contains(err.Error(), c.warn) || !strings.Contains(err.Error(), "(an error under -strict)") {
					t.Fatalf("-strict: %v", err)
				}
			}
			// Vault Agent's verdict, and the sinks and templates it decodes.
			if check != "" {
				verdict, _ := agentcheck(t, check, c.file)
				if (verdict == "ok") != (err == nil) {
					t.Fatalf("Vault Agent says %q; rotor says %v", verdict, describe(cfg, err))
				}
			}
			if dump != "" && cfg != nil {
				v := agentDump(t, dump, c.file)
				wantList(t, "sinks Vault Agent decodes", sinkPaths(cfg), v.sinkPaths()...)
				wantList(t, "templates Vault Agent decodes", destinations(cfg), v.destinations()...)
			}
		})
	}
}

// agentTool finds test/vault/bin/NAME, or "" (the comparison is skipped).
func agentTool(t *testing.T, name string) string {
	t.Helper()
	p, err := filepath.Abs(filepath.Join("..", "..", "test", "vault", "bin", name))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(p); err != nil {
		t.Logf("no %s (make agentcheck): Vault Agent's side is not compared", p)
		return ""
	}
	return p
}

// vaultDump is what test/vault/agentdump prints.
type vaultDump struct {
	Sinks     []map[string]any `json:"sinks"`
	Templates []map[string]any `json:"templates"`
}

func (v vaultDump) sinkPaths() []string {
	var out []string
	for _, s := range v.Sinks {
		c, _ := s["config"].(map[string]any)
		p, _ := c["path"].(string)
		out = append(out, p)
	}
	return out
}

func (v vaultDump) destinations() []string {
	var out []string
	for _, t := range v.Templates {
		d, _ := t["destination"].(string)
		out = append(out, d)
	}
	return out
}

func agentDump(t *testing.T, bin, path string) vaultDump {
	t.Helper()
	cmd := exec.Command(bin, path)
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + t.TempDir()}
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("agentdump %s: %v: %s", path, err, out)
	}
	var v vaultDump
	if err := json.Unmarshal(out, &v); err != nil {
		t.Fatalf("agentdump %s: %v: %s", path, err, out)
	}
	return v
}
