// Package config loads rotor's configuration: files in Vault Agent's
// grammar (HCL 1, or JSON), decoded into typed values, defaulted, then
// validated. Every problem is reported at once with its file:line:col.
// What Vault Agent refuses is an error; what it ignores (a key it does
// not know here, a label it drops) is a warning, and an error only with
// WithStrict.
package config

import (
	"os"
	"strings"
	"time"
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

	// DisableIdleConnections and DisableKeepAlives name the subsystems
	// ("auto-auth", "caching", "proxying", "templating") whose connections
	// to Vault are not kept idle / alive, as in Vault Agent (or its
	// VAULT_AGENT_DISABLE_* variables).
	DisableIdleConnections []string
	DisableKeepAlives      []string

	// Logging as Vault Agent's log_* keys give it; rotor logs to stderr and
	// warns that it ignores the file keys.
	LogFormat         string
	LogFile           string
	LogRotateBytes    int
	LogRotateDuration time.Duration
	LogRotateMaxFiles int

	// Cache and APIProxy are Vault Agent's cache {} and api_proxy {} blocks,
	// parsed and checked as Vault Agent 1.21 does (nil when absent).
	Cache    *Cache
	APIProxy *APIProxy

	// Warnings are the problems that did not refuse the configuration, in
	// the order of their positions.
	Warnings []Diagnostic

	// Files lists the configuration files that were read, in order.
	Files []string
}

// Cache is the cache {} block.
type Cache struct {
	// UseAutoAuthToken is true for true or "force"; ForceAutoAuthToken only
	// for "force". UseAutoAuthTokenSet says the key was written.
	UseAutoAuthToken    bool
	ForceAutoAuthToken  bool
	UseAutoAuthTokenSet bool
	EnforceConsistency  string // "always", "never" or ""
	WhenInconsistent    string // "fail", "retry", "forward" or ""
	Persist             *Persist
	Range               Pos
}

// Persist is cache { persist "<type>" {} }.
type Persist struct {
	Type                    string
	Path                    string
	KeepAfterImport         bool
	ExitOnErr               bool
	ServiceAccountTokenFile string
	Range                   Pos
}

// APIProxy is the api_proxy {} block.
type APIProxy struct {
	UseAutoAuthToken    bool
	ForceAutoAuthToken  bool
	UseAutoAuthTokenSet bool
	EnforceConsistency  string
	WhenInconsistent    string
	// UseClientCert (rotor's key) sends rotor's TLS client certificate
	// (vault { client_cert }) with proxied requests. Off by default: a
	// client of the listener would otherwise log in with rotor's TLS
	// identity (auth/cert/login). Vault Agent always sends it.
	UseClientCert bool
	Range         Pos
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
	// and connection errors; 0 disables retries. Default 12. As in Vault
	// Agent, the file's num_retries = 0 means the default and -1 means 0.
	NumRetries int
	Range      Pos // the vault block, or the file's start
	// AddressRange is where address was set (zero when it was not).
	AddressRange Pos
}

// AutoAuth is the `auto_auth {}` block.
type AutoAuth struct {
	Method *Method
	Sinks  []*Sink
	// EnableReauthOnNewCredentials is Vault Agent's key to log in again
	// when the credentials change; parsed, not acted on (warned).
	EnableReauthOnNewCredentials bool
	Range                        Pos
}

// Method is `auto_auth { method "<type>" {...} }` (or method { type = ... }).
type Method struct {
	Type       string
	MountPath  string // default "auth/<type>", no trailing slash
	Namespace  string
	MinBackoff time.Duration // default 1s
	MaxBackoff time.Duration // default 5m
	ExitOnErr  bool
	// WrapTTL asks Vault to response-wrap the login answer: the one sink
	// then receives the wrapped token (Vault Agent's method wrap_ttl).
	WrapTTL time.Duration

	AppRole    *AppRole
	Kubernetes *Kubernetes
	JWT        *JWT
	Cert       *Cert
	TokenFile  *TokenFile
	AWS        *AWS
	GCP        *GCP
	Azure      *Azure
	AliCloud   *AliCloud
	LDAP       *LDAP     // methods_other.go
	Kerberos   *Kerberos // methods_other.go
	CF         *CF       // cf and pcf; methods_other.go
	OCI        *OCI      // methods_other.go

	Range Pos
}

// AWS is the aws method's config map.
type AWS struct {
	Type                   string // "iam" or "ec2"
	Role                   string
	AccessKey              Secret
	SecretKey              Secret
	SessionToken           Secret
	HeaderValue            string
	Nonce                  Secret
	Region                 string
	CredentialPollInterval time.Duration // iam only; default 60s in Vault Agent
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
	// Diffie-Hellman encryption of the token (Vault Agent's dh_* keys):
	// DHType is "" or "curve25519"; AAD is resolved from AADEnvVar.
	DHType    string
	DHPath    string
	DeriveKey bool
	AAD       Secret
	AADEnvVar string
	Range     Pos
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
	Range Pos
}

// IsZero reports whether no command is set.
func (c Command) IsZero() bool { return len(c.Argv) == 0 && c.Shell == "" }

// Template is a `template {}` block.
type Template struct {
	Source            string
	Contents          string
	Destination       string
	Perms             os.FileMode // 0: not set (DefaultTemplatePerms minus the umask)
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
	// ErrorFatal is consul-template's error_fatal (nil: unset).
	ErrorFatal *bool
	// FunctionDenylist names template functions that must not be called.
	FunctionDenylist []string
	// LeaseRenewalThreshold and StaticSecretRenderInterval are rotor's
	// per-template overrides of template_config's keys (0: the global one).
	LeaseRenewalThreshold      float64
	StaticSecretRenderInterval time.Duration
	// Confirm is rotor's consumer check (nil: none).
	Confirm *Confirm
	Range   Pos
}

// TemplateConfig is the `template_config {}` block.
type TemplateConfig struct {
	ExitOnRetryFailure         bool
	StaticSecretRenderInterval time.Duration // default 5m
	MaxConnectionsPerHost      int           // default 10
	LeaseRenewalThreshold      float64       // default 0.9
	// MaxRenderedBytes caps a rendered template and each file the file
	// function reads (rotor's own key; 0: 16 MiB).
	MaxRenderedBytes int
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
	// ChildProcessStdout/Stderr are Vault Agent's files for the child's
	// output; parsed, not acted on (warned).
	ChildProcessStdout string
	ChildProcessStderr string
	Range              Pos
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
	Range             Pos
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
	// TLS details as Vault Agent takes them.
	TLSMinVersion                 string
	TLSMaxVersion                 string
	TLSCipherSuites               string
	TLSClientCAFile               string
	TLSRequireAndVerifyClientCert bool
	TLSDisableClientCerts         bool
	// Role is "default" (or "") or "metrics_only".
	Role string
	// RequireRequestHeader refuses requests without X-Vault-Request: true.
	RequireRequestHeader bool
	// SocketMode, SocketUser and SocketGroup are Vault Agent's unix socket
	// settings, as written (SocketMode wins over Mode when both are set
	// and it parses as octal).
	SocketMode  string
	SocketUser  string
	SocketGroup string
	// AgentAPIEnableQuit is agent_api { enable_quit = true }: /agent/v1/quit.
	AgentAPIEnableQuit bool
	// EnableRotate allows POST /agent/v1/rotate.
	EnableRotate bool
	// AllowedHosts are Host header names the listener accepts besides
	// localhost, *.localhost and IP addresses (rotor's own key).
	AllowedHosts []string
	Range        Pos
}

// EnvTemplate is an `env_template "NAME" {}` block.
type EnvTemplate struct {
	Name              string
	Source            string
	Contents          string
	ErrorOnMissingKey bool
	ErrorFatal        *bool
	LeftDelim         string
	RightDelim        string
	FunctionDenylist  []string
	Range             Pos
}

// String shows the command as configured.
func (c Command) String() string {
	if c.Shell != "" {
		return c.Shell
	}
	return strings.Join(c.Argv, " ")
}
