package injector

import (
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
)

// envMode wraps the command of each env container in `rotor agent`, which
// renders the env templates and runs the original command with them.
func (m *mutation) envMode() error {
	s := m.s
	if len(s.Env) == 0 {
		return nil
	}
	for _, name := range s.EnvContainers {
		i, c := m.findContainer(name)
		if c == nil {
			return fmt.Errorf("%s: no container %q", annEnvContainers, name)
		}
		if len(c.Command) == 0 {
			return fmt.Errorf("%s: container %q has no command; rotor must know what to run (write the image's entrypoint as the container's command)", annEnvPrefix+"*", name)
		}
		argv := append(append([]string(nil), c.Command...), c.Args...)
		cfg, err := ExecConfig(s, argv)
		if err != nil {
			return err
		}
		base := fmt.Sprintf("/spec/containers/%d", i)
		m.ops = append(m.ops, Op{Op: "replace", Path: m.prefix + base + "/command",
			Value: []string{sharedRotor, "agent", "-config-env", "ROTOR_EXEC_CONFIG"}})
		if len(c.Args) > 0 {
			m.ops = append(m.ops, Op{Op: "remove", Path: m.prefix + base + "/args"})
		}
		m.appendAll(base+"/env", len(c.Env) > 0, []any{
			map[string]any{"name": "ROTOR_EXEC_CONFIG", "value": base64.StdEncoding.EncodeToString(cfg)},
			map[string]any{"name": "ROTOR_CONFIG_DIR", "value": execPath}})
		// The app container's secrets mounts were added above (when it is
		// one of agent-inject-containers), so its list exists unless it
		// had none and is not one of them.
		hasMounts := len(c.VolumeMounts) > 0 || contains(s.Containers, c.Name)
		m.appendAll(base+"/volumeMounts", hasMounts, []any{volumeMount{Name: sharedVolume, MountPath: sharedPath, ReadOnly: true},
			volumeMount{Name: execVolume, MountPath: execPath}})
	}
	return nil
}

// reloadWiring makes the reload signal able to reach the app: a shared
// process namespace (set in build) and rotor running as the app's user,
// since only the same user may signal a process.
func (m *mutation) reloadWiring() error {
	s := m.s
	if s.ReloadSignal == "" {
		return nil
	}
	_, c := m.findContainer(s.ReloadTarget)
	if c == nil {
		return fmt.Errorf("%s: no container %q", annReloadContainer, s.ReloadTarget)
	}
	if len(c.Command) == 0 {
		return fmt.Errorf("%s: container %q has no command, so rotor cannot tell its process", annReloadSignal, s.ReloadTarget)
	}
	if _, set := m.p.Metadata.Annotations[annRunAsUser]; !set {
		var uid *int64
		if c.SecurityContext != nil && c.SecurityContext.RunAsUser != nil {
			uid = c.SecurityContext.RunAsUser
		} else if sc := m.p.Spec.SecurityContext; sc != nil && sc.RunAsUser != nil {
			uid = sc.RunAsUser
		}
		if uid == nil || *uid == 0 {
			return errors.New(annReloadSignal + ": the container's user is unknown or root; set its securityContext.runAsUser (rotor runs as the same user to signal it) or " + annRunAsUser)
		}
		s.RunAsUser = *uid
	}
	// The process name is the command's base name, as /proc/PID/comm
	// holds it (at most 15 bytes).
	exe := c.Command[0]
	if i := strings.LastIndex(exe, "/"); i >= 0 {
		exe = exe[i+1:]
	}
	if len(exe) > 15 {
		exe = exe[:15]
	}
	s.ReloadTarget = exe
	return nil
}

func (m *mutation) findContainer(name string) (int, *container) {
	for i := range m.p.Spec.Containers {
		if m.p.Spec.Containers[i].Name == name {
			return i, &m.p.Spec.Containers[i]
		}
	}
	return -1, nil
}
