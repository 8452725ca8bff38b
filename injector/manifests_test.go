package injector

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestShippedManifests reads configs/kubernetes/injector/: every file is
// YAML Kubernetes objects, the webhook posts to the path the server
// serves with the AdmissionReview version it speaks, the Deployment mounts
// the certificate where serve reads it by default, and the example pod
// renders with a rotor sidecar.
func TestShippedManifests(t *testing.T) {
	files, _ := filepath.Glob("../configs/kubernetes/injector/*.yaml")
	if len(files) < 3 {
		t.Fatalf("found %v", files)
	}
	all := ""
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		docs, err := decodeDocuments(b)
		if err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		for _, d := range docs {
			m := d.(map[string]any)
			if m["apiVersion"] == nil || m["kind"] == nil {
				t.Errorf("%s: an object without apiVersion or kind", f)
			}
			j, _ := json.Marshal(d)
			all += string(j)
		}
	}
	for _, want := range []string{`"path":"/mutate"`, `"admissionReviewVersions":["v1"]`, `"mountPath":"/etc/rotor-injector/tls"`,
		`"failurePolicy":"Ignore"`, `"secretName":"rotor-injector-tls"`, `"serve"`} {
		if !strings.Contains(all, want) {
			t.Errorf("manifests lack %s", want)
		}
	}
	b, _ := os.ReadFile("../configs/kubernetes/injector/example-pod.yaml")
	docs, err := Render(b, DefaultOptions())
	if err != nil || !docs[0].Injected {
		t.Errorf("example pod: injected %v, %v", docs[0].Injected, err)
	}
}
