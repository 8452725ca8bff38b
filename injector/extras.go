package injector

import (
	"encoding/json"
	"fmt"
	"net/url"
	"path"
	"reflect"
	"regexp"
	"strings"

	"github.com/rotorproject/rotor/internal/jsonpatch"
)

// vault-k8s's annotations for the agent containers themselves, honoured as
// vault-k8s honours them (agent-inject/agent: agent.go, container_env.go,
// container_volume.go, container_sidecar.go, container_init_sidecar.go).
const (
	// annProxyAddress is HTTPS_PROXY in the rotor containers.
	annProxyAddress = vaultPrefix + "proxy-address"
	// annExtraSecret is a Secret mounted read-only at /vault/custom in
	// the rotor containers.
	annExtraSecret = vaultPrefix + "agent-extra-secret"
	// annCopyVolumeMounts names a container (or init container) whose
	// volume mounts the rotor containers get too, service account mounts
	// excepted.
	annCopyVolumeMounts = vaultPrefix + "agent-copy-volume-mounts"
	// annSATokenVolume names the pod volume (a projected service account
	// token) the kubernetes method logs in with.
	annSATokenVolume = vaultPrefix + "agent-service-account-token-volume-name"
	// annJSONPatch and annInitJSONPatch are RFC 6902 patches of the
	// sidecar and of the init container.
	annJSONPatch     = vaultPrefix + "agent-json-patch"
	annInitJSONPatch = vaultPrefix + "agent-init-json-patch"
)

// vault-k8s's names (container_volume.go), kept so that agent configs
// (agent-configmap) that read /vault/custom work unchanged.
const (
	extraSecretVolume = "extra-secrets"
	extraSecretPath   = "/vault/custom"
)

// dnsSubdomain is a Kubernetes object name (RFC 1123 subdomain).
var dnsSubdomain = regexp.MustCompile(`^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$`)

// parseExtras reads the agent container annotations into s.
func parseExtras(s *Spec, a map[string]string, errs *[]error) {
	s.ProxyAddress = strings.TrimSpace(a[annProxyAddress])
	if s.ProxyAddress != "" && !proxyURL(s.ProxyAddress) {
		// The value is not repeated: a proxy URL may carry a password.
		*errs = append(*errs, fmt.Errorf("%s: not a proxy URL (http://, https:// or socks5://host:port)", annProxyAddress))
	}
	s.ExtraSecret = a[annExtraSecret]
	if s.ExtraSecret != "" && (len(s.ExtraSecret) > 253 || !dnsSubdomain.MatchString(s.ExtraSecret)) {
		*errs = append(*errs, fmt.Errorf("%s: %q is not a Secret name", annExtraSecret, s.ExtraSecret))
	}
	s.CopyVolumeMounts = a[annCopyVolumeMounts]
	s.SATokenVolume = a[annSATokenVolume]
	if s.SATokenVolume != "" && s.RestartOnChange {
		// The restart command calls the API server with the token it
		// mounts; a token for Vault's audience is not one it accepts.
		*errs = append(*errs, fmt.Errorf("%s and %s: the restart needs the pod's API token, not the token for Vault; choose one",
			annRestartOnChange, annSATokenVolume))
	}
	for _, k := range []string{annJSONPatch, annInitJSONPatch} {
		v := strings.TrimSpace(a[k])
		if v == "" {
			continue // vault-k8s ignores an empty patch
		}
		p, err := jsonpatch.Decode([]byte(v))
		if err != nil {
			*errs = append(*errs, fmt.Errorf("%s: %w", k, err))
			continue
		}
		if k == annJSONPatch {
			s.JSONPatch = p
		} else {
			s.InitJSONPatch = p
		}
	}
}

// proxyURL reports whether v is a proxy Go's HTTPS_PROXY handling (the
// one rotor's Vault client uses, as Vault Agent's does) can use: read as
// Go reads it (a URL, or else http:// and v), with a host and a scheme
// its transport speaks. Anything else fails every request to Vault.
func proxyURL(v string) bool {
	u, err := url.Parse(v)
	if err != nil || u.Scheme == "" || u.Host == "" {
		if u2, err2 := url.Parse("http://" + v); err2 == nil {
			u, err = u2, nil
		}
	}
	if err != nil || u.Hostname() == "" {
		return false
	}
	switch u.Scheme {
	case "http", "https", "socks5", "socks5h":
		return true
	}
	return false
}

// patchWarnings says which patch applies nowhere in this pod's shape, or
// lands where vault-k8s would not put it.
func patchWarnings(s *Spec) []Warning {
	var w []Warning
	sidecar := !s.PrePopOnly
	initWork := s.PrePopOnly || s.PrePopulate
	if s.JSONPatch != nil && !sidecar {
		w = append(w, Warning{annJSONPatch, "not applied: " + annPrePopulateOnly + " leaves no sidecar, as in vault-k8s"})
	}
	if s.InitJSONPatch != nil {
		switch {
		case !initWork:
			w = append(w, Warning{annInitJSONPatch, "not applied: " + annPrePopulate + " is false, so there is no init container, as in vault-k8s"})
		case s.Sidecar == Native && sidecar && !reflect.DeepEqual(s.InitJSONPatch, s.JSONPatch):
			w = append(w, Warning{annInitJSONPatch, "applied to " + sidecarName + " too (after " + annJSONPatch +
				", if any): the native sidecar is also the init container"})
		}
	}
	return w
}

// patches returns, in order, the patches for a rotor container: the init
// container's (classic, or pre-populate-only), the classic sidecar's, or
// both for the native sidecar when it does the init container's work
// (once when they are the same).
func (s *Spec) patches(name string, native bool) [][2]any {
	var out [][2]any
	switch {
	case name != initName && name != sidecarName:
		// rotor-copy is no agent container.
	case name == initName:
		if s.InitJSONPatch != nil {
			out = append(out, [2]any{annInitJSONPatch, s.InitJSONPatch})
		}
	case native:
		if s.JSONPatch != nil {
			out = append(out, [2]any{annJSONPatch, s.JSONPatch})
		}
		if s.InitJSONPatch != nil && s.PrePopulate && !reflect.DeepEqual(s.InitJSONPatch, s.JSONPatch) {
			out = append(out, [2]any{annInitJSONPatch, s.InitJSONPatch})
		}
	default:
		if s.JSONPatch != nil {
			out = append(out, [2]any{annJSONPatch, s.JSONPatch})
		}
	}
	return out
}

// patchContainer applies the annotations' patches to a rotor container
// built in full (command, env, mounts, restartPolicy, probe), as vault-k8s
// patches its container objects. A patch that does not apply refuses the
// pod, naming the annotation and the operation.
func (m *mutation) patchContainer(c map[string]any, native bool) (map[string]any, error) {
	name, _ := c["name"].(string)
	for _, ap := range m.s.patches(name, native) {
		ann, p := ap[0].(string), ap[1].(jsonpatch.Patch)
		out, err := p.Apply(c)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", ann, err)
		}
		obj, ok := out.(map[string]any)
		if !ok {
			return nil, fmt.Errorf("%s: the patched container is not an object", ann)
		}
		// What vault-k8s reads back into a Container must still be one.
		b, err := json.Marshal(obj)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", ann, err)
		}
		var ct container
		if err := json.Unmarshal(b, &ct); err != nil {
			return nil, fmt.Errorf("%s: the patched container is not a container: %w", ann, err)
		}
		if ct.Name == "" {
			return nil, fmt.Errorf("%s: the patched container has no name", ann)
		}
		c = obj
	}
	return c, nil
}

// customServiceAccount is vault-k8s's serviceaccount() with
// agent-service-account-token-volume-name: the named volume, where an app
// container mounts it (else at vault-k8s's default mount path), and the
// token file its serviceAccountToken projection names.
func (m *mutation) customServiceAccount() (bool, error) {
	name := m.s.SATokenVolume
	if name == "" {
		return false, nil
	}
	var vol *volume
	for i := range m.p.Spec.Volumes {
		if m.p.Spec.Volumes[i].Name == name {
			vol = &m.p.Spec.Volumes[i]
		}
	}
	if vol == nil {
		return true, fmt.Errorf("%s: the pod has no volume %q", annSATokenVolume, name)
	}
	file := ""
	if vol.Projected != nil {
		for _, src := range vol.Projected.Sources {
			if src.ServiceAccountToken != nil && src.ServiceAccountToken.Path != "" {
				file = src.ServiceAccountToken.Path
				break
			}
		}
	}
	if file == "" {
		return true, fmt.Errorf("%s: volume %q is not a projected volume with a serviceAccountToken source", annSATokenVolume, name)
	}
	m.saMount = volumeMount{Name: name, MountPath: saMountPath, ReadOnly: true}
	for _, c := range m.p.Spec.Containers {
		if vm, ok := mountOf(c, name); ok {
			m.saMount.MountPath = vm.MountPath
			break
		}
	}
	m.saToken = file
	return true, nil
}

func mountOf(c container, volume string) (volumeMount, bool) {
	for _, vm := range c.VolumeMounts {
		if vm.Name == volume {
			return vm, true
		}
	}
	return volumeMount{}, false
}

// extraMounts are the agent-extra-secret mount and the mounts copied by
// agent-copy-volume-mounts, for a rotor container whose own mounts are
// own. A copied mount whose volume or path the container has already is
// left out (and said so once).
func (m *mutation) extraMounts(own []volumeMount) []volumeMount {
	var out []volumeMount
	if m.s.ExtraSecret != "" {
		out = append(out, volumeMount{Name: extraSecretVolume, MountPath: extraSecretPath, ReadOnly: true})
	}
	name := m.s.CopyVolumeMounts
	if name == "" {
		return out
	}
	var src *container
	for _, list := range [][]container{m.p.Spec.Containers, m.p.Spec.InitContainers} {
		for i := range list {
			if list[i].Name == name && src == nil {
				src = &list[i]
			}
		}
	}
	if src == nil {
		m.warn(annCopyVolumeMounts, fmt.Sprintf("no container or init container %q: no mount copied", name))
		return out
	}
	names, paths := map[string]bool{}, map[string]bool{}
	for _, vm := range append(own, out...) {
		names[vm.Name], paths[path.Clean(vm.MountPath)] = true, true
	}
	for _, vm := range src.VolumeMounts {
		// vault-k8s leaves out the service account token mounts.
		if strings.Contains(strings.ToLower(vm.MountPath), "serviceaccount") {
			continue
		}
		if names[vm.Name] || paths[path.Clean(vm.MountPath)] {
			m.warn(annCopyVolumeMounts, fmt.Sprintf("mount of volume %q at %s not copied: the rotor container mounts that volume or path already", vm.Name, vm.MountPath))
			continue
		}
		names[vm.Name], paths[path.Clean(vm.MountPath)] = true, true
		out = append(out, vm)
	}
	return out
}

// warn records a note for the user, once.
func (m *mutation) warn(ann, reason string) {
	w := Warning{Annotation: ann, Reason: reason}
	for _, x := range m.warns {
		if x == w {
			return
		}
	}
	m.warns = append(m.warns, w)
}

// proxyEnv is HTTPS_PROXY for the rotor containers (vault-k8s's
// ContainerEnvVars).
func (m *mutation) proxyEnv() []any {
	if m.s.ProxyAddress == "" {
		return nil
	}
	return []any{map[string]any{"name": "HTTPS_PROXY", "value": m.s.ProxyAddress}}
}
