package injector

import (
	"errors"
	"fmt"
	"math"
	"path"
	"strconv"
	"strings"
	"time"
)

// vault-k8s's annotations for the agent process itself (the environment
// of its containers, agent-inject/agent/container_env.go, and the quit
// endpoint, config.go), honoured as vault-k8s honours them.
const (
	// annClientTimeout is VAULT_CLIENT_TIMEOUT: the timeout of each
	// request rotor's Vault client sends.
	annClientTimeout = vaultPrefix + "client-timeout"
	// annClientMaxRetries is VAULT_MAX_RETRIES: the Vault client's own
	// retries of 5xx answers.
	annClientMaxRetries = vaultPrefix + "client-max-retries"
	// annGoMaxProcs is GOMAXPROCS, read by the Go runtime.
	annGoMaxProcs = vaultPrefix + "go-max-procs"
	// annEnableQuit puts agent_api { enable_quit = true } on the listener
	// at agent-cache-listener-port.
	annEnableQuit = vaultPrefix + "agent-enable-quit"
	// annMetricsListenerPort is recognised, not applied (annotations.go).
	annMetricsListenerPort = vaultPrefix + "agent-metrics-listener-port"
)

// The EKS pod identity webhook's names (IAM roles for service accounts):
// the variables it sets in the app containers, which vault-k8s copies
// into its agent containers with auth-type aws, and the part of its
// token mount's path vault-k8s finds it by.
var awsEnvNames = []string{"AWS_ROLE_ARN", "AWS_WEB_IDENTITY_TOKEN_FILE", "AWS_DEFAULT_REGION", "AWS_REGION"}

const awsTokenMountMark = "eks.amazonaws.com"

// parseAgentEnv reads the agent process annotations, and with auth-type
// aws the app containers' AWS web identity, into s. vault-k8s passes the
// three values through unchecked and the agent then fails to start (Vault's
// client refuses a VAULT_CLIENT_TIMEOUT or VAULT_MAX_RETRIES it cannot
// read); rotor refuses the pod instead, naming the annotation, and refuses
// a GOMAXPROCS the Go runtime would silently ignore.
func parseAgentEnv(s *Spec, p *pod, a map[string]string, o Options, errs *[]error) {
	s.ClientTimeout = strings.TrimSpace(a[annClientTimeout])
	if s.ClientTimeout != "" {
		if d, err := durationSecond(s.ClientTimeout); err != nil || d < 0 {
			*errs = append(*errs, fmt.Errorf("%s: %q is not a duration (seconds, or a Go duration such as 30s)", annClientTimeout, s.ClientTimeout))
		}
	}
	s.ClientMaxRetries = strings.TrimSpace(a[annClientMaxRetries])
	if s.ClientMaxRetries != "" {
		// What Vault's client reads (api.ReadEnvironment).
		if _, err := strconv.ParseUint(s.ClientMaxRetries, 10, 32); err != nil {
			*errs = append(*errs, fmt.Errorf("%s: %q is not a count of retries (0 or more)", annClientMaxRetries, s.ClientMaxRetries))
		}
	}
	s.GoMaxProcs = strings.TrimSpace(a[annGoMaxProcs])
	if s.GoMaxProcs != "" {
		// What the Go runtime reads; anything else it ignores.
		if n, err := strconv.ParseInt(s.GoMaxProcs, 10, 32); err != nil || n < 1 {
			*errs = append(*errs, fmt.Errorf("%s: %q is not a positive number of CPUs", annGoMaxProcs, s.GoMaxProcs))
		}
	}
	if v, ok := a[annEnableQuit]; ok {
		b, err := strconv.ParseBool(v)
		if err != nil {
			*errs = append(*errs, fmt.Errorf("%s: %q is not a boolean", annEnableQuit, v))
		}
		s.EnableQuit = b
	}
	if s.EnableQuit || s.CacheEnable {
		// The listener's address is made of it: a bad one would only
		// fail in the sidecar, after the pod is admitted.
		if n, err := strconv.Atoi(s.CachePort); err != nil || n < 1 || n > 65535 {
			*errs = append(*errs, fmt.Errorf("%s: %q is not a port", annCacheListenerPort, s.CachePort))
		} else if n == o.StatusPort {
			*errs = append(*errs, fmt.Errorf("%s: port %d is the sidecar's status listener", annCacheListenerPort, n))
		}
	}
	if s.AuthType == "aws" {
		s.AWSEnv, s.AWSTokenMount = awsWebIdentity(p)
	}
}

// durationSecond reads a duration as Vault's client reads
// VAULT_CLIENT_TIMEOUT: a number of seconds, a number of days ("2d"), or
// a Go duration.
func durationSecond(v string) (time.Duration, error) {
	unit := time.Second
	num, days := strings.CutSuffix(v, "d")
	if days {
		unit = 24 * time.Hour
	}
	if n, err := strconv.ParseInt(num, 10, 64); err == nil {
		if n > math.MaxInt64/int64(unit) || n < -(math.MaxInt64/int64(unit)) {
			return 0, errors.New("out of range")
		}
		return time.Duration(n) * unit, nil
	} else if days {
		return 0, err
	}
	return time.ParseDuration(v)
}

// awsWebIdentity is vault-k8s's IRSA support: the AWS variables of the
// app containers (the first value of each name wins; only literal values,
// a valueFrom has none to copy), and the first app container mount whose
// path contains eks.amazonaws.com (the webhook's aws-iam-token volume).
func awsWebIdentity(p *pod) ([]envVar, *volumeMount) {
	var env []envVar
	seen := map[string]bool{}
	for _, name := range awsEnvNames {
		for _, c := range p.Spec.Containers {
			for _, e := range c.Env {
				if e.Name == name && e.Value != "" && !seen[name] {
					seen[name] = true
					env = append(env, e)
				}
			}
		}
	}
	for _, c := range p.Spec.Containers {
		for _, vm := range c.VolumeMounts {
			if strings.Contains(vm.MountPath, awsTokenMountMark) {
				return env, &volumeMount{Name: vm.Name, MountPath: vm.MountPath, ReadOnly: true}
			}
		}
	}
	return env, nil
}

// agentEnv is the environment vault-k8s gives its agent containers for
// these annotations (ContainerEnvVars): GOMAXPROCS, VAULT_CLIENT_TIMEOUT,
// VAULT_MAX_RETRIES, and with auth-type aws the app's AWS variables, with
// auth-config-region as AWS_REGION. vault-k8s appends that AWS_REGION
// after a copied one, and the last of two equal names is the one a
// container sees; rotor writes the variable once, with that value.
func (m *mutation) agentEnv() []any {
	s := m.s
	var out []any
	add := func(name, value string) {
		out = append(out, map[string]any{"name": name, "value": value})
	}
	for _, kv := range [][2]string{{"GOMAXPROCS", s.GoMaxProcs}, {"VAULT_CLIENT_TIMEOUT", s.ClientTimeout}, {"VAULT_MAX_RETRIES", s.ClientMaxRetries}} {
		if kv[1] != "" {
			add(kv[0], kv[1])
		}
	}
	if s.AuthType != "aws" {
		return out
	}
	region, hasRegion := s.AuthConfig["region"]
	for _, e := range s.AWSEnv {
		if e.Name == "AWS_REGION" && hasRegion {
			continue
		}
		add(e.Name, e.Value)
	}
	if hasRegion {
		add("AWS_REGION", region)
	}
	return out
}

// awsMounts is the app's AWS web identity token mount for a rotor
// container whose own mounts are own, unless it mounts that volume or
// path already (the mount of an app's token volume that rotor also uses
// as its service account token, say).
func (m *mutation) awsMounts(own []volumeMount) []volumeMount {
	am := m.s.AWSTokenMount
	if am == nil {
		return nil
	}
	for _, vm := range own {
		if vm.Name == am.Name || path.Clean(vm.MountPath) == path.Clean(am.MountPath) {
			return nil
		}
	}
	return []volumeMount{*am}
}

// quitListener is vault-k8s's agent-enable-quit: the quit endpoint on the
// listener at agent-cache-listener-port, which is added (127.0.0.1, no
// TLS) when the cache did not add it, with an empty cache block when
// there is none (vault-k8s adds one: Vault Agent needs it for a listener).
// Never on rotor's status listener, which vault-k8s's clients do not know.
func quitListener(c *agentConfig, s *Spec) {
	addr := "127.0.0.1:" + s.CachePort
	var l *listenerBlock
	for _, x := range c.Listener {
		if x.Address == addr && x.AllowedHosts == nil {
			l = x
		}
	}
	if l == nil {
		l = &listenerBlock{Type: "tcp", Address: addr, TLSDisable: true}
		c.Listener = append(c.Listener, l)
	}
	l.AgentAPI = &agentAPI{EnableQuit: true}
	if c.Cache == nil {
		c.Cache = &cacheBlock{}
	}
}

// quitWarnings says where agent-enable-quit does not do what it does in
// vault-k8s's pod.
func quitWarnings(s *Spec) []Warning {
	switch {
	case !s.EnableQuit:
		return nil
	case s.PrePopOnly:
		return []Warning{{annEnableQuit, "not applied: " + annPrePopulateOnly + " leaves no sidecar to quit"}}
	case s.ConfigMap != "":
		return []Warning{{annEnableQuit, "not applied, as in vault-k8s: the " + annConfigMap +
			" config is used as written; set agent_api { enable_quit = true } on a listener there"}}
	case s.Sidecar == Native:
		return []Warning{{annEnableQuit, "the native sidecar has restartPolicy: Always: the kubelet restarts it after a quit; " +
			"it stops by itself once the app's containers have ended (use " + annSidecar + ": classic for vault-k8s's behaviour)"}}
	}
	return nil
}
