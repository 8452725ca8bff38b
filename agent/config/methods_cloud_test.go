package config

import (
	"strings"
	"testing"
	"time"
)

// The cloud methods' keys decode to typed values with Vault Agent's
// defaults, and the keys Vault Agent ignores are warned about.
func TestCloudMethodKeys(t *testing.T) {
	sink := `sink "file" { config = { path = "/tmp/t" } }`
	g := load(t, `auto_auth {
  method "gcp" { config = { type = "iam", role = "batch", jwt_exp = "5", project = "p", credentials = "{\"type\":\"service_account\"}" } }
  `+sink+`
}`)
	if m := g.AutoAuth.Method; m.MountPath != "auth/gcp" || *m.GCP != (GCP{Type: "iam", Role: "batch", JWTExp: 5 * time.Minute,
		ServiceAccount: "default", Credentials: `{"type":"service_account"}`}) {
		t.Errorf("gcp: %+v %+v", m, m.GCP)
	}
	if w := strings.Join(Warnings(g), "\n"); !strings.Contains(w, "project") {
		t.Errorf("no warning for project: %s", w)
	}
	a := load(t, `auto_auth {
  method "azure" { config = { role = "web", resource = "https://management.azure.com/", client_id = "c", authenticate_from_environment = "true" } }
  `+sink+`
}`)
	if got := *a.AutoAuth.Method.Azure; got != (Azure{Role: "web", Resource: "https://management.azure.com/", ClientID: "c", AuthenticateFromEnvironment: true}) {
		t.Errorf("azure: %+v", got)
	}
	al := load(t, `auto_auth {
  method "alicloud" { config = { role = "web", region = "cn-hangzhou", access_key = "k", access_secret = "s", access_token = "t", credential_poll_interval = 30, role_name = "r" } }
  `+sink+`
}`)
	if got := *al.AutoAuth.Method.AliCloud; got != (AliCloud{Role: "web", Region: "cn-hangzhou", AccessKey: "k", AccessSecret: "s", AccessToken: "t", RoleName: "r"}) {
		t.Errorf("alicloud: %+v", got)
	}
	one := load(t, `auto_auth {
  method "alicloud" { config = { role = "web", region = "cn-hangzhou", access_key = "k" } }
  `+sink+`
}`)
	if got := one.AutoAuth.Method.AliCloud; got.AccessKey != "" || !strings.Contains(strings.Join(Warnings(one), "\n"), "access_key and access_secret go together") {
		t.Errorf("a lone access_key: %+v %q", got, Warnings(one))
	}
}
