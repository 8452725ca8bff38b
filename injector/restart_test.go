package injector

import (
	"context"
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/rotorproject/rotor/test/harness/kubeapi"
)

// restartLab is a fake API server, a service account mount and two
// rendered files, with a fixed clock and a sleep that only records.
type restartLab struct {
	api    *kubeapi.Server
	o      RestartOptions
	slept  []time.Duration
	files  []string
	podAt  time.Time
	nowStr string
}

func newRestartLab(t *testing.T) *restartLab {
	dir := t.TempDir()
	api := kubeapi.Start(t)
	sa := filepath.Join(dir, "sa")
	api.WriteServiceAccount(t, sa, "apps")
	l := &restartLab{api: api, podAt: time.Date(2025, 3, 1, 10, 0, 0, 0, time.UTC)}
	now := l.podAt.Add(time.Hour)
	l.nowStr = now.Format(time.RFC3339)
	l.files = []string{filepath.Join(dir, "secrets", "db"), filepath.Join(dir, "secrets", "api")}
	os.MkdirAll(filepath.Join(dir, "secrets"), 0o755)
	l.o = RestartOptions{Files: l.files, StateFile: filepath.Join(dir, "home", ".restart-state.json"), Parent: "42@1000",
		Debounce: 4 * time.Second, Pod: "web-7d9f-abcde", Namespace: "apps",
		Cluster: InCluster{URL: api.URL, TokenFile: filepath.Join(sa, "token"), CAFile: filepath.Join(sa, "ca.crt")},
		Now:     func() time.Time { return now },
		Sleep:   func(_ context.Context, d time.Duration) error { l.slept = append(l.slept, d); return nil }}
	os.MkdirAll(filepath.Dir(l.o.StateFile), 0o700)
	return l
}

func (l *restartLab) write(t *testing.T, i int, s string) {
	t.Helper()
	if err := os.WriteFile(l.files[i], []byte(s), 0o600); err != nil {
		t.Fatal(err)
	}
}

func (l *restartLab) run(t *testing.T) (string, error) {
	t.Helper()
	return Restart(t.Context(), l.o)
}

// deployment adds Pod -> ReplicaSet -> Deployment and returns the
// Deployment's path.
func (l *restartLab) deployment() string {
	l.api.Add("Pod", "apps", "web-7d9f-abcde", "ReplicaSet/web-7d9f", l.podAt)
	l.api.Add("ReplicaSet", "apps", "web-7d9f", "Deployment/web", l.podAt.Add(-time.Hour))
	return l.api.Add("Deployment", "apps", "web", "", l.podAt.Add(-2*time.Hour))
}

// TestRestartNeverOnFirstRender: the runs of a new sidecar's first render
// (files written one template at a time) patch nothing; a change after
// them restarts the Deployment once, with kubectl's exact request.
func TestRestartNeverOnFirstRender(t *testing.T) {
	l := newRestartLab(t)
	dep := l.deployment()
	l.write(t, 0, "user=a\n")
	if msg, err := l.run(t); err != nil || !strings.Contains(msg, "no restart") {
		t.Fatalf("first file's first render: %q, %v", msg, err)
	}
	l.write(t, 1, "key=1\n") // the second template renders later: still its first render
	if msg, err := l.run(t); err != nil || !strings.Contains(msg, "no restart") {
		t.Fatalf("second file's first render: %q, %v", msg, err)
	}
	if n := len(l.api.Requests()); n != 0 {
		t.Fatalf("the first render called the API server %d times", n)
	}
	// The state holds the HMAC key beside the digests: only rotor's
	// user may read it, whatever the umask.
	if fi, err := os.Stat(l.o.StateFile); err != nil {
		t.Fatal(err)
	} else if fi.Mode().Perm() != 0o600 {
		t.Fatalf("state file mode %v, want 0600", fi.Mode().Perm())
	}
	l.write(t, 1, "key=2\n")
	msg, err := l.run(t)
	if err != nil || !strings.Contains(msg, "restarted deployment/web") {
		t.Fatalf("after a change: %q, %v", msg, err)
	}
	if len(l.slept) != 1 || l.slept[0] < 4*time.Second || l.slept[0] > 6*time.Second {
		t.Errorf("debounce waits %v, want one wait in [4s, 6s]", l.slept)
	}
	var got []string
	for _, r := range l.api.Requests() {
		if !r.Authorized {
			t.Errorf("%s %s without the service account's token", r.Method, r.Path)
		}
		got = append(got, r.Method+" "+r.Path)
	}
	want := []string{"GET /api/v1/namespaces/apps/pods/web-7d9f-abcde", "GET /apis/apps/v1/namespaces/apps/replicasets/web-7d9f",
		"GET " + dep, "PATCH " + dep}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("requests:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	p := l.api.Patches()[0]
	wantBody := `{"spec":{"template":{"metadata":{"annotations":{"kubectl.kubernetes.io/restartedAt":"` + l.nowStr + `"}}}}}`
	if p.Body != wantBody || p.ContentType != "application/strategic-merge-patch+json" || p.Query != "fieldManager=rotor-injector" {
		t.Errorf("patch %s %s ?%s\n%s\nwant (kubectl rollout restart's body)\n%s", p.Method, p.ContentType, p.Query, p.Body, wantBody)
	}
	// Nothing changed since: no second restart.
	if msg, err := l.run(t); err != nil || !strings.Contains(msg, "no restart") {
		t.Fatalf("unchanged files: %q, %v", msg, err)
	}
	if n := len(l.api.Patches()); n != 1 {
		t.Errorf("%d patches, want 1", n)
	}
}

// TestRestartNewProcessIsFirstRender: a new rotor process (the sidecar
// restarted) starts a new first render, even when the files differ from
// what the previous one wrote.
func TestRestartNewProcessIsFirstRender(t *testing.T) {
	l := newRestartLab(t)
	l.deployment()
	l.write(t, 0, "user=a\n")
	l.run(t)
	l.o.Parent = "43@2000"
	l.write(t, 0, "user=b\n")
	if msg, err := l.run(t); err != nil || !strings.Contains(msg, "no restart") {
		t.Fatalf("a new rotor process's first render: %q, %v", msg, err)
	}
	if n := len(l.api.Requests()); n != 0 {
		t.Errorf("%d API calls", n)
	}
	// A damaged state file restarts nothing either.
	os.WriteFile(l.o.StateFile, []byte("{not json"), 0o600)
	l.write(t, 0, "user=c\n")
	if msg, err := l.run(t); err != nil || !strings.Contains(msg, "no restart") {
		t.Fatalf("damaged state: %q, %v", msg, err)
	}
	b, _ := os.ReadFile(l.o.StateFile)
	if strings.Contains(string(b), "user=") {
		t.Errorf("the state file holds file contents: %s", b)
	}
}

// TestRestartOwners: a StatefulSet's and a DaemonSet's pods restart their
// owner; pods without a workload say so.
func TestRestartOwners(t *testing.T) {
	for _, c := range []struct {
		name, owner string
		setup       func(l *restartLab)
		patched     string // path, or "" for an error
		err         string
	}{
		{name: "statefulset", owner: "StatefulSet/db", patched: "/apis/apps/v1/namespaces/apps/statefulsets/db",
			setup: func(l *restartLab) { l.api.Add("StatefulSet", "apps", "db", "", l.podAt) }},
		{name: "daemonset", owner: "DaemonSet/agent", patched: "/apis/apps/v1/namespaces/apps/daemonsets/agent",
			setup: func(l *restartLab) { l.api.Add("DaemonSet", "apps", "agent", "", l.podAt) }},
		{name: "bare pod", err: "has no controller (a bare pod)"},
		{name: "job", owner: "Job/migrate", err: "is managed by Job migrate"},
		{name: "replicaset alone", owner: "ReplicaSet/rs", err: "ReplicaSet rs, which no Deployment manages",
			setup: func(l *restartLab) { l.api.Add("ReplicaSet", "apps", "rs", "", l.podAt) }},
		{name: "owner gone", owner: "StatefulSet/gone", err: `404 Not Found: statefulsets.apps "gone" not found`},
	} {
		t.Run(c.name, func(t *testing.T) {
			l := newRestartLab(t)
			l.api.Add("Pod", "apps", "web-7d9f-abcde", c.owner, l.podAt)
			if c.setup != nil {
				c.setup(l)
			}
			l.write(t, 0, "a")
			l.run(t)
			l.write(t, 0, "b")
			msg, err := l.run(t)
			if c.patched != "" {
				ps := l.api.Patches()
				if err != nil || len(ps) != 1 || ps[0].Path != c.patched {
					t.Fatalf("%q, %v, patches %v", msg, err, ps)
				}
				ann := l.api.Object(c.patched)["spec"].(map[string]any)["template"].(map[string]any)["metadata"].(map[string]any)["annotations"].(map[string]any)
				if ann["kubectl.kubernetes.io/restartedAt"] != l.nowStr {
					t.Errorf("pod template annotations after the patch: %v", ann)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), c.err) {
				t.Fatalf("error %v, want %q", err, c.err)
			}
			if c.name != "owner gone" && !errors.Is(err, ErrNoWorkload) {
				t.Errorf("%v is not ErrNoWorkload", err)
			}
			if n := len(l.api.Patches()); n != 0 {
				t.Errorf("%d patches", n)
			}
		})
	}
}

// TestRestartForbidden: RBAC's 403 names the verb, the resource and where
// the Role is; the restart stays pending and is done by the next run once
// the permission is granted, though no file changed since.
func TestRestartForbidden(t *testing.T) {
	l := newRestartLab(t)
	dep := l.deployment()
	l.api.Deny("patch", "deployments")
	l.write(t, 0, "a")
	l.run(t)
	l.write(t, 0, "b")
	_, err := l.run(t)
	var ae *APIError
	if !errors.As(err, &ae) || ae.Code != http.StatusForbidden {
		t.Fatalf("error %v, want a 403 APIError", err)
	}
	for _, want := range []string{"PATCH " + dep, "403 Forbidden", `cannot patch resource "deployments" in API group "apps"`,
		"system:serviceaccount:apps:app", "restart-rbac.yaml"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q lacks %q", err, want)
		}
	}
	if strings.Contains(err.Error(), l.api.Token) {
		t.Fatal("the error holds the token")
	}
	l.api.Allow("patch", "deployments")
	msg, err := l.run(t)
	if err != nil || !strings.Contains(msg, "restarted deployment/web") {
		t.Fatalf("retry after the Role was granted: %q, %v", msg, err)
	}
	if n := len(l.api.Patches()); n != 2 {
		t.Errorf("%d patches, want the refused one and the retry", n)
	}
}

// TestRestartCoalesced: a restart requested after the pod was created
// (by another replica, or by an earlier run of this one) already replaces
// it: no second patch. One requested before it does not count. A paused
// Deployment is refused, as kubectl refuses it.
func TestRestartCoalesced(t *testing.T) {
	l := newRestartLab(t)
	dep := l.deployment()
	ann := []string{"spec", "template", "metadata", "annotations"}
	l.api.Set(dep, map[string]any{"kubectl.kubernetes.io/restartedAt": l.podAt.Add(time.Minute).Format(time.RFC3339)}, ann...)
	l.write(t, 0, "a")
	l.run(t)
	l.write(t, 0, "b")
	msg, err := l.run(t)
	if err != nil || !strings.Contains(msg, "not restarted") || !strings.Contains(msg, "after this pod was created") {
		t.Fatalf("%q, %v", msg, err)
	}
	if n := len(l.api.Patches()); n != 0 {
		t.Fatalf("%d patches", n)
	}
	l.api.Set(dep, map[string]any{"kubectl.kubernetes.io/restartedAt": l.podAt.Add(-time.Minute).Format(time.RFC3339)}, ann...)
	l.write(t, 0, "c")
	if msg, err := l.run(t); err != nil || !strings.Contains(msg, "restarted deployment/web") {
		t.Fatalf("an older restart: %q, %v", msg, err)
	}
	l.api.Set(dep, true, "spec", "paused")
	l.api.Set(dep, map[string]any{}, ann...)
	l.write(t, 0, "d")
	if _, err := l.run(t); err == nil || !strings.Contains(err.Error(), "is paused") {
		t.Fatalf("paused: %v", err)
	}
}

// TestRestartBadToken: a token the API server does not accept is a 401
// that says so.
func TestRestartBadToken(t *testing.T) {
	l := newRestartLab(t)
	l.deployment()
	os.WriteFile(l.o.Cluster.TokenFile, []byte("wrong"), 0o600)
	l.write(t, 0, "a")
	l.run(t)
	l.write(t, 0, "b")
	if _, err := l.run(t); err == nil || !strings.Contains(err.Error(), "401 Unauthorized") || !strings.Contains(err.Error(), "token was not accepted") {
		t.Fatalf("%v", err)
	}
}

// TestRestartRBAC: the shipped Role grants every request a restart makes,
// for each workload kind, and nothing the restart does not use.
func TestRestartRBAC(t *testing.T) {
	b, err := os.ReadFile("../configs/kubernetes/injector/restart-rbac.yaml")
	if err != nil {
		t.Fatal(err)
	}
	docs, err := decodeDocuments(b)
	if err != nil {
		t.Fatal(err)
	}
	granted := map[string]bool{}
	for _, d := range docs {
		m := d.(map[string]any)
		if m["kind"] != "Role" {
			continue
		}
		for _, r := range m["rules"].([]any) {
			rule := r.(map[string]any)
			for _, g := range rule["apiGroups"].([]any) {
				for _, res := range rule["resources"].([]any) {
					for _, v := range rule["verbs"].([]any) {
						granted[v.(string)+" "+g.(string)+"/"+res.(string)] = true
					}
				}
			}
		}
	}
	used := map[string]bool{}
	for _, kind := range []string{"Deployment", "StatefulSet", "DaemonSet"} {
		l := newRestartLab(t)
		switch kind {
		case "Deployment":
			l.deployment()
		default:
			l.api.Add("Pod", "apps", "web-7d9f-abcde", kind+"/w", l.podAt)
			l.api.Add(kind, "apps", "w", "", l.podAt)
		}
		l.write(t, 0, "a")
		l.run(t)
		l.write(t, 0, "b")
		if _, err := l.run(t); err != nil {
			t.Fatal(err)
		}
		for _, r := range l.api.Requests() {
			parts := strings.Split(strings.Trim(r.Path, "/"), "/")
			group, res := "", parts[len(parts)-2]
			if parts[0] == "apis" {
				group = parts[1]
			}
			key := strings.ToLower(r.Method) + " " + group + "/" + res
			used[key] = true
			if !granted[key] {
				t.Errorf("%s: %s %s is not granted by the Role", kind, r.Method, r.Path)
			}
		}
	}
	for g := range granted {
		if !used[g] {
			t.Errorf("the Role grants %s, which a restart does not use", g)
		}
	}
}
