package injector

import (
	"encoding/json"
	"fmt"
	"path"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// Paths inside the pod. vault-k8s's (agent-inject/agent/config.go and
// container_volume.go) are kept, so custom agent configs in a ConfigMap
// that name them work unchanged.
const (
	homePath        = "/home/vault" // the sidecar's own scratch space: token sink, pid file, config
	pidFile         = homePath + "/.pid"
	tokenFile       = homePath + "/.vault-token"
	configMapPath   = "/vault/configs"
	tlsSecretPath   = "/vault/tls"
	sharedPath      = "/rotor" // env mode: rotor's binary and the token, shared with the app
	sharedToken     = sharedPath + "/token"
	sharedRotor     = sharedPath + "/bin/rotor"
	defaultMapTpl   = "{{ with secret \"%s\" }}{{ range $k, $v := .Data }}{{ $k }}: {{ $v }}\n{{ end }}{{ end }}"
	defaultJSONTpl  = "{{ with secret \"%s\" }}{{ .Data | toJSON }}\n{{ end }}"
	tokenSecretPath = "auth/token/lookup-self"
	tokenTpl        = "{{ with secret \"auth/token/lookup-self\" }}{{ .Data.id }}\n{{ end }}"
)

// The agent configuration, in Vault Agent's JSON grammar and with the keys
// vault-k8s writes (its Config type), plus rotor's local API listener.
type agentConfig struct {
	AutoAuth               *autoAuth          `json:"auto_auth"`
	ExitAfterAuth          bool               `json:"exit_after_auth"`
	PidFile                string             `json:"pid_file"`
	RevokeOnShutdown       bool               `json:"revoke_on_shutdown,omitempty"`
	RevokeTokenOnShutdown  bool               `json:"revoke_token_on_shutdown,omitempty"`
	Vault                  *vaultBlock        `json:"vault"`
	Templates              []*templateBlock   `json:"template,omitempty"`
	Listener               []*listenerBlock   `json:"listener,omitempty"`
	Cache                  *cacheBlock        `json:"cache,omitempty"`
	TemplateConfig         *templateConfig    `json:"template_config,omitempty"`
	DisableIdleConnections []string           `json:"disable_idle_connections,omitempty"`
	DisableKeepAlives      []string           `json:"disable_keep_alives,omitempty"`
	EnvTemplates           map[string]*envTpl `json:"env_template,omitempty"`
	Exec                   *execBlock         `json:"exec,omitempty"`
	State                  *stateBlock        `json:"state,omitempty"`
}

// stateBlock is rotor's state {} block (keepsState).
type stateBlock struct {
	Dir           string `json:"dir"`
	KubernetesKey bool   `json:"kubernetes_service_account_key"`
	KeyFile       string `json:"key_file"`
}

// stateDir is where rotor keeps its state file in the pod (the rotor-state
// emptyDir, which outlives a container's restarts).
const stateDir = "/rotor-state"

// keepsState reports whether the rotor containers keep rotor's state file
// (token and secrets, encrypted under the pod's service-account token):
// with the kubernetes method and the injector's own configuration. The
// classic shape's init container then hands its token and secrets to the
// sidecar, and a sidecar the kubelet restarts starts from what it held:
// one login and one set of credentials per pod, where vault-k8s's pair
// logs in twice and issues every dynamic secret twice (unless
// agent-cache-enable, whose persist "kubernetes" cache does the same for
// it). A configuration from agent-configmap is the user's own and is left
// as written.
func (s *Spec) keepsState() bool {
	return s.AuthType == "kubernetes" && s.ConfigMap == "" && !s.PrePopOnly
}

type vaultBlock struct {
	Address       string `json:"address"`
	CACert        string `json:"ca_cert,omitempty"`
	CAPath        string `json:"ca_path,omitempty"`
	TLSSkipVerify bool   `json:"tls_skip_verify,omitempty"`
	ClientCert    string `json:"client_cert,omitempty"`
	ClientKey     string `json:"client_key,omitempty"`
	TLSServerName string `json:"tls_server_name,omitempty"`
	Namespace     string `json:"namespace,omitempty"`
}

type autoAuth struct {
	Method *method `json:"method,omitempty"`
	Sinks  []*sink `json:"sink,omitempty"`
}

// MarshalJSON writes the method as a list of one. In Vault Agent's JSON
// (HCL 1), an auto_auth object whose members are all objects is read as
// labelled blocks, so a lone "method": {...} (a config without a sink, as
// the env wrapper's) is taken for a label, and Vault Agent and rotor both
// refuse it ("one and only one method block is required").
func (a autoAuth) MarshalJSON() ([]byte, error) {
	type plain struct {
		Method []*method `json:"method,omitempty"`
		Sinks  []*sink   `json:"sink,omitempty"`
	}
	p := plain{Sinks: a.Sinks}
	if a.Method != nil {
		p.Method = []*method{a.Method}
	}
	return json.Marshal(p)
}

// UnmarshalJSON reads what MarshalJSON writes, and a lone method object.
func (a *autoAuth) UnmarshalJSON(b []byte) error {
	var raw struct {
		Method json.RawMessage `json:"method"`
		Sinks  []*sink         `json:"sink"`
	}
	if err := json.Unmarshal(b, &raw); err != nil {
		return err
	}
	a.Sinks, a.Method = raw.Sinks, nil
	if len(raw.Method) == 0 || string(raw.Method) == "null" {
		return nil
	}
	if raw.Method[0] == '[' {
		var ms []*method
		if err := json.Unmarshal(raw.Method, &ms); err != nil {
			return err
		}
		if len(ms) != 1 {
			return fmt.Errorf("auto_auth: %d methods, want one", len(ms))
		}
		a.Method = ms[0]
		return nil
	}
	a.Method = new(method)
	return json.Unmarshal(raw.Method, a.Method)
}

type method struct {
	Type       string            `json:"type"`
	MountPath  string            `json:"mount_path,omitempty"`
	MinBackoff string            `json:"min_backoff,omitempty"`
	MaxBackoff string            `json:"max_backoff,omitempty"`
	Namespace  string            `json:"namespace,omitempty"`
	Config     map[string]string `json:"config,omitempty"`
	ExitOnErr  bool              `json:"exit_on_err,omitempty"`
}

type sink struct {
	Type   string         `json:"type"`
	Config map[string]any `json:"config,omitempty"`
}

type templateBlock struct {
	Destination   string `json:"destination"`
	Contents      string `json:"contents,omitempty"`
	LeftDelim     string `json:"left_delimiter,omitempty"`
	RightDelim    string `json:"right_delimiter,omitempty"`
	Command       any    `json:"command,omitempty"`
	CmdTimeout    string `json:"command_timeout,omitempty"`
	Source        string `json:"source,omitempty"`
	Perms         string `json:"perms,omitempty"`
	ErrMissingKey bool   `json:"error_on_missing_key,omitempty"`
}

type listenerBlock struct {
	Type       string `json:"type"`
	Address    string `json:"address"`
	TLSDisable bool   `json:"tls_disable"`
	// AllowedHosts is rotor's key: it marks the status listener as
	// rotor's own (no Vault API proxy expected on it).
	AllowedHosts []string  `json:"allowed_hosts,omitempty"`
	AgentAPI     *agentAPI `json:"agent_api,omitempty"`
}

type agentAPI struct {
	EnableQuit bool `json:"enable_quit"`
}

type cacheBlock struct {
	UseAutoAuthToken string `json:"use_auto_auth_token,omitempty"`
}

type templateConfig struct {
	ExitOnRetryFailure         bool   `json:"exit_on_retry_failure"`
	StaticSecretRenderInterval string `json:"static_secret_render_interval,omitempty"`
	MaxConnectionsPerHost      int64  `json:"max_connections_per_host,omitempty"`
}

type envTpl struct {
	Contents      string `json:"contents"`
	ErrMissingKey bool   `json:"error_on_missing_key"`
}

type execBlock struct {
	Command                []string `json:"command"`
	RestartOnSecretChanges string   `json:"restart_on_secret_changes"`
	RestartStopSignal      string   `json:"restart_stop_signal,omitempty"`
	ReloadSignal           string   `json:"reload_signal,omitempty"`
}

// Role is which container a configuration is for.
type Role int

const (
	// InitRole renders once and exits (exit_after_auth): vault-k8s's
	// init container, and agent-pre-populate-only.
	InitRole Role = iota
	// SidecarRole keeps the secrets fresh for the pod's life.
	SidecarRole
)

// AgentConfig returns the JSON configuration the rotor container runs.
// It is vault-k8s's newConfig (agent-inject/agent/config.go) for the same
// annotations, with rotor's additions: the local API listener the startup
// probe asks, token revocation done by rotor itself instead of a preStop
// hook, and, when asked for, the token shared with `rotor exec` in the app
// containers and a reload signal for the app.
func AgentConfig(s *Spec, role Role, opts Options) ([]byte, error) {
	init := role == InitRole
	c := agentConfig{
		PidFile:       pidFile,
		ExitAfterAuth: init,
		Vault:         s.vault(),
		AutoAuth: &autoAuth{
			Method: &method{Type: s.AuthType, Namespace: s.Namespace, MountPath: s.AuthPath,
				Config: s.AuthConfig, MinBackoff: s.AuthMinBackoff, MaxBackoff: s.AuthMaxBackoff,
				ExitOnErr: s.AutoAuthExitOnErr},
			Sinks: []*sink{{Type: "file", Config: map[string]any{"path": tokenFile}}},
		},
		TemplateConfig: &templateConfig{ExitOnRetryFailure: s.ExitOnRetryFailure,
			StaticSecretRenderInterval: s.StaticSecretRenderInterval, MaxConnectionsPerHost: s.MaxConnectionsPerHost},
		DisableIdleConnections: s.DisableIdleConnections,
		DisableKeepAlives:      s.DisableKeepAlives,
	}
	if c.AutoAuth.Method.Type == "kubernetes" {
		if _, ok := c.AutoAuth.Method.Config["token_path"]; !ok {
			cfg := map[string]string{"token_path": saTokenPath}
			for k, v := range c.AutoAuth.Method.Config {
				cfg[k] = v
			}
			c.AutoAuth.Method.Config = cfg
		}
	}
	if s.keepsState() {
		c.State = &stateBlock{Dir: stateDir, KubernetesKey: true, KeyFile: c.AutoAuth.Method.Config["token_path"]}
	}
	tpls, err := s.templates(role, opts)
	if err != nil {
		return nil, err
	}
	c.Templates = tpls
	if s.InjectToken {
		c.AutoAuth.Sinks = append(c.AutoAuth.Sinks, &sink{Type: "file",
			Config: map[string]any{"path": path.Join(s.SecretVolumePath, "token")}})
	}
	if !init {
		// Token revocation: vault-k8s runs `vault token revoke -self` in a
		// preStop hook; rotor revokes its leases and token as it stops.
		c.RevokeOnShutdown, c.RevokeTokenOnShutdown = s.RevokeOnShutdown, s.RevokeOnShutdown
		c.Listener = append(c.Listener, &listenerBlock{Type: "tcp", Address: statusAddr(opts), TLSDisable: true, AllowedHosts: []string{"localhost"}})
		if s.CacheEnable && !s.PrePopOnly {
			c.Listener = append(c.Listener, &listenerBlock{Type: "tcp", Address: "127.0.0.1:" + s.CachePort, TLSDisable: true})
			c.Cache = &cacheBlock{UseAutoAuthToken: s.CacheUseToken}
		}
		if s.EnableQuit {
			// Not in an init container (vault-k8s puts it there too):
			// nothing runs beside it that could call it.
			quitListener(&c, s)
		}
		if len(s.Env) > 0 {
			c.AutoAuth.Sinks = append(c.AutoAuth.Sinks, &sink{Type: "file",
				Config: map[string]any{"path": sharedToken, "mode": 0o444}}) // a number, as Vault Agent reads it (JSON has no octal)
		}
	}
	return json.Marshal(c)
}

// saDir and saTokenPath are where a pod's containers find the service
// account (the kubelet's default mount).
const (
	saDir       = "/var/run/secrets/kubernetes.io/serviceaccount"
	saTokenPath = saDir + "/token"
	// restartStateFile is the restart command's memory of the files, in the
	// sidecar's home (an emptyDir: it survives the sidecar's restarts).
	restartStateFile = homePath + "/.restart-state.json"
)

func statusAddr(o Options) string { return "127.0.0.1:" + strconv.Itoa(o.StatusPort) }

func (s *Spec) vault() *vaultBlock {
	return &vaultBlock{Address: s.Address, CACert: s.CACert, CAPath: s.CAPath, TLSSkipVerify: s.TLSSkipVerify,
		ClientCert: s.ClientCert, ClientKey: s.ClientKey, TLSServerName: s.TLSServerName}
}

// templates is vault-k8s's newTemplateConfigs: the template, else the
// template file, else the default template for the secret's path. rotor's
// reload signal or restart command goes to those without their own
// command; the restart only in the sidecar, never in an init container.
func (s *Spec) templates(role Role, o Options) ([]*templateBlock, error) {
	secrets := s.Secrets
	if s.InjectToken {
		secrets = append(append([]Secret(nil), secrets...), Secret{Name: "token", RawName: "token",
			Path: tokenSecretPath, Template: tokenTpl, MountPath: s.SecretVolumePath})
	}
	var out []*templateBlock
	for _, sec := range secrets {
		t := &templateBlock{Source: sec.TemplateFile, Contents: sec.Template, LeftDelim: "{{", RightDelim: "}}",
			Perms: sec.Perms, ErrMissingKey: sec.ErrMissingKey}
		if sec.Command != "" {
			t.Command = sec.Command
		}
		if t.Source == "" && t.Contents == "" {
			format := defaultMapTpl
			if s.DefaultTemplate == "json" {
				format = defaultJSONTpl
			}
			t.Contents = fmt.Sprintf(format, sec.Path)
		}
		t.Destination = sec.MountPath + "/" + sec.Name
		if sec.File != "" {
			t.Destination = filepath.Join(sec.MountPath, sec.File)
		}
		if s.ReloadSignal != "" && t.Command == nil {
			t.Command = []string{o.Rotor, "injector", "signal", "-signal", strings.ToUpper(s.ReloadSignal), "-container-process", s.reloadProcess()}
		}
		out = append(out, t)
	}
	if s.RestartOnChange && role == SidecarRole {
		s.restartCommand(out, o)
	}
	return out, nil
}

// restartCommand gives the templates without a command of their own (the
// token's excepted: it changes with every login) one restart command
// naming all their files, so that they form one group: a pass that writes
// several of them runs it once. Its timeout covers the debounce, and the
// API calls after it.
func (s *Spec) restartCommand(ts []*templateBlock, o Options) {
	var files []string
	var mine []*templateBlock
	for _, t := range ts {
		if t.Command == nil && !(s.InjectToken && t.Contents == tokenTpl) {
			files = append(files, t.Destination)
			mine = append(mine, t)
		}
	}
	dir := s.SADir
	if dir == "" {
		dir = saDir
	}
	cmd := append([]string{o.Rotor, "injector", "restart", "-state", restartStateFile, "-sa-dir", dir,
		"-debounce", s.RestartDebounce.String(), "--"}, files...)
	timeout := (s.RestartDebounce*3/2 + 45*time.Second).String()
	for _, t := range mine {
		t.Command, t.CmdTimeout = cmd, timeout
	}
}

// reloadProcess is the process name the reload signal goes to.
func (s *Spec) reloadProcess() string { return s.ReloadTarget }

// ExecConfig is the configuration of `rotor agent` wrapped around an app
// container's command in env mode: it logs in with the sidecar's token
// (a token_file method on the shared volume, so the pod logs in once),
// renders the environment templates and runs argv with them.
func ExecConfig(s *Spec, argv []string) ([]byte, error) {
	c := agentConfig{
		PidFile: "",
		Vault:   s.vault(),
		AutoAuth: &autoAuth{Method: &method{Type: "token_file", Namespace: s.Namespace,
			Config: map[string]string{"token_file_path": sharedToken}}},
		// The environment templates follow the same interval as the files.
		TemplateConfig: &templateConfig{ExitOnRetryFailure: s.ExitOnRetryFailure, StaticSecretRenderInterval: s.StaticSecretRenderInterval},
		EnvTemplates:   map[string]*envTpl{},
		Exec:           &execBlock{Command: argv, RestartOnSecretChanges: "always", RestartStopSignal: "SIGTERM"},
	}
	if s.EnvOnChange != "restart" {
		c.Exec.ReloadSignal = strings.ToUpper(s.EnvOnChange)
	}
	for name, tpl := range s.Env {
		c.EnvTemplates[name] = &envTpl{Contents: tpl, ErrMissingKey: true}
	}
	return json.Marshal(c)
}
