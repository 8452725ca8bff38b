package injector

import (
	"encoding/json"
	"fmt"
)

// pod holds the fields of a Pod (or of a workload's pod template) that the
// injector reads. Everything else stays in the raw JSON, untouched.
type pod struct {
	Metadata struct {
		Name         string            `json:"name"`
		GenerateName string            `json:"generateName"`
		Namespace    string            `json:"namespace"`
		Annotations  map[string]string `json:"annotations"`
	} `json:"metadata"`
	Spec podSpec `json:"spec"`
}

type podSpec struct {
	Containers            []container `json:"containers"`
	InitContainers        []container `json:"initContainers"`
	Volumes               []volume    `json:"volumes"`
	ShareProcessNamespace *bool       `json:"shareProcessNamespace"`
	SecurityContext       *struct {
		RunAsUser *int64 `json:"runAsUser"`
	} `json:"securityContext"`
}

type container struct {
	Name            string        `json:"name"`
	Command         []string      `json:"command"`
	Args            []string      `json:"args"`
	VolumeMounts    []volumeMount `json:"volumeMounts"`
	Env             []envVar      `json:"env"`
	SecurityContext *struct {
		RunAsUser *int64 `json:"runAsUser"`
	} `json:"securityContext"`
}

type volume struct {
	Name string `json:"name"`
	// Projected is read for agent-service-account-token-volume-name.
	Projected *struct {
		Sources []struct {
			ServiceAccountToken *struct {
				Path string `json:"path"`
			} `json:"serviceAccountToken"`
		} `json:"sources"`
	} `json:"projected"`
}

// volumeMount is a container's mount; the fields after ReadOnly are only
// carried over when agent-copy-volume-mounts copies an app's mount.
type volumeMount struct {
	Name              string `json:"name"`
	MountPath         string `json:"mountPath"`
	ReadOnly          bool   `json:"readOnly,omitempty"`
	SubPath           string `json:"subPath,omitempty"`
	SubPathExpr       string `json:"subPathExpr,omitempty"`
	MountPropagation  string `json:"mountPropagation,omitempty"`
	RecursiveReadOnly string `json:"recursiveReadOnly,omitempty"`
}

type envVar struct {
	Name  string `json:"name"`
	Value string `json:"value,omitempty"`
}

// workload says where a kind keeps its pod: the injector mutates Pods in
// the webhook, and for `rotor injector render` also the pod templates of
// the workload kinds GitOps repositories hold.
func workloadPodPath(kind string) (string, error) {
	switch kind {
	case "", "Pod":
		return "", nil
	case "Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "Job", "ReplicationController":
		return "/spec/template", nil
	case "CronJob":
		return "/spec/jobTemplate/spec/template", nil
	}
	return "", fmt.Errorf("kind %q has no pod to inject (Pod, Deployment, StatefulSet, DaemonSet, ReplicaSet, Job, CronJob)", kind)
}

// decodePod reads the pod at prefix (a JSON pointer, "" for a Pod) of a
// decoded object.
func decodePod(obj any, prefix string) (*pod, error) {
	sub, err := lookup(obj, prefix)
	if err != nil {
		return nil, err
	}
	b, err := json.Marshal(sub)
	if err != nil {
		return nil, err
	}
	var p pod
	if err := json.Unmarshal(b, &p); err != nil {
		return nil, fmt.Errorf("not a pod: %w", err)
	}
	return &p, nil
}

// containerNamed reports whether the pod already has a container (or init
// container) with one of names.
func (p *pod) hasContainer(names ...string) bool {
	for _, list := range [][]container{p.Spec.Containers, p.Spec.InitContainers} {
		for _, c := range list {
			for _, n := range names {
				if c.Name == n {
					return true
				}
			}
		}
	}
	return false
}
