package injector

import (
	"errors"
	"fmt"
	"path"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/rotorproject/rotor/internal/jsonpatch"
)

// Secret is one agent-inject-secret-<name> (or template, or template-file)
// annotation and the per-secret annotations that go with it.
type Secret struct {
	// Name is the file name (lower-cased unless preserve-secret-case);
	// RawName is the annotation's suffix, which the per-secret
	// annotations repeat.
	Name, RawName string
	// Path is the Vault path the default template reads.
	Path string
	// Template is agent-inject-template-<name>; TemplateFile is
	// agent-inject-template-file-<name> (a path in the sidecar), used
	// only without Template.
	Template, TemplateFile string
	// MountPath is the directory the file goes to (secret-volume-path,
	// or secret-volume-path-<name>).
	MountPath string
	// File is agent-inject-file-<name>, relative to MountPath.
	File string
	// Perms is agent-inject-perms-<name> ("0640"), Command is
	// agent-inject-command-<name>.
	Perms, Command string
	// ErrMissingKey is error-on-missing-key-<name>.
	ErrMissingKey bool
}

// Spec is what a pod's annotations ask for, with the injector's defaults
// filled in as vault-k8s fills its own (agent.Init and agent.New).
type Spec struct {
	Secrets []Secret
	// Vault connection.
	Address, Namespace, CACert, CAPath, ClientCert, ClientKey, TLSServerName, TLSSecret string
	TLSSkipVerify                                                                       bool
	// Auto-auth.
	Role, AuthType, AuthPath, AuthMinBackoff, AuthMaxBackoff string
	AuthConfig                                               map[string]string
	AutoAuthExitOnErr                                        bool
	InjectToken                                              bool
	// Where and how.
	SecretVolumePath         string
	Containers               []string // app containers that mount the secrets
	DefaultTemplate          string
	PrePopulate, PrePopOnly  bool
	InitFirst                bool
	ConfigMap                string
	Image                    string
	Sidecar                  string
	RunAsUser, RunAsGroup    int64
	SetSecurityContext       bool
	ShareProcessNamespace    *bool
	CacheEnable              bool
	CachePort, CacheUseToken string
	RevokeOnShutdown         bool
	Limits, Requests         map[string]string
	// template_config and the vault client's connection settings.
	ExitOnRetryFailure         bool
	StaticSecretRenderInterval string
	MaxConnectionsPerHost      int64
	DisableIdleConnections     []string
	DisableKeepAlives          []string
	LogLevel, LogFormat        string
	// rotor's own: environment templates and reload signals.
	Env           map[string]string // NAME -> template
	EnvContainers []string
	EnvOnChange   string // "restart" or a signal name
	ReloadSignal  string
	ReloadTarget  string // container name
	// RestartOnChange gives the sidecar's file templates the command
	// `rotor injector restart`, debounced by RestartDebounce.
	RestartOnChange bool
	RestartDebounce time.Duration
	// SADir is where the rotor containers mount the service account
	// (token, ca.crt), for the restart command's API calls.
	SADir string
	// The agent containers (extras.go): proxy-address,
	// agent-extra-secret, agent-copy-volume-mounts,
	// agent-service-account-token-volume-name, and the patches of
	// agent-json-patch and agent-init-json-patch.
	ProxyAddress, ExtraSecret, CopyVolumeMounts, SATokenVolume string
	JSONPatch, InitJSONPatch                                   jsonpatch.Patch
	// The agent process (agentenv.go): client-timeout, client-max-retries,
	// go-max-procs as its environment, agent-enable-quit, and with
	// auth-type aws the app containers' AWS web identity.
	ClientTimeout, ClientMaxRetries, GoMaxProcs string
	EnableQuit                                  bool
	AWSEnv                                      []envVar
	AWSTokenMount                               *volumeMount
}

// Warning is a note for the user about one annotation: unknown, or known
// and not applied. It goes into the AdmissionReview response's warnings.
type Warning struct {
	Annotation, Reason string
}

func (w Warning) String() string { return w.Annotation + ": " + w.Reason }

// ShouldInject reports whether the pod asks for injection and has not been
// injected yet (vault-k8s's ShouldInject), and whether it carries a rotor
// container already (never mutate twice).
func ShouldInject(ann map[string]string, p *pod) (bool, error) {
	raw, ok := ann[annInject]
	if !ok {
		return false, nil
	}
	on, err := strconv.ParseBool(raw)
	if err != nil {
		return false, fmt.Errorf("%s: %q is not a boolean", annInject, raw)
	}
	if !on || ann[annStatus] == "injected" {
		return false, nil
	}
	return !p.hasContainer(sidecarName, initName), nil
}

// Parse reads the pod's annotations into a Spec. Every problem is an error
// naming its annotation; unknown and unapplied vault.hashicorp.com/* and
// rotor annotations are returned as warnings, in name order.
func Parse(p *pod, o Options) (*Spec, []Warning, error) {
	a := p.Metadata.Annotations
	var errs []error
	var warns []Warning
	keys := make([]string, 0, len(a))
	for k := range a {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		if !strings.HasPrefix(k, vaultPrefix) && !strings.HasPrefix(k, rotorPrefix) {
			continue
		}
		if known, why := classify(k); !known {
			warns = append(warns, Warning{Annotation: k, Reason: why})
		}
	}
	get := func(k, def string) string {
		if v, ok := a[k]; ok {
			return v
		}
		return def
	}
	boolean := func(k string, def bool) bool {
		v, ok := a[k]
		if !ok {
			return def
		}
		b, err := strconv.ParseBool(v)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %q is not a boolean", k, v))
		}
		return b
	}
	id := func(k string, def int64) int64 {
		v, ok := a[k]
		if !ok {
			return def
		}
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n < 0 {
			errs = append(errs, fmt.Errorf("%s: %q is not a user or group id", k, v))
		}
		return n
	}
	s := &Spec{
		Address:          get(annService, o.VaultAddress),
		Namespace:        a[annNamespace],
		CACert:           a[annCACert],
		CAPath:           a[annCAKey], // vault-k8s writes ca-key into ca_path (config.go newConfig)
		ClientCert:       a[annClientCert],
		ClientKey:        a[annClientKey],
		TLSServerName:    a[annTLSServerName],
		TLSSecret:        a[annTLSSecret],
		TLSSkipVerify:    boolean(annTLSSkipVerify, false),
		Role:             a[annRole],
		AuthType:         get(annAuthType, o.AuthType),
		AuthPath:         get(annAuthPath, o.AuthPath),
		AuthMinBackoff:   a[annAuthMinBackoff],
		AuthMaxBackoff:   a[annAuthMaxBackoff],
		SecretVolumePath: get(annSecretVolumePath, "/vault/secrets"),
		DefaultTemplate:  strings.ToLower(get(annDefaultTemplate, o.DefaultTemplate)),
		PrePopulate:      boolean(annPrePopulate, true),
		PrePopOnly:       boolean(annPrePopulateOnly, false),
		InitFirst:        boolean(annInitFirst, false),
		ConfigMap:        a[annConfigMap],
		Image:            get(annImage, o.Image),
		Sidecar:          get(annSidecar, o.Sidecar),
		RunAsUser:        id(annRunAsUser, o.RunAsUser),
		RunAsGroup:       id(annRunAsGroup, o.RunAsGroup),
		CacheEnable:      boolean(annCacheEnable, false),
		CachePort:        get(annCacheListenerPort, "8200"),
		CacheUseToken:    get(annCacheUseAutoAuthToken, "true"),
		RevokeOnShutdown: boolean(annRevokeOnShutdown, false),
		InjectToken:      boolean(annInjectToken, false),
		// vault-k8s: template-config-exit-on-retry-failure defaults to true.
		ExitOnRetryFailure:         boolean(annExitOnRetryFailure, true),
		StaticSecretRenderInterval: a[annStaticRenderInterval],
		AutoAuthExitOnErr:          boolean(annAutoAuthExitOnErr, false),
		LogLevel:                   get(annLogLevel, "info"),
		LogFormat:                  get(annLogFormat, "standard"),
		EnvOnChange:                get(annEnvOnChange, "restart"),
		ReloadSignal:               a[annReloadSignal],
		ReloadTarget:               a[annReloadContainer],
		RestartOnChange:            boolean(annRestartOnChange, false),
		RestartDebounce:            5 * time.Second,
		SADir:                      saDir,
	}
	// vault-k8s turns the security context on when any id annotation is
	// set; it is on by default anyway (DefaultAgentSetSecurityContext).
	s.SetSecurityContext = boolean(annSetSecurityContext, true)
	if s.Sidecar != Native && s.Sidecar != Classic {
		errs = append(errs, fmt.Errorf("%s: %q is neither %q nor %q", annSidecar, s.Sidecar, Native, Classic))
	}
	if s.DefaultTemplate != "map" && s.DefaultTemplate != "json" {
		errs = append(errs, fmt.Errorf("%s: invalid default template type %q (map or json)", annDefaultTemplate, s.DefaultTemplate))
	}
	if v, ok := a[annShareProcessNamespace]; ok {
		b := boolean(annShareProcessNamespace, false)
		if sp := p.Spec.ShareProcessNamespace; sp != nil && !*sp && b {
			errs = append(errs, fmt.Errorf("%s: %q, but the pod disables shareProcessNamespace explicitly", annShareProcessNamespace, v))
		}
		s.ShareProcessNamespace = &b
	}
	if boolean(annRunAsSameUser, false) {
		uid, err := sameUser(p)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", annRunAsSameUser, err))
		}
		s.RunAsUser = uid
	}
	for _, k := range []string{annAuthMinBackoff, annAuthMaxBackoff} {
		if v := a[k]; v != "" {
			if _, err := time.ParseDuration(v); err != nil {
				errs = append(errs, fmt.Errorf("%s: %q is not a duration", k, v))
			}
		}
	}
	if v, ok := a[annMaxConnsPerHost]; ok {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n < 0 {
			errs = append(errs, fmt.Errorf("%s: %q is not a count", annMaxConnsPerHost, v))
		}
		s.MaxConnectionsPerHost = n
	}
	if v := a[annDisableIdleConns]; v != "" {
		s.DisableIdleConnections = strings.Split(v, ",")
	}
	if v := a[annDisableKeepAlives]; v != "" {
		s.DisableKeepAlives = strings.Split(v, ",")
	}
	s.Containers = containerList(a[annContainers], p)
	s.AuthConfig = map[string]string{}
	for _, k := range keys {
		if param, ok := strings.CutPrefix(k, annAuthConfig); ok {
			s.AuthConfig[strings.ReplaceAll(param, "-", "_")] = a[k]
		}
	}
	if s.Role != "" {
		s.AuthConfig["role"] = s.Role
	}
	if s.ConfigMap == "" && s.AuthType == "kubernetes" && s.AuthConfig["role"] == "" {
		errs = append(errs, fmt.Errorf("%s: no Vault role: set it (or %srole, or %s)", annRole, annAuthConfig, annConfigMap))
	}
	s.Limits, s.Requests = resources(a, annLimits, o.Limits, &errs), resources(a, annRequests, o.Requests, &errs)
	s.Secrets = secrets(a, keys, s.SecretVolumePath, &errs)
	s.Env, s.EnvContainers = envTemplates(a, keys, s.Containers, &errs)
	if s.PrePopOnly && len(s.Env) > 0 {
		errs = append(errs, fmt.Errorf("%s: environment templates need a running sidecar, not agent-pre-populate-only", annEnvPrefix+"*"))
	}
	if s.ReloadSignal != "" {
		if _, ok := signals[strings.ToUpper(s.ReloadSignal)]; !ok {
			errs = append(errs, fmt.Errorf("%s: unknown signal %q", annReloadSignal, s.ReloadSignal))
		}
		if s.ReloadTarget == "" && len(s.Containers) > 0 {
			s.ReloadTarget = s.Containers[0]
		}
	}
	if s.RestartOnChange {
		errs = append(errs, restartProblems(s, a)...)
	}
	if s.EnvOnChange != "restart" {
		if _, ok := signals[strings.ToUpper(s.EnvOnChange)]; !ok {
			errs = append(errs, fmt.Errorf("%s: %q is neither restart nor a signal name", annEnvOnChange, s.EnvOnChange))
		}
	}
	parseExtras(s, a, &errs)
	parseAgentEnv(s, p, a, o, &errs)
	if len(errs) > 0 {
		return nil, warns, errors.Join(errs...)
	}
	return s, append(append(warns, patchWarnings(s)...), quitWarnings(s)...), nil
}

// signals are the names a reload or env change may send.
var signals = map[string]bool{"SIGHUP": true, "SIGUSR1": true, "SIGUSR2": true, "SIGTERM": true, "SIGINT": true, "SIGQUIT": true, "SIGWINCH": true}

// sameUser is vault-k8s's runAsSameID: the first container's runAsUser,
// which must be set and not root.
func sameUser(p *pod) (int64, error) {
	if len(p.Spec.Containers) == 0 {
		return 0, errors.New("no containers in the pod")
	}
	sc := p.Spec.Containers[0].SecurityContext
	if sc == nil || sc.RunAsUser == nil {
		return 0, fmt.Errorf("container %q has no securityContext.runAsUser", p.Spec.Containers[0].Name)
	}
	if *sc.RunAsUser == 0 {
		return 0, errors.New("the first container runs as root; rotor will not")
	}
	return *sc.RunAsUser, nil
}

// containerList is agent-inject-containers, or every app container.
func containerList(v string, p *pod) []string {
	if v != "" {
		return strings.Split(v, ",")
	}
	var names []string
	for _, c := range p.Spec.Containers {
		names = append(names, c.Name)
	}
	return names
}

// quantity is a Kubernetes resource quantity: a number with an optional
// suffix (m, k, Ki, M, Mi, ..., e3).
var quantity = regexp.MustCompile(`^[+]?([0-9]+(\.[0-9]*)?|\.[0-9]+)([numkMGTPE]|[KMGTPE]i|[eE][+-]?[0-9]+)?$`)

func resources(a map[string]string, prefix string, def map[string]string, errs *[]error) map[string]string {
	out := map[string]string{}
	for _, r := range []string{"cpu", "mem", "ephemeral"} {
		v, ok := a[prefix+r]
		if !ok {
			v = def[r]
		}
		if v == "" {
			continue
		}
		if !quantity.MatchString(v) {
			*errs = append(*errs, fmt.Errorf("%s%s: %q is not a resource quantity", prefix, r, v))
			continue
		}
		out[r] = v
	}
	return out
}

// secrets finds every secret named by agent-inject-secret-, -template-file-
// or -template- (vault-k8s's secrets(): empty values are skipped), in name
// order so that the config is the same for the same pod.
func secrets(a map[string]string, keys []string, volPath string, errs *[]error) []Secret {
	seen := map[string]bool{}
	var out []Secret
	for _, k := range keys {
		if strings.TrimSpace(a[k]) == "" {
			continue
		}
		for _, prefix := range []string{annSecret, annTemplateFile, annTemplate} {
			raw, ok := strings.CutPrefix(k, prefix)
			if !ok {
				continue
			}
			name := raw
			if !preserveCase(a, raw) {
				name = strings.ToLower(raw)
			}
			if name != "" && !seen[raw] {
				seen[raw] = true
				out = append(out, Secret{Name: name, RawName: raw})
			}
			break
		}
	}
	for i := range out {
		s := &out[i]
		per := func(prefix, def string) string {
			if v, ok := a[prefix+s.RawName]; ok {
				return v
			}
			return def
		}
		s.Path = per(annSecret, "")
		s.Template = per(annTemplate, "")
		if s.Template == "" {
			s.TemplateFile = per(annTemplateFile, "")
		}
		s.MountPath = per(annSecretVolumePath+"-", volPath)
		s.Command = per(annCommand, "")
		s.File = per(annFile, "")
		s.Perms = per(annPerms, "")
		if v := per(annErrMissingKey, ""); v != "" {
			b, err := strconv.ParseBool(v)
			if err != nil {
				*errs = append(*errs, fmt.Errorf("%s%s: %q is not a boolean", annErrMissingKey, s.RawName, v))
			}
			s.ErrMissingKey = b
		}
		if s.Perms != "" {
			if _, err := strconv.ParseUint(s.Perms, 8, 32); err != nil {
				*errs = append(*errs, fmt.Errorf("%s%s: %q is not an octal file mode", annPerms, s.RawName, s.Perms))
			}
		}
		if s.Path == "" && s.Template == "" && s.TemplateFile == "" {
			*errs = append(*errs, fmt.Errorf("%s%s: no Vault path and no template", annSecret, s.RawName))
		}
		if !path.IsAbs(s.MountPath) {
			*errs = append(*errs, fmt.Errorf("%s: %q is not an absolute path", annSecretVolumePath, s.MountPath))
		}
	}
	return out
}

// preserveCase is preserve-secret-case-<name>, else preserve-secret-case.
func preserveCase(a map[string]string, raw string) bool {
	v, ok := a[annPreserveCase+"-"+raw]
	if !ok {
		v = a[annPreserveCase]
	}
	b, _ := strconv.ParseBool(v)
	return b
}

// envName is what a shell and Kubernetes accept as a variable name.
var envName = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

func envTemplates(a map[string]string, keys, apps []string, errs *[]error) (map[string]string, []string) {
	env := map[string]string{}
	for _, k := range keys {
		name, ok := strings.CutPrefix(k, annEnvPrefix)
		if !ok || k == annEnvContainers || k == annEnvOnChange {
			continue
		}
		if !envName.MatchString(name) {
			*errs = append(*errs, fmt.Errorf("%s: %q is not an environment variable name", k, name))
			continue
		}
		env[name] = a[k]
	}
	if len(env) == 0 {
		return nil, nil
	}
	if v := a[annEnvContainers]; v != "" {
		return env, strings.Split(v, ",")
	}
	return env, apps
}

// restartProblems checks restart-on-change against what it needs: a
// sidecar that outlives the first render, and templates rotor generates.
func restartProblems(s *Spec, a map[string]string) []error {
	var errs []error
	if v, ok := a[annRestartDebounce]; ok {
		d, err := time.ParseDuration(v)
		if err != nil || d < 0 || d > 30*time.Second {
			errs = append(errs, fmt.Errorf("%s: %q is not a duration from 0s to 30s", annRestartDebounce, v))
		}
		s.RestartDebounce = d
	}
	if s.PrePopOnly {
		errs = append(errs, fmt.Errorf("%s: a restart on change needs the running sidecar, not %s", annRestartOnChange, annPrePopulateOnly))
	}
	if s.ConfigMap != "" {
		errs = append(errs, fmt.Errorf("%s: the templates come from %s; give them the command `rotor injector restart` there instead", annRestartOnChange, annConfigMap))
	}
	if s.ReloadSignal != "" {
		errs = append(errs, fmt.Errorf("%s and %s: choose one (a restart replaces the pod, a signal reloads it)", annRestartOnChange, annReloadSignal))
	}
	return errs
}
