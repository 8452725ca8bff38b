package config

import (
	"fmt"
	"net"

	"github.com/hashicorp/hcl/v2"
)

func attrSchema(required []string, optional ...string) []hcl.AttributeSchema {
	var out []hcl.AttributeSchema
	for _, n := range required {
		out = append(out, hcl.AttributeSchema{Name: n, Required: true})
	}
	for _, n := range optional {
		out = append(out, hcl.AttributeSchema{Name: n})
	}
	return out
}

// unsupportedBlocks are Vault Agent blocks that rotor knowingly does not
// provide; naming them gives a better error than "unsupported block".
var unsupportedBlocks = map[string]string{
	"cache":     "rotor has no API cache; templates and sinks need none",
	"api_proxy": "rotor has no API proxy; read the token from a sink",
	"telemetry": "Vault Agent's telemetry block is not supported",
}

var rootSchema = &hcl.BodySchema{
	Attributes: attrSchema(nil, "pid_file", "exit_after_auth", "revoke_on_shutdown", "revoke_token_on_shutdown", "log_level"),
	Blocks: []hcl.BlockHeaderSchema{
		{Type: "vault"}, {Type: "auto_auth"}, {Type: "template"}, {Type: "template_config"},
		{Type: "exec"}, {Type: "env_template", LabelNames: []string{"name"}},
		{Type: "cache"}, {Type: "api_proxy"}, {Type: "listener", LabelNames: []string{"type"}},
		{Type: "telemetry"}, {Type: "state"},
	},
}

func decodeRoot(body hcl.Body, cfg *Config) hcl.Diagnostics {
	content, diags := body.Content(rootSchema)
	if content == nil {
		return diags
	}
	cfg.Vault.NumRetries = -1 // unset until a retry block says otherwise
	f := newFields(content.Attributes, &diags, "top level")
	f.str("pid_file", &cfg.PidFile)
	f.boolean("exit_after_auth", &cfg.ExitAfterAuth)
	f.str("log_level", &cfg.LogLevel)
	switch cfg.LogLevel {
	case "", "debug", "info", "warn", "error":
	default:
		f.errorf("log_level", "Invalid value", "log_level %q: use debug, info, warn or error.", cfg.LogLevel)
	}
	f.boolean("revoke_on_shutdown", &cfg.RevokeOnShutdown)
	f.boolean("revoke_token_on_shutdown", &cfg.RevokeTokenOnShutdown)

	seen := map[string]*hcl.Block{}
	for _, b := range content.Blocks {
		if why, bad := unsupportedBlocks[b.Type]; bad {
			diags = append(diags, &hcl.Diagnostic{Severity: hcl.DiagError,
				Summary: "Unsupported block type", Detail: fmt.Sprintf("%s block: %s.", b.Type, why), Subject: b.DefRange.Ptr()})
			continue
		}
		switch b.Type {
		case "vault", "auto_auth", "template_config", "exec", "state":
			if prev, dup := seen[b.Type]; dup {
				diags = append(diags, &hcl.Diagnostic{Severity: hcl.DiagError,
					Summary: "Duplicate block", Detail: fmt.Sprintf("only one %s block is allowed; the first is at %s.", b.Type, pos(prev.DefRange)),
					Subject: b.DefRange.Ptr()})
				continue
			}
			seen[b.Type] = b
		}
		switch b.Type {
		case "vault":
			diags = append(diags, decodeVault(b.Body, &cfg.Vault)...)
		case "auto_auth":
			cfg.AutoAuth = &AutoAuth{}
			diags = append(diags, decodeAutoAuth(b.Body, cfg.AutoAuth)...)
		case "template":
			t := &Template{Range: b.DefRange}
			diags = append(diags, decodeTemplate(b.Body, t)...)
			cfg.Templates = append(cfg.Templates, t)
		case "template_config":
			diags = append(diags, decodeTemplateConfig(b.Body, &cfg.TemplateConfig)...)
		case "exec":
			cfg.Exec = &Exec{Range: b.DefRange}
			diags = append(diags, decodeExec(b.Body, cfg.Exec)...)
		case "listener":
			l := &Listener{Type: b.Labels[0], Range: b.DefRange}
			diags = append(diags, decodeListener(b.Body, l)...)
			cfg.Listeners = append(cfg.Listeners, l)
		case "state":
			cfg.State = &State{Range: b.DefRange}
			diags = append(diags, decodeState(b.Body, cfg.State)...)
		case "env_template":
			e := &EnvTemplate{Name: b.Labels[0], Range: b.DefRange}
			diags = append(diags, decodeEnvTemplate(b.Body, e)...)
			cfg.EnvTemplates = append(cfg.EnvTemplates, e)
		}
	}
	return diags
}

var vaultSchema = &hcl.BodySchema{
	Attributes: attrSchema(nil, "address", "ca_cert", "ca_path", "client_cert", "client_key",
		"tls_skip_verify", "tls_server_name", "namespace"),
	Blocks: []hcl.BlockHeaderSchema{{Type: "retry"}},
}

func decodeVault(body hcl.Body, v *Vault) hcl.Diagnostics {
	content, diags := body.Content(vaultSchema)
	if content == nil {
		return diags
	}
	f := newFields(content.Attributes, &diags, "vault")
	f.str("address", &v.Address)
	f.str("ca_cert", &v.CACert)
	f.str("ca_path", &v.CAPath)
	f.str("client_cert", &v.ClientCert)
	f.str("client_key", &v.ClientKey)
	f.boolean("tls_skip_verify", &v.TLSSkipVerify)
	f.str("tls_server_name", &v.TLSServerName)
	f.str("namespace", &v.Namespace)
	for _, b := range content.Blocks {
		rc, d := b.Body.Content(&hcl.BodySchema{Attributes: attrSchema(nil, "num_retries")})
		diags = append(diags, d...)
		if rc != nil {
			rf := newFields(rc.Attributes, &diags, "vault.retry")
			rf.integer("num_retries", &v.NumRetries)
			if v.NumRetries < -1 {
				rf.errorf("num_retries", "Invalid value", "vault.retry: num_retries must be 0 or more (-1 means the default).")
			}
		}
	}
	return diags
}

var autoAuthSchema = &hcl.BodySchema{
	Blocks: []hcl.BlockHeaderSchema{
		{Type: "method", LabelNames: []string{"type"}},
		{Type: "sink", LabelNames: []string{"type"}},
	},
}

func decodeAutoAuth(body hcl.Body, a *AutoAuth) hcl.Diagnostics {
	content, diags := body.Content(autoAuthSchema)
	if content == nil {
		return diags
	}
	for _, b := range content.Blocks {
		switch b.Type {
		case "method":
			if a.Method != nil {
				diags = append(diags, &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "Duplicate block",
					Detail: fmt.Sprintf("auto_auth takes one method; the first is at %s.", pos(a.Method.Range)), Subject: b.DefRange.Ptr()})
				continue
			}
			a.Method = &Method{Type: b.Labels[0], Range: b.DefRange}
			diags = append(diags, decodeMethod(b.Body, a.Method)...)
		case "sink":
			s := &Sink{Type: b.Labels[0], Range: b.DefRange}
			diags = append(diags, decodeSink(b.Body, s)...)
			a.Sinks = append(a.Sinks, s)
		}
	}
	if a.Method == nil {
		diags = append(diags, &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "Missing method",
			Detail: "auto_auth needs a method block, e.g. method \"approle\" { ... }.", Subject: body.MissingItemRange().Ptr()})
	}
	return diags
}

var methodSchema = &hcl.BodySchema{
	Attributes: attrSchema(nil, "mount_path", "namespace", "wrap_ttl", "min_backoff", "max_backoff",
		"exit_on_err", "config"),
}

// methodKeys lists each method's config keys: the registry of auth methods
// as far as configuration goes.
var methodKeys = map[string][]string{
	"approle":    {"role_id_file_path", "secret_id_file_path", "remove_secret_id_file_after_reading", "secret_id_response_wrapping_path"},
	"kubernetes": {"role", "token_path"},
	"jwt":        {"path", "role", "remove_jwt_after_reading"},
	"cert":       {"name", "ca_cert", "client_cert", "client_key", "reload"},
	"token_file": {"token_file_path"},
}

func decodeMethod(body hcl.Body, m *Method) hcl.Diagnostics {
	content, diags := body.Content(methodSchema)
	if content == nil {
		return diags
	}
	where := fmt.Sprintf("method %q", m.Type)
	f := newFields(content.Attributes, &diags, where)
	f.str("mount_path", &m.MountPath)
	f.str("namespace", &m.Namespace)
	f.duration("min_backoff", &m.MinBackoff)
	f.duration("max_backoff", &m.MaxBackoff)
	f.boolean("exit_on_err", &m.ExitOnErr)
	if f.has("wrap_ttl") {
		f.errorf("wrap_ttl", "Unsupported argument", "%s: wrap_ttl on the method would leave rotor without a usable token; set wrap_ttl on a sink instead.", where)
	}
	keys, known := methodKeys[m.Type]
	if !known {
		diags = append(diags, &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "Unknown auth method",
			Detail: fmt.Sprintf("method %q is not one of approle, kubernetes, jwt, cert, token_file.", m.Type), Subject: m.Range.Ptr()})
		return diags
	}
	cw := where + " config"
	c := newFields(mapAttrs(content.Attributes["config"], keys, cw, &diags), &diags, cw)
	required := func(names ...string) {
		for _, n := range names {
			if !c.has(n) {
				diags = append(diags, &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "Missing required argument",
					Detail: fmt.Sprintf("%s: %q is required.", cw, n), Subject: m.Range.Ptr()})
			}
		}
	}
	switch m.Type {
	case "approle":
		a := &AppRole{RemoveSecretIDFileAfterReading: true}
		required("role_id_file_path")
		c.str("role_id_file_path", &a.RoleIDFilePath)
		c.str("secret_id_file_path", &a.SecretIDFilePath)
		c.boolean("remove_secret_id_file_after_reading", &a.RemoveSecretIDFileAfterReading)
		c.str("secret_id_response_wrapping_path", &a.SecretIDResponseWrappingPath)
		if a.SecretIDResponseWrappingPath != "" && a.SecretIDFilePath == "" {
			c.errorf("secret_id_response_wrapping_path", "Conflicting options", "%s: secret_id_response_wrapping_path needs secret_id_file_path (the file holding the wrapping token).", cw)
		}
		m.AppRole = a
	case "kubernetes":
		k := &Kubernetes{TokenPath: DefaultKubernetesTokenPath}
		required("role")
		c.str("role", &k.Role)
		c.str("token_path", &k.TokenPath)
		m.Kubernetes = k
	case "jwt":
		j := &JWT{RemoveJWTAfterReading: true}
		required("path", "role")
		c.str("path", &j.Path)
		c.str("role", &j.Role)
		c.boolean("remove_jwt_after_reading", &j.RemoveJWTAfterReading)
		m.JWT = j
	case "cert":
		ct := &Cert{}
		c.str("name", &ct.Name)
		c.str("ca_cert", &ct.CACert)
		c.str("client_cert", &ct.ClientCert)
		c.str("client_key", &ct.ClientKey)
		c.boolean("reload", &ct.Reload)
		if (ct.ClientCert == "") != (ct.ClientKey == "") {
			diags = append(diags, &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "Conflicting options",
				Detail: cw + ": client_cert and client_key must be set together.", Subject: m.Range.Ptr()})
		}
		m.Cert = ct
	case "token_file":
		t := &TokenFile{}
		required("token_file_path")
		c.str("token_file_path", &t.Path)
		m.TokenFile = t
	}
	return diags
}

var sinkSchema = &hcl.BodySchema{
	Attributes: attrSchema(nil, "wrap_ttl", "dh_type", "dh_path", "derive_key", "aad", "aad_env_var", "config"),
}

func decodeSink(body hcl.Body, s *Sink) hcl.Diagnostics {
	content, diags := body.Content(sinkSchema)
	if content == nil {
		return diags
	}
	where := fmt.Sprintf("sink %q", s.Type)
	if s.Type != "file" {
		diags = append(diags, &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "Unknown sink type",
			Detail: fmt.Sprintf("sink %q: the only sink type is \"file\".", s.Type), Subject: s.Range.Ptr()})
	}
	f := newFields(content.Attributes, &diags, where)
	f.duration("wrap_ttl", &s.WrapTTL)
	for _, k := range []string{"dh_type", "dh_path", "derive_key", "aad", "aad_env_var"} {
		if f.has(k) {
			f.errorf(k, "Unsupported argument", "%s: %s (Diffie-Hellman encrypted sinks) is not supported; use wrap_ttl or file permissions.", where, k)
		}
	}
	cw := where + " config"
	c := newFields(mapAttrs(content.Attributes["config"], []string{"path", "mode", "owner", "group", "uid", "gid"}, cw, &diags), &diags, cw)
	if !c.has("path") {
		diags = append(diags, &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "Missing required argument",
			Detail: cw + ": \"path\" is required.", Subject: s.Range.Ptr()})
	}
	c.str("path", &s.Path)
	c.mode("mode", &s.Mode)
	decodeOwner(c, "owner", "group", &s.Owner)
	return diags
}

// decodeOwner reads owner/group (names or numbers) and uid/gid; naming
// both forms for the same thing is a conflict.
func decodeOwner(f *fields, userKey, groupKey string, o *Owner) {
	f.str(userKey, &o.User)
	f.str(groupKey, &o.Group)
	num := func(key string, dst **int) {
		if f.has(key) {
			var n int
			f.integer(key, &n)
			if n < 0 {
				f.errorf(key, "Invalid value", "%s: %s must not be negative.", f.where, key)
			}
			*dst = &n
		}
	}
	num("uid", &o.UID)
	num("gid", &o.GID)
	if o.User != "" && o.UID != nil {
		f.errorf("uid", "Conflicting options", "%s: set %s or uid, not both.", f.where, userKey)
	}
	if o.Group != "" && o.GID != nil {
		f.errorf("gid", "Conflicting options", "%s: set %s or gid, not both.", f.where, groupKey)
	}
}

func decodeListener(body hcl.Body, l *Listener) hcl.Diagnostics {
	content, diags := body.Content(&hcl.BodySchema{Attributes: attrSchema([]string{"address"},
		"mode", "tls_cert_file", "tls_key_file", "tls_disable", "enable_rotate")})
	if content == nil {
		return diags
	}
	where := fmt.Sprintf("listener %q", l.Type)
	f := newFields(content.Attributes, &diags, where)
	f.str("address", &l.Address)
	f.mode("mode", &l.Mode)
	f.str("tls_cert_file", &l.TLSCertFile)
	f.str("tls_key_file", &l.TLSKeyFile)
	f.boolean("tls_disable", &l.TLSDisable)
	f.boolean("enable_rotate", &l.EnableRotate)
	switch l.Type {
	case "tcp":
		host, _, err := net.SplitHostPort(l.Address)
		if err != nil {
			f.errorf("address", "Invalid address", "%s: address %q must be host:port, e.g. \"127.0.0.1:8200\".", where, l.Address)
			break
		}
		ip := net.ParseIP(host)
		loopback := host == "localhost" || (ip != nil && ip.IsLoopback())
		if !loopback && l.TLSCertFile == "" && !l.TLSDisable {
			f.errorf("address", "Insecure listener", "%s: %s is not a loopback address; serve it with tls_cert_file and tls_key_file, or set tls_disable = true to accept plain HTTP there.", where, l.Address)
		}
	case "unix":
		if f.has("tls_cert_file") {
			f.errorf("tls_cert_file", "Unsupported argument", "%s: a unix socket is protected by its mode, not TLS.", where)
		}
	default:
		diags = append(diags, &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "Unknown listener type",
			Detail: fmt.Sprintf("listener %q: use \"tcp\" or \"unix\".", l.Type), Subject: l.Range.Ptr()})
	}
	if (l.TLSCertFile == "") != (l.TLSKeyFile == "") {
		diags = append(diags, &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "Conflicting options",
			Detail: where + ": tls_cert_file and tls_key_file must be set together.", Subject: l.Range.Ptr()})
	}
	if l.Mode == 0 {
		l.Mode = 0o660
	}
	return diags
}
