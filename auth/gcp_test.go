package auth

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/rotorproject/rotor/test/harness/cloudfake"
)

const gcpSA = "vault-login@rotor-test.iam.gserviceaccount.com"

// TestGCPAgainstVaultAgent runs Vault Agent's gcp method and rotor's on
// the same configurations against the same fake Google, and compares the
// login requests: the path, the role, the JWT's header and claims (only
// iat/exp differ, and both JWTs must verify with the key Google signs
// them with), and the metadata-server and signJwt calls each made.
func TestGCPAgainstVaultAgent(t *testing.T) {
	f := cloudfake.New(t)
	lc := newLoginCapture(t)
	keyJSON := string(f.GCPServiceAccountKey(gcpSA, ""))
	adcFile := filepath.Join(t.TempDir(), "adc.json")
	if err := os.WriteFile(adcFile, f.GCPServiceAccountKey("adc@rotor-test.iam.gserviceaccount.com", ""), 0o600); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name   string
		hcl    string // the config map's lines
		opts   GCPOptions
		env    map[string]string
		signer string // iam: whose key signs
	}{
		{name: "gce default account", hcl: `type = "gce"
role = "web"`, opts: GCPOptions{Type: "gce", Role: "web"}},
		{name: "gce named account", hcl: `type = "gce"
role = "web"
service_account = "` + cloudfake.GCPDefaultAccount + `"`, opts: GCPOptions{Type: "gce", Role: "web", ServiceAccount: cloudfake.GCPDefaultAccount}},
		{name: "iam key in config", hcl: `type = "iam"
role = "batch"
service_account = "` + gcpSA + `"
credentials = <<EOT
` + keyJSON + `
EOT`, opts: GCPOptions{Type: "iam", Role: "batch", ServiceAccount: gcpSA, Credentials: keyJSON + "\n"}, signer: gcpSA},
		{name: "iam key in GOOGLE_CREDENTIALS, jwt_exp", hcl: `type = "iam"
role = "batch"
jwt_exp = 5
service_account = "` + gcpSA + `"`, opts: GCPOptions{Type: "iam", Role: "batch", ServiceAccount: gcpSA, JWTExp: 5 * time.Minute},
			env: map[string]string{"GOOGLE_CREDENTIALS": keyJSON}, signer: gcpSA},
		{name: "iam application default credentials file", hcl: `type = "iam"
role = "batch"
service_account = "` + gcpSA + `"`, opts: GCPOptions{Type: "iam", Role: "batch", ServiceAccount: gcpSA},
			env: map[string]string{"GOOGLE_APPLICATION_CREDENTIALS": adcFile}, signer: gcpSA},
		{name: "iam metadata server credentials", hcl: `type = "iam"
role = "batch"
service_account = "` + cloudfake.GCPDefaultAccount + `"`, opts: GCPOptions{Type: "iam", Role: "batch", ServiceAccount: cloudfake.GCPDefaultAccount},
			signer: cloudfake.GCPDefaultAccount},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f.Reset()
			agent, err := agentLogin(t, f, lc, "method \"gcp\" {\nconfig = {\n"+tc.hcl+"\n}\n}", tc.env)
			if err != nil {
				t.Fatal(err)
			}
			agentCalls := gcpCalls(f)
			f.Reset()
			rotor, err := rotorLogin(t, f, lc, MethodOptions{Type: "gcp", MountPath: "auth/gcp", GCP: &tc.opts}, tc.env)
			if err != nil {
				t.Fatal(err)
			}
			if rotorCalls := gcpCalls(f); strings.Join(agentCalls, "\n") != strings.Join(rotorCalls, "\n") {
				t.Errorf("calls to Google differ:\n  Vault Agent: %q\n  rotor:       %q", agentCalls, rotorCalls)
			}
			if agent.Path != "auth/gcp/login" || rotor.Path != "auth/gcp/login" {
				t.Errorf("login paths: Vault Agent %q, rotor %q", agent.Path, rotor.Path)
			}
			sameExcept(t, "login data", clone(agent.Data), clone(rotor.Data), "jwt")
			ja, jr := gcpVerify(t, f, agent.Data, tc.signer), gcpVerify(t, f, rotor.Data, tc.signer)
			sameExcept(t, "JWT headers", ja.Header, jr.Header)
			for _, j := range []*cloudfake.JWT{ja, jr} {
				if tc.signer != "" {
					exp := time.Unix(int64(j.Claims["exp"].(float64)), 0)
					want := tc.opts.JWTExp
					if want == 0 {
						want = 15 * time.Minute
					}
					if d := time.Until(exp); d > want || d < want-time.Minute {
						t.Errorf("JWT expires in %v, want %v", d, want)
					}
				}
			}
			sameExcept(t, "JWT claims", ja.Claims, jr.Claims, "iat", "exp")
		})
	}
}

// gcpCalls are the fake's requests that matter to the login: metadata
// reads, token grants and signJwt calls (path, query, signJwt's payload
// without its exp).
func gcpCalls(f *cloudfake.Fake) []string {
	var out []string
	for _, r := range f.Requests("/") {
		s := r.Method + " " + r.Path
		if len(r.Query) > 0 {
			s += "?" + r.Query.Encode()
		}
		switch {
		case r.Path == "/computeMetadata/v1/project/project-id":
			continue // Google's default credentials look up the project; the login does not use it
		case strings.HasPrefix(r.Path, "/computeMetadata/"):
			s += " Metadata-Flavor=" + r.Header.Get("Metadata-Flavor")
		case strings.HasSuffix(r.Path, ":signJwt"):
			s += " host=" + r.Host
		case r.Path == "/token" || r.Path == "/o/oauth2/token":
			s += " host=" + r.Host
		default:
			continue
		}
		out = append(out, s)
	}
	return out
}

// gcpVerify checks the login's JWT as Vault's gcp plugin would: signed by
// Google's instance-identity key (gce) or by signer's Google-managed key
// (iam), and decodes it.
func gcpVerify(t *testing.T, f *cloudfake.Fake, data map[string]any, signer string) *cloudfake.JWT {
	t.Helper()
	tok, _ := data["jwt"].(string)
	pub := f.GCPIdentityKey()
	if signer != "" {
		pub, _ = f.GCPSigningKey(signer)
	}
	j, err := cloudfake.VerifyJWT(tok, pub)
	if err != nil {
		t.Fatalf("login JWT: %v", err)
	}
	return j
}
