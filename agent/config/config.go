// Package config loads rotor's configuration: HCL (or JSON) files in Vault
// Agent's syntax, decoded into typed values, defaulted, then validated
// strictly. Every problem is reported at once with its file:line:col.
package config

import (
	"os"
	"strings"
	"time"

	"github.com/hashicorp/hcl/v2"
)

// Config is a loaded, defaulted and validated configuration.
type Config struct {
	Vault          Vault
	AutoAuth       *AutoAuth // nil: use the token from VAULT_TOKEN / BAO_TOKEN
	Templates      []*Template
	TemplateConfig TemplateConfig
	Exec           *Exec
	EnvTemplates   []*EnvTemplate
	PidFile        string
	ExitAfterAuth  bool
	LogLevel       string // debug, info, warn, error; "" = the -log-level flag

	// RevokeOnShutdown revokes the leases rotor created when it stops on
	// SIGTERM/SIGINT (a template may override it); RevokeTokenOnShutdown
	// also revokes rotor's own token.
	RevokeOnShutdown      bool
	RevokeTokenOnShutdown bool

	// State keeps rotor's token and leases across restarts (nil: off).
	State *State

	// Listeners serve the local API (health, status, metrics).
	Listeners []*Listener

	// Token is the static token from VAULT_TOKEN or BAO_TOKEN, used when
	// there is no auto_auth block. It is never printed.
	Token Secret

	// Files lists the configuration files that were read, in order.
	Files []string
}

// Secret is a string that never prints its value.
type Secret string

// String implements fmt.Stringer without revealing the value.
func (s Secret) String() string {
	if s == "" {
		return ""
	}
	return "[redacted]"
}

// GoString implements fmt.GoStringer without revealing the value.
func (s Secret) GoString() string { return s.String() }

// Vault is the `vault {}` block: how to reach the server.
type Vault struct {
	Address       string
	CACert        string
	CAPath        string
	ClientCert    string
	ClientKey     string
	TLSSkipVerify bool
	TLSServerName string
	Namespace     string
	// NumRetries is how often a request is retried on 412 and 5xx answers
	// and connection errors; 0 disables retries. Default 12, as Vault Agent.
	NumRetries int
}

// AutoAuth is the `auto_auth {}` block.
type AutoAuth struct {
	Method *Method
	Sinks  []*Sink
}

// Method is `auto_auth { method "<type>" {...} }`.
type Method struct {
	Type       string
	MountPath  string // default "auth/<type>"
	Namespace  string
	MinBackoff time.Duration // default 1s
	MaxBackoff time.Duration // default 5m
	ExitOnErr  bool

	AppRole    *AppRole
	Kubernetes *Kubernetes
	JWT        *JWT
	Cert       *Cert
	TokenFile  *TokenFile

	Range hcl.Range
}

// AppRole is the approle method's config map.
type AppRole struct {
	RoleIDFilePath                 string
	SecretIDFilePath               string
	RemoveSecretIDFileAfterReading bool // default true
	SecretIDResponseWrappingPath   string
}

// Kubernetes is the kubernetes method's config map.
type Kubernetes struct {
	Role      string
	TokenPath string // default DefaultKubernetesTokenPath
}

// DefaultKubernetesTokenPath is where Kubernetes mounts the service-account token.
const DefaultKubernetesTokenPath = "/var/run/secrets/kubernetes.io/serviceaccount/token"

// JWT is the jwt method's config map.
type JWT struct {
	Path                  string
	Role                  string
	RemoveJWTAfterReading bool // default true
}

// Cert is the cert method's config map. ClientCert and ClientKey default to
// the vault block's client_cert and client_key.
type Cert struct {
	Name       string
	CACert     string
	ClientCert string
	ClientKey  string
	Reload     bool
}

// TokenFile is the token_file method's config map.
type TokenFile struct {
	Path string
}

// Sink is `auto_auth { sink "file" {...} }`.
type Sink struct {
	Type    string
	WrapTTL time.Duration
	Path    string
	Mode    os.FileMode // default 0640
	Owner   Owner
	Range   hcl.Range
}

// Owner says who should own a written file. Unset fields keep the writer's.
type Owner struct {
	User  string // name or numeric id
	Group string
	UID   *int
	GID   *int
}

// Command is a command to run: Argv without a shell, or Shell through /bin/sh -c.
type Command struct {
	Argv  []string
	Shell string
	Range hcl.Range
}

// IsZero reports whether no command is set.
func (c Command) IsZero() bool { return len(c.Argv) == 0 && c.Shell == "" }

// Template is a `template {}` block.
type Template struct {
	Source            string
	Contents          string
	Destination       string
	Perms             os.FileMode // default 0644
	Owner             Owner
	CreateDestDirs    bool // default true
	Backup            bool
	Command           Command
	CommandTimeout    time.Duration // default 30s
	ErrorOnMissingKey bool
	LeftDelim         string
	RightDelim        string
	SandboxPath       string
	WaitMin, WaitMax  time.Duration
	RevokeOnShutdown  *bool
	Range             hcl.Range
}

// TemplateConfig is the `template_config {}` block.
type TemplateConfig struct {
	ExitOnRetryFailure         bool
	StaticSecretRenderInterval time.Duration // default 5m
	MaxConnectionsPerHost      int           // default 10
	LeaseRenewalThreshold      float64       // default 0.9
}

// Exec is the `exec {}` block: run the app as a child process.
type Exec struct {
	Command                Command
	RestartOnSecretChanges string // "always" (default) or "never"
	RestartStopSignal      string // default SIGTERM
	// RestartKillTimeout is how long a stopping child gets before SIGKILL.
	RestartKillTimeout time.Duration // default 30s
	// ReloadSignal, if set, is sent instead of a restart when a secret
	// changes (for apps that re-read their environment file or config).
	ReloadSignal string
	// Debounce gathers a burst of secret changes into one restart.
	Debounce time.Duration // default 2s
	Range    hcl.Range
}

// State is the `state {}` block: where rotor keeps its token and leases
// between runs, and the key that encrypts them.
type State struct {
	Dir string
	// Exactly one key source: a file, an environment variable, or the
	// Kubernetes service-account token (at its default path, or KeyFile).
	KeyFile           string
	KeyEnv            string
	KubernetesSAToken bool
	Range             hcl.Range
}

// Listener is a `listener "tcp"|"unix" {}` block: where the local API
// (health, readiness, status, metrics) is served.
type Listener struct {
	Type        string // "tcp" or "unix"
	Address     string
	Mode        os.FileMode // unix socket mode, default 0660
	TLSCertFile string
	TLSKeyFile  string
	TLSDisable  bool
	// EnableRotate allows POST /v1/rotate.
	EnableRotate bool
	Range        hcl.Range
}

// EnvTemplate is an `env_template "NAME" {}` block.
type EnvTemplate struct {
	Name              string
	Source            string
	Contents          string
	ErrorOnMissingKey bool
	Range             hcl.Range
}

// String shows the command as configured.
func (c Command) String() string {
	if c.Shell != "" {
		return c.Shell
	}
	return strings.Join(c.Argv, " ")
}
