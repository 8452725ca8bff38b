package injector

import (
	"encoding/base64"
	"fmt"
	"path"
	"strings"
)

// Names of what the injector adds. A pod that has sidecarName or initName
// already is never mutated again.
const (
	sidecarName  = "rotor-agent"
	initName     = "rotor-agent-init"
	copyName     = "rotor-copy"
	secretVolume = "vault-secrets" // vault-k8s's name: mounts users wrote for it keep working
	homeVolume   = "rotor-home"
	homeInitVol  = "rotor-home-init"
	configVolume = "vault-config"
	tlsVolume    = "vault-tls-secrets"
	sharedVolume = "rotor-shared"
	execVolume   = "rotor-exec" // env mode: where the wrapper writes its configuration
	execPath     = "/rotor-exec"
	saVolume     = "rotor-sa-token"
	saMountPath  = "/var/run/secrets/vault.hashicorp.com/serviceaccount"
	stateVolume  = "rotor-state" // rotor's state file: the init container's token and secrets, for the sidecar
)

// Result is one mutation: the patch and what the user should be told.
type Result struct {
	Patch    Patch
	Warnings []Warning
	// Spec is what the annotations asked for (nil when nothing is
	// injected).
	Spec *Spec
}

// Mutate computes the patch that injects rotor into the pod found at
// prefix ("" for a Pod, "/spec/template" for a Deployment, ...) of doc.
// A pod that does not ask for injection, or was injected already, gets an
// empty patch.
func Mutate(doc any, prefix string, o Options) (*Result, error) {
	p, err := decodePod(doc, prefix)
	if err != nil {
		return nil, err
	}
	ok, err := ShouldInject(p.Metadata.Annotations, p)
	if err != nil || !ok {
		return &Result{}, err
	}
	s, warns, err := Parse(p, o)
	if err != nil {
		return &Result{Warnings: warns}, err
	}
	m := &mutation{p: p, s: s, o: o, prefix: prefix}
	if err := m.build(); err != nil {
		return &Result{Warnings: append(warns, m.warns...)}, err
	}
	return &Result{Patch: m.ops, Warnings: append(warns, m.warns...), Spec: s}, nil
}

type mutation struct {
	p      *pod
	s      *Spec
	o      Options
	prefix string
	ops    Patch
	// saMount is the service account token's mount for the rotor
	// containers, saToken the token's file in it.
	saMount volumeMount
	saToken string
	// warns are notes found while building (extras.go).
	warns []Warning
}

func (m *mutation) add(path string, v any) {
	m.ops = append(m.ops, Op{Op: "add", Path: m.prefix + path, Value: v})
}

func emptyDir() map[string]any { return map[string]any{"emptyDir": map[string]any{"medium": "Memory"}} }

func (m *mutation) build() error {
	s := m.s
	names := map[string]bool{}
	for _, v := range m.p.Spec.Volumes {
		names[v.Name] = true
	}
	if err := m.serviceAccount(); err != nil {
		return err
	}
	if m.saMount.Name != "" {
		// As vault-k8s: an auth-config-token-path annotation wins. Only the
		// kubernetes method reads token_path: vault-k8s writes it for every
		// method, and Vault Agent and rotor would warn that it is ignored.
		if s.AuthType == "kubernetes" {
			s.AuthConfig = withDefault(s.AuthConfig, "token_path", path.Join(m.saMount.MountPath, m.saToken))
		}
		s.SADir = m.saMount.MountPath
	}
	// Volumes, in a stable order.
	var vols []map[string]any
	vol := func(name string, src map[string]any) {
		src["name"] = name
		vols = append(vols, src)
	}
	vol(secretVolume, emptyDir())
	custom := m.customMounts()
	for i := range custom {
		vol(fmt.Sprintf("%s-custom-%d", secretVolume, i), emptyDir())
	}
	native := s.Sidecar == Native
	if !s.PrePopOnly {
		vol(homeVolume, emptyDir())
	}
	if s.PrePopOnly || (!native && s.PrePopulate) {
		vol(homeInitVol, emptyDir())
	}
	if s.keepsState() {
		vol(stateVolume, emptyDir())
	}
	if s.ConfigMap != "" {
		vol(configVolume, map[string]any{"configMap": map[string]any{"name": s.ConfigMap}})
	}
	if s.TLSSecret != "" {
		vol(tlsVolume, map[string]any{"secret": map[string]any{"secretName": s.TLSSecret}})
	}
	if s.ExtraSecret != "" {
		vol(extraSecretVolume, map[string]any{"secret": map[string]any{"secretName": s.ExtraSecret}})
	}
	if len(s.Env) > 0 {
		vol(sharedVolume, emptyDir())
		vol(execVolume, emptyDir())
	}
	if m.saMount.Name == saVolume {
		sources := []any{map[string]any{"serviceAccountToken": map[string]any{"path": "token", "expirationSeconds": 3600}}}
		if s.RestartOnChange {
			// The restart command calls the API server: it needs its CA,
			// which every namespace has in this ConfigMap (as in the
			// kubelet's own kube-api-access volume).
			sources = append(sources, map[string]any{"configMap": map[string]any{"name": "kube-root-ca.crt",
				"items": []any{map[string]any{"key": "ca.crt", "path": "ca.crt"}}}})
		}
		vol(saVolume, map[string]any{"projected": map[string]any{"sources": sources}})
	}
	for _, v := range vols {
		if n := v["name"].(string); names[n] {
			return fmt.Errorf("the pod already has a volume named %q", n)
		}
	}
	m.appendAll("/spec/volumes", len(m.p.Spec.Volumes) > 0, anys(vols))

	// The secrets volume in every app container named by
	// agent-inject-containers, and (when secrets are pre-populated) in the
	// pod's other init containers, as vault-k8s does.
	secretMounts := append([]volumeMount{{Name: secretVolume, MountPath: s.SecretVolumePath}}, custom...)
	for i, c := range m.p.Spec.Containers {
		if contains(s.Containers, c.Name) {
			m.appendAll(fmt.Sprintf("/spec/containers/%d/volumeMounts", i), len(c.VolumeMounts) > 0, anys(secretMounts))
		}
	}
	if s.PrePopulate {
		for i, c := range m.p.Spec.InitContainers {
			m.appendAll(fmt.Sprintf("/spec/initContainers/%d/volumeMounts", i), len(c.VolumeMounts) > 0, anys(secretMounts))
		}
	}
	if err := m.envMode(); err != nil {
		return err
	}
	if err := m.reloadWiring(); err != nil {
		return err
	}
	if s.ShareProcessNamespace != nil || s.ReloadSignal != "" {
		share := s.ReloadSignal != "" || *s.ShareProcessNamespace
		m.add("/spec/shareProcessNamespace", share)
	}

	// The rotor containers.
	var inits []any // added to initContainers
	if len(s.Env) > 0 {
		inits = append(inits, m.copyContainer())
	}
	var sidecar map[string]any
	switch {
	case s.PrePopOnly:
		c, err := m.container(initName, InitRole, homeInitVol)
		if err != nil {
			return err
		}
		inits = append(inits, c)
	case native:
		c, err := m.container(sidecarName, SidecarRole, homeVolume)
		if err != nil {
			return err
		}
		c["restartPolicy"] = "Always"
		if s.PrePopulate {
			c["startupProbe"] = m.probe()
		}
		inits = append(inits, c)
	default:
		if s.PrePopulate {
			c, err := m.container(initName, InitRole, homeInitVol)
			if err != nil {
				return err
			}
			inits = append(inits, c)
		}
		c, err := m.container(sidecarName, SidecarRole, homeVolume)
		if err != nil {
			return err
		}
		sidecar = c
	}
	// The annotations' patches, on the containers as built (extras.go).
	for i, c := range inits {
		pc, err := m.patchContainer(c.(map[string]any), native)
		if err != nil {
			return err
		}
		inits[i] = pc
	}
	if sidecar != nil {
		pc, err := m.patchContainer(sidecar, native)
		if err != nil {
			return err
		}
		sidecar = pc
	}
	if len(inits) > 0 {
		switch {
		case len(m.p.Spec.InitContainers) == 0:
			m.add("/spec/initContainers", inits)
		case s.InitFirst:
			for i := len(inits) - 1; i >= 0; i-- {
				m.add("/spec/initContainers/0", inits[i])
			}
		default:
			for _, c := range inits {
				m.add("/spec/initContainers/-", c)
			}
		}
	}
	if sidecar != nil {
		m.add("/spec/containers/-", sidecar)
	}
	if len(m.p.Metadata.Annotations) == 0 {
		m.add("/metadata/annotations", map[string]string{annStatus: "injected"})
	} else {
		m.add("/metadata/annotations/"+escape(annStatus), "injected")
	}
	return nil
}

// appendAll adds items to the array at path, creating it if absent.
func (m *mutation) appendAll(path string, exists bool, items []any) {
	if !exists {
		m.add(path, items)
		return
	}
	for _, it := range items {
		m.add(path+"/-", it)
	}
}

// serviceAccount finds the app's service account token mount (vault-k8s's
// serviceaccount(): a mount whose path names "serviceaccount"); without
// one (automountServiceAccountToken: false, or a pod rendered offline)
// rotor gets its own projected token.
func (m *mutation) serviceAccount() error {
	m.saToken = "token"
	if custom, err := m.customServiceAccount(); custom || err != nil {
		return err
	}
	for _, c := range m.p.Spec.Containers {
		for _, vm := range c.VolumeMounts {
			if strings.Contains(vm.MountPath, "serviceaccount") {
				m.saMount = volumeMount{Name: vm.Name, MountPath: vm.MountPath, ReadOnly: true}
				return nil
			}
		}
	}
	m.saMount = volumeMount{Name: saVolume, MountPath: saMountPath, ReadOnly: true}
	return nil
}

// customMounts are the secret-volume-path-<name> directories other than
// the default one, each its own volume (vault-k8s's getUniqueMountPaths).
func (m *mutation) customMounts() []volumeMount {
	var out []volumeMount
	seen := map[string]bool{m.s.SecretVolumePath: true}
	for _, sec := range m.s.Secrets {
		if !seen[sec.MountPath] {
			seen[sec.MountPath] = true
			out = append(out, volumeMount{Name: fmt.Sprintf("%s-custom-%d", secretVolume, len(out)), MountPath: sec.MountPath})
		}
	}
	return out
}

// container is a rotor container: the agent with its configuration in
// VAULT_CONFIG (base64 JSON, as vault-k8s passes it) or, with
// agent-configmap, the ConfigMap's config.hcl (config-init.hcl for an init
// container) plus a one-listener config for the startup probe.
func (m *mutation) container(name string, role Role, home string) (map[string]any, error) {
	s, o := m.s, m.o
	args := []string{o.Rotor, "agent", "-log-level", logLevel(s.LogLevel), "-log-format", logFormat(s.LogFormat)}
	if role == InitRole {
		args = append(args, "-once")
	}
	env := []any{map[string]any{"name": "ROTOR_CONFIG_DIR", "value": homePath}}
	if s.ConfigMap != "" {
		file := "config.hcl"
		if role == InitRole {
			file = "config-init.hcl"
		}
		args = append(args, "-config", configMapPath+"/"+file)
		if role == SidecarRole {
			args = append(args, "-config-env", "ROTOR_LISTENER")
			env = append(env, map[string]any{"name": "ROTOR_LISTENER",
				"value": fmt.Sprintf(`{"listener": [{"type": "tcp", "address": %q, "tls_disable": true, "allowed_hosts": ["localhost"]}]}`, statusAddr(o))})
		}
	} else {
		cfg, err := AgentConfig(s, role, o)
		if err != nil {
			return nil, err
		}
		args = append(args, "-config-env", "VAULT_CONFIG")
		env = append(env, map[string]any{"name": "VAULT_CONFIG", "value": base64.StdEncoding.EncodeToString(cfg)})
	}
	if role == SidecarRole && s.RestartOnChange {
		// The restart command finds its pod by name; a pod made from a
		// template has no name yet when it is admitted.
		for _, f := range [][2]string{{"ROTOR_POD_NAME", "metadata.name"}, {"ROTOR_POD_NAMESPACE", "metadata.namespace"}} {
			env = append(env, map[string]any{"name": f[0], "valueFrom": map[string]any{"fieldRef": map[string]any{"fieldPath": f[1]}}})
		}
	}
	mounts := []volumeMount{m.saMount, {Name: home, MountPath: homePath}, {Name: secretVolume, MountPath: s.SecretVolumePath}}
	if s.keepsState() {
		mounts = append(mounts, volumeMount{Name: stateVolume, MountPath: stateDir})
	}
	mounts = append(mounts, m.customMounts()...)
	if s.ConfigMap != "" {
		mounts = append(mounts, volumeMount{Name: configVolume, MountPath: configMapPath, ReadOnly: true})
	}
	if s.TLSSecret != "" {
		mounts = append(mounts, volumeMount{Name: tlsVolume, MountPath: tlsSecretPath, ReadOnly: true})
	}
	if len(s.Env) > 0 {
		mounts = append(mounts, volumeMount{Name: sharedVolume, MountPath: sharedPath})
	}
	mounts = append(mounts, m.awsMounts(mounts)...)
	mounts = append(mounts, m.extraMounts(mounts)...)
	env = append(env, m.proxyEnv()...)
	env = append(env, m.agentEnv()...)
	c := map[string]any{
		"name":         name,
		"image":        s.Image,
		"command":      args,
		"env":          env,
		"resources":    m.resources(),
		"volumeMounts": mounts,
	}
	if s.SetSecurityContext {
		c["securityContext"] = m.securityContext()
	}
	return c, nil
}

// copyContainer puts rotor's binary on the shared volume for the app
// containers whose command `rotor agent` wraps (env mode).
func (m *mutation) copyContainer() map[string]any {
	c := map[string]any{
		"name":         copyName,
		"image":        m.s.Image,
		"command":      []string{m.o.Rotor, "injector", "copy-self", sharedRotor},
		"resources":    m.resources(),
		"volumeMounts": []volumeMount{{Name: sharedVolume, MountPath: sharedPath}},
	}
	if m.s.SetSecurityContext {
		c["securityContext"] = m.securityContext()
	}
	return c
}

// probe holds the app (and any later init container) until rotor's
// /readyz answers 200: authenticated, every template rendered. An exec
// probe, because the listener is on loopback only.
func (m *mutation) probe() map[string]any {
	return map[string]any{
		"exec":             map[string]any{"command": []string{m.o.Rotor, "health", "-ready", "-address", "http://" + statusAddr(m.o)}},
		"periodSeconds":    1,
		"timeoutSeconds":   5,
		"failureThreshold": 600,
	}
}

func (m *mutation) resources() map[string]any {
	list := func(in map[string]string) map[string]string {
		out := map[string]string{}
		for k, v := range in {
			switch k {
			case "cpu":
				out["cpu"] = v
			case "mem":
				out["memory"] = v
			case "ephemeral":
				out["ephemeral-storage"] = v
			}
		}
		return out
	}
	return map[string]any{"limits": list(m.s.Limits), "requests": list(m.s.Requests)}
}

// securityContext is vault-k8s's: the ids, non-root unless an id is 0,
// read-only root, no privilege escalation, no capabilities.
func (m *mutation) securityContext() map[string]any {
	s := m.s
	return map[string]any{
		"runAsUser":                s.RunAsUser,
		"runAsGroup":               s.RunAsGroup,
		"runAsNonRoot":             s.RunAsUser != 0 && s.RunAsGroup != 0,
		"readOnlyRootFilesystem":   true,
		"allowPrivilegeEscalation": false,
		"capabilities":             map[string]any{"drop": []string{"ALL"}},
	}
}

func logLevel(v string) string {
	switch strings.ToLower(v) {
	case "trace", "debug":
		return "debug"
	case "warn", "warning":
		return "warn"
	case "err", "error":
		return "error"
	}
	return "info"
}

func logFormat(v string) string {
	if strings.ToLower(v) == "json" {
		return "json"
	}
	return "text"
}

func withDefault(m map[string]string, k, v string) map[string]string {
	if _, ok := m[k]; ok {
		return m
	}
	out := map[string]string{k: v}
	for key, val := range m {
		out[key] = val
	}
	return out
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if strings.TrimSpace(x) == s {
			return true
		}
	}
	return false
}

func anys[T any](in []T) []any {
	out := make([]any, len(in))
	for i, v := range in {
		out[i] = v
	}
	return out
}
