package injector

import "strings"

// The vault.hashicorp.com/* annotations, as vault-k8s names them
// (agent-inject/agent/annotations.go). Per-secret annotations end in
// "-<name>", the name taken from the agent-inject-secret-<name> annotation.
const (
	vaultPrefix = "vault.hashicorp.com/"

	annInject                = vaultPrefix + "agent-inject"
	annStatus                = vaultPrefix + "agent-inject-status"
	annSecret                = vaultPrefix + "agent-inject-secret-"
	annTemplate              = vaultPrefix + "agent-inject-template-"
	annTemplateFile          = vaultPrefix + "agent-inject-template-file-"
	annFile                  = vaultPrefix + "agent-inject-file-"
	annPerms                 = vaultPrefix + "agent-inject-perms-"
	annCommand               = vaultPrefix + "agent-inject-command-"
	annErrMissingKey         = vaultPrefix + "error-on-missing-key-"
	annPreserveCase          = vaultPrefix + "preserve-secret-case"
	annDefaultTemplate       = vaultPrefix + "agent-inject-default-template"
	annInjectToken           = vaultPrefix + "agent-inject-token"
	annContainers            = vaultPrefix + "agent-inject-containers"
	annInitFirst             = vaultPrefix + "agent-init-first"
	annPrePopulate           = vaultPrefix + "agent-pre-populate"
	annPrePopulateOnly       = vaultPrefix + "agent-pre-populate-only"
	annSecretVolumePath      = vaultPrefix + "secret-volume-path"
	annRunAsUser             = vaultPrefix + "agent-run-as-user"
	annRunAsGroup            = vaultPrefix + "agent-run-as-group"
	annRunAsSameUser         = vaultPrefix + "agent-run-as-same-user"
	annSetSecurityContext    = vaultPrefix + "agent-set-security-context"
	annShareProcessNamespace = vaultPrefix + "agent-share-process-namespace"
	annCacheEnable           = vaultPrefix + "agent-cache-enable"
	annCacheListenerPort     = vaultPrefix + "agent-cache-listener-port"
	annCacheUseAutoAuthToken = vaultPrefix + "agent-cache-use-auto-auth-token"
	annRevokeOnShutdown      = vaultPrefix + "agent-revoke-on-shutdown"
	annConfigMap             = vaultPrefix + "agent-configmap"
	annImage                 = vaultPrefix + "agent-image"
	annLimits                = vaultPrefix + "agent-limits-"
	annRequests              = vaultPrefix + "agent-requests-"
	annService               = vaultPrefix + "service"
	annRole                  = vaultPrefix + "role"
	annAuthType              = vaultPrefix + "auth-type"
	annAuthPath              = vaultPrefix + "auth-path"
	annAuthConfig            = vaultPrefix + "auth-config-"
	annAuthMinBackoff        = vaultPrefix + "auth-min-backoff"
	annAuthMaxBackoff        = vaultPrefix + "auth-max-backoff"
	annAutoAuthExitOnErr     = vaultPrefix + "agent-auto-auth-exit-on-err"
	annNamespace             = vaultPrefix + "namespace"
	annTLSSkipVerify         = vaultPrefix + "tls-skip-verify"
	annTLSServerName         = vaultPrefix + "tls-server-name"
	annTLSSecret             = vaultPrefix + "tls-secret"
	annCACert                = vaultPrefix + "ca-cert"
	annCAKey                 = vaultPrefix + "ca-key"
	annClientCert            = vaultPrefix + "client-cert"
	annClientKey             = vaultPrefix + "client-key"
	annLogLevel              = vaultPrefix + "log-level"
	annLogFormat             = vaultPrefix + "log-format"
	annExitOnRetryFailure    = vaultPrefix + "template-config-exit-on-retry-failure"
	annStaticRenderInterval  = vaultPrefix + "template-static-secret-render-interval"
	annMaxConnsPerHost       = vaultPrefix + "template-max-connections-per-host"
	annDisableIdleConns      = vaultPrefix + "agent-disable-idle-connections"
	annDisableKeepAlives     = vaultPrefix + "agent-disable-keep-alives"
	annRequestNamespace      = vaultPrefix + "agent-request-namespace"
)

// rotor's own annotations, for what vault-k8s has no word for.
const (
	rotorPrefix = "rotorproject.github.io/"

	// annSidecar chooses the pod's shape: "native" (one init container
	// with restartPolicy: Always, Kubernetes 1.29+) or "classic" (an init
	// container and a sidecar, as vault-k8s). Default: the injector's.
	annSidecar = rotorPrefix + "sidecar"
	// annEnvPrefix + NAME: a template whose rendered value becomes the
	// environment variable NAME of the app containers (opt-in; the
	// container's command is then run by rotor from a shared volume).
	annEnvPrefix = rotorPrefix + "env-"
	// annEnvContainers lists the containers that get the env templates
	// (default: those of agent-inject-containers).
	annEnvContainers = rotorPrefix + "env-containers"
	// annEnvOnChange: "restart" (default) or a signal name (SIGHUP, ...)
	// sent to the app instead of restarting it.
	annEnvOnChange = rotorPrefix + "env-on-change"
	// annReloadSignal: a signal sent to the app's processes (in the pods'
	// shared process namespace) whenever a file template changes.
	annReloadSignal = rotorPrefix + "reload-signal"
	// annReloadContainer: the container whose processes get it (default:
	// the first of agent-inject-containers).
	annReloadContainer = rotorPrefix + "reload-container"
	// annRestartOnChange: "true" restarts the pod's workload (Deployment,
	// StatefulSet, DaemonSet) the way `kubectl rollout restart` does when a
	// file template changes after the sidecar's first render.
	annRestartOnChange = rotorPrefix + "restart-on-change"
	// annRestartDebounce: how long the restart waits for more changes
	// (default 5s, at most 30s).
	annRestartDebounce = rotorPrefix + "restart-debounce"
)

// knownExact and knownPrefix are the annotations the injector acts on.
var knownExact = map[string]bool{
	annInject: true, annStatus: true, annPreserveCase: true, annDefaultTemplate: true, annInjectToken: true,
	annContainers: true, annInitFirst: true, annPrePopulate: true, annPrePopulateOnly: true,
	annSecretVolumePath: true, annRunAsUser: true, annRunAsGroup: true, annRunAsSameUser: true,
	annSetSecurityContext: true, annShareProcessNamespace: true, annCacheEnable: true,
	annCacheListenerPort: true, annCacheUseAutoAuthToken: true, annRevokeOnShutdown: true,
	annConfigMap: true, annImage: true, annService: true, annRole: true, annAuthType: true,
	annAuthPath: true, annAuthMinBackoff: true, annAuthMaxBackoff: true, annAutoAuthExitOnErr: true,
	annNamespace: true, annTLSSkipVerify: true, annTLSServerName: true, annTLSSecret: true,
	annCACert: true, annCAKey: true, annClientCert: true, annClientKey: true, annLogLevel: true,
	annLogFormat: true, annExitOnRetryFailure: true, annStaticRenderInterval: true,
	annMaxConnsPerHost: true, annDisableIdleConns: true, annDisableKeepAlives: true,
	annRequestNamespace: true, annProxyAddress: true, annExtraSecret: true, annCopyVolumeMounts: true,
	annSATokenVolume: true, annJSONPatch: true, annInitJSONPatch: true,
	annClientTimeout: true, annClientMaxRetries: true, annGoMaxProcs: true, annEnableQuit: true,
	annSidecar: true, annEnvContainers: true, annEnvOnChange: true, annReloadSignal: true, annReloadContainer: true,
	annRestartOnChange: true, annRestartDebounce: true,
}

var knownPrefix = []string{annSecret, annTemplate, annFile, annPerms, annCommand, annErrMissingKey,
	annPreserveCase + "-", annSecretVolumePath + "-", annAuthConfig, annEnvPrefix}

// ignored are vault-k8s annotations the injector recognises but does not
// apply, each with the reason given in the warning.
var ignored = map[string]string{
	// vault-k8s's annotations.go names it; no vault-k8s code found reads
	// it (docs/kubernetes.md), so there is no behaviour to reproduce.
	annMetricsListenerPort: "no metrics listener is added: rotor serves Prometheus metrics at /metrics on the " +
		"sidecar's local API listener (127.0.0.1, the injector's status port); for another port, a listener with " +
		`role = "metrics_only" in an agent-configmap config`,
	vaultPrefix + "agent-cache-exit-on-err": "rotor has no persistent cache",
	vaultPrefix + "agent-sidecar-type":      "rotor's sidecar is always an agent",
	vaultPrefix + "agent-revoke-grace":      "rotor revokes as it stops, without a preStop sleep",
}

// classify reports whether an annotation key is one the injector acts on;
// otherwise, for a vault.hashicorp.com/ or rotor annotation, why not.
func classify(key string) (known bool, why string) {
	if knownExact[key] {
		return true, ""
	}
	for _, p := range knownPrefix {
		if strings.HasPrefix(key, p) {
			return true, ""
		}
	}
	if strings.HasPrefix(key, annLimits) || strings.HasPrefix(key, annRequests) {
		switch strings.TrimPrefix(strings.TrimPrefix(key, annLimits), annRequests) {
		case "cpu", "mem", "ephemeral":
			return true, ""
		}
	}
	if strings.HasPrefix(key, vaultPrefix+"agent-telemetry-") {
		return false, "rotor serves Prometheus metrics on its own listener; telemetry annotations are not applied"
	}
	if why, ok := ignored[key]; ok {
		return false, why
	}
	return false, "unknown annotation"
}
