package injectorkube

import (
	"encoding/json"
	"testing"
)

// pod is what the tests read of a stored pod.
type pod struct {
	Metadata struct {
		Name        string            `json:"name"`
		Annotations map[string]string `json:"annotations"`
	} `json:"metadata"`
	Spec struct {
		ShareProcessNamespace *bool       `json:"shareProcessNamespace"`
		InitContainers        []container `json:"initContainers"`
		Containers            []container `json:"containers"`
		Volumes               []struct {
			Name      string         `json:"name"`
			Projected map[string]any `json:"projected"`
			EmptyDir  map[string]any `json:"emptyDir"`
		} `json:"volumes"`
	} `json:"spec"`
}

type container struct {
	Name          string   `json:"name"`
	Image         string   `json:"image"`
	Command       []string `json:"command"`
	RestartPolicy string   `json:"restartPolicy"`
	StartupProbe  *struct {
		Exec *struct {
			Command []string `json:"command"`
		} `json:"exec"`
		PeriodSeconds int `json:"periodSeconds"`
	} `json:"startupProbe"`
	VolumeMounts []struct {
		Name      string `json:"name"`
		MountPath string `json:"mountPath"`
	} `json:"volumeMounts"`
	Env []struct {
		Name      string `json:"name"`
		ValueFrom *struct {
			FieldRef *struct {
				FieldPath string `json:"fieldPath"`
			} `json:"fieldRef"`
		} `json:"valueFrom"`
	} `json:"env"`
	SecurityContext *struct {
		RunAsUser *int64 `json:"runAsUser"`
	} `json:"securityContext"`
}

func decodePod(t *testing.T, b []byte) *pod {
	t.Helper()
	var p pod
	if err := json.Unmarshal(b, &p); err != nil {
		t.Fatalf("not a pod: %v", err)
	}
	return &p
}

// container returns the container (app or init) of that name, or nil.
func (p *pod) container(name string) *container {
	for _, list := range [][]container{p.Spec.InitContainers, p.Spec.Containers} {
		for i := range list {
			if list[i].Name == name {
				return &list[i]
			}
		}
	}
	return nil
}

// names lists the init containers' and the containers' names.
func (p *pod) names() (inits, containers []string) {
	for _, c := range p.Spec.InitContainers {
		inits = append(inits, c.Name)
	}
	for _, c := range p.Spec.Containers {
		containers = append(containers, c.Name)
	}
	return inits, containers
}

func (p *pod) hasVolume(name string) bool {
	for _, v := range p.Spec.Volumes {
		if v.Name == name {
			return true
		}
	}
	return false
}

// mount returns the path at which c mounts volume name ("" if it does not).
func (c *container) mount(name string) string {
	for _, m := range c.VolumeMounts {
		if m.Name == name {
			return m.MountPath
		}
	}
	return ""
}

// fieldRef returns the downward API field the variable name is set from.
func (c *container) fieldRef(name string) string {
	for _, e := range c.Env {
		if e.Name == name && e.ValueFrom != nil && e.ValueFrom.FieldRef != nil {
			return e.ValueFrom.FieldRef.FieldPath
		}
	}
	return ""
}

// mountAt returns the volume c mounts at path ("" if none).
func (c *container) mountAt(path string) string {
	for _, m := range c.VolumeMounts {
		if m.MountPath == path {
			return m.Name
		}
	}
	return ""
}
