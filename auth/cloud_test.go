package auth

import (
	"context"
	"encoding/base64"
	"errors"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/rotorproject/rotor/test/harness/cloudfake"
)

// TestCloudReloginReadsFreshCredentials logs in twice with each cloud
// method, changing the machine's credentials in between: the second
// login must use the new ones.
func TestCloudReloginReadsFreshCredentials(t *testing.T) {
	f := cloudfake.New(t)
	lc := newLoginCapture(t)
	dir := t.TempDir()

	t.Run("alicloud ECS role rotated", func(t *testing.T) {
		m := cloudMethod(t, f, MethodOptions{Type: "alicloud", MountPath: "auth/alicloud", AliCloud: &AliCloudOptions{Role: "web", Region: "cn-hangzhou"}}, nil)
		var keys []string
		for range 2 {
			if _, err := m.Login(context.Background(), lc.client(t)); err != nil {
				t.Fatal(err)
			}
			u, _, id := aliVerify(t, f, lc.reqs[len(lc.reqs)-1].Data)
			keys = append(keys, u.Query().Get("AccessKeyId"))
			if id.PrincipalId != f.AliECSKeyID() {
				t.Errorf("signed by %s, the role's key is %s", id.PrincipalId, f.AliECSKeyID())
			}
			f.AliRotateECS()
		}
		if keys[0] == keys[1] {
			t.Errorf("both logins signed with %s", keys[0])
		}
	})

	t.Run("gcp key file replaced", func(t *testing.T) {
		adc := filepath.Join(dir, "adc.json")
		m := cloudMethod(t, f, MethodOptions{Type: "gcp", MountPath: "auth/gcp", GCP: &GCPOptions{Type: "iam", Role: "batch"}},
			map[string]string{"GOOGLE_APPLICATION_CREDENTIALS": adc})
		var subs []string
		for _, sa := range []string{"one@rotor-test.iam.gserviceaccount.com", "two@rotor-test.iam.gserviceaccount.com"} {
			if err := os.WriteFile(adc, f.GCPServiceAccountKey(sa, ""), 0o600); err != nil {
				t.Fatal(err)
			}
			if _, err := m.Login(context.Background(), lc.client(t)); err != nil {
				t.Fatal(err)
			}
			// service_account unset: the key's own account (Vault Agent
			// would ask to sign as "default").
			j := gcpVerify(t, f, lc.reqs[len(lc.reqs)-1].Data, sa)
			subs = append(subs, j.Claims["sub"].(string))
		}
		if subs[0] == subs[1] {
			t.Errorf("both logins as %s", subs[0])
		}
	})

	t.Run("azure federated token replaced", func(t *testing.T) {
		const app = "abababab-0000-4000-8000-000000000001"
		f.AzureApp(app, "cdcdcdcd-0000-4000-8000-000000000001", "")
		file := filepath.Join(dir, "federated")
		m := cloudMethod(t, f, MethodOptions{Type: "azure", MountPath: "auth/azure", Azure: &AzureOptions{Role: "web",
			Resource: "https://management.azure.com", AuthenticateFromEnvironment: true}},
			map[string]string{"AZURE_TENANT_ID": cloudfake.AzureTenant, "AZURE_CLIENT_ID": app, "AZURE_FEDERATED_TOKEN_FILE": file})
		var sent []string
		for range 2 {
			tok := f.AzureFederatedToken(app)
			if err := os.WriteFile(file, []byte(tok), 0o600); err != nil {
				t.Fatal(err)
			}
			f.Reset()
			if _, err := m.Login(context.Background(), lc.client(t)); err != nil {
				t.Fatal(err)
			}
			r := f.Requests("/" + cloudfake.AzureTenant + "/oauth2/v2.0/token")
			if len(r) != 1 {
				t.Fatalf("%d token requests", len(r))
			}
			form, _ := url.ParseQuery(string(r[0].Body))
			if form.Get("client_assertion") != tok {
				t.Errorf("the token request did not carry the file's current token")
			}
			sent = append(sent, form.Get("client_assertion"))
		}
		if sent[0] == sent[1] {
			t.Error("both logins sent the same assertion")
		}
	})
}

// TestCloudErrorsAreClearWithoutSecrets makes each method fail for a
// reason of its own and checks the error says why, is marked as a
// credentials problem, and holds none of the secrets involved.
func TestCloudErrorsAreClearWithoutSecrets(t *testing.T) {
	f := cloudfake.New(t)
	lc := newLoginCapture(t)
	other := cloudfake.New(t) // a key this fake Google never issued
	foreignKey := string(other.GCPServiceAccountKey(gcpSA, ""))
	f.AzureApp(azureAppID, "99999999-0000-4000-8000-000000000001", azureAppSecret)
	cases := []struct {
		name    string
		opts    MethodOptions
		env     map[string]string
		want    string
		secrets []string
	}{
		{name: "gcp key Google does not know", opts: MethodOptions{Type: "gcp", MountPath: "auth/gcp",
			GCP: &GCPOptions{Type: "iam", Role: "r", ServiceAccount: gcpSA, Credentials: foreignKey}},
			want:    "Google token endpoint (with the method's credentials): HTTP 400: invalid_grant: Invalid JWT Signature.",
			secrets: []string{foreignKey[strings.Index(foreignKey, "MII"):][:64]}},
		{name: "gcp unknown service account", opts: MethodOptions{Type: "gcp", MountPath: "auth/gcp",
			GCP: &GCPOptions{Type: "gce", Role: "r", ServiceAccount: "nobody@example.com"}},
			want: "GCE metadata server instance/service-accounts/nobody@example.com/identity: HTTP 404"},
		{name: "gcp key file of another type", opts: MethodOptions{Type: "gcp", MountPath: "auth/gcp", GCP: &GCPOptions{Type: "iam", Role: "r"}},
			env:  map[string]string{"GOOGLE_APPLICATION_CREDENTIALS": writeTemp(t, `{"type":"authorized_user","refresh_token":"1//secret-refresh"}`)},
			want: `has type "authorized_user": rotor logs in with service_account keys or the metadata server`, secrets: []string{"1//secret-refresh"}},
		{name: "azure wrong client secret", opts: MethodOptions{Type: "azure", MountPath: "auth/azure",
			Azure: &AzureOptions{Role: "r", Resource: "https://management.azure.com", AuthenticateFromEnvironment: true}},
			env:  map[string]string{"AZURE_TENANT_ID": cloudfake.AzureTenant, "AZURE_CLIENT_ID": azureAppID, "AZURE_CLIENT_SECRET": "wrong-secret-1234"},
			want: "Microsoft Entra ID token (AZURE_CLIENT_SECRET): HTTP 400: invalid_client: AADSTS7000215", secrets: []string{"wrong-secret-1234"}},
		{name: "azure certificate credential", opts: MethodOptions{Type: "azure", MountPath: "auth/azure",
			Azure: &AzureOptions{Role: "r", Resource: "https://management.azure.com", AuthenticateFromEnvironment: true}},
			env:  map[string]string{"AZURE_TENANT_ID": cloudfake.AzureTenant, "AZURE_CLIENT_ID": azureAppID, "AZURE_CLIENT_CERTIFICATE_PATH": "/x.pem"},
			want: "rotor does not log in with a client certificate"},
		{name: "azure unknown user identity", opts: MethodOptions{Type: "azure", MountPath: "auth/azure",
			Azure: &AzureOptions{Role: "r", Resource: "https://management.azure.com", ClientID: "00000000-dead-4000-8000-000000000000"}},
			want: "Azure managed identity token: HTTP 400: invalid_request: Identity not found"},
		{name: "alicloud role ARN in the environment", opts: MethodOptions{Type: "alicloud", MountPath: "auth/alicloud", AliCloud: &AliCloudOptions{Role: "r", Region: "cn-hangzhou"}},
			env:  map[string]string{"ALICLOUD_ACCESS_KEY": "LTAIkey", "ALICLOUD_SECRET_KEY": "ali-secret-5678", "ALICLOUD_ROLE_ARN": "acs:ram::1:role/x", "ALICLOUD_ROLE_SESSION_NAME": "s"},
			want: "ALICLOUD_ROLE_ARN is set: rotor does not assume a RAM role by ARN", secrets: []string{"ali-secret-5678"}},
		{name: "alicloud unknown RAM role", opts: MethodOptions{Type: "alicloud", MountPath: "auth/alicloud", AliCloud: &AliCloudOptions{Role: "r", Region: "cn-hangzhou", RoleName: "nope"}},
			want: "RAM role nope (role_name): ECS metadata service: HTTP 404"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := rotorLogin(t, f, lc, tc.opts, tc.env)
			if err == nil {
				t.Fatal("login succeeded")
			}
			if !errors.Is(err, ErrCredentials) {
				t.Errorf("not marked ErrCredentials: %v", err)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %q does not say %q", err, tc.want)
			}
			for _, s := range tc.secrets {
				if strings.Contains(err.Error(), s) {
					t.Errorf("error shows a secret: %v", err)
				}
			}
		})
	}
}

// TestCloudOptionsPrintNoSecrets checks the options' String forms.
func TestCloudOptionsPrintNoSecrets(t *testing.T) {
	g := GCPOptions{Type: "iam", Role: "r", Credentials: `{"private_key":"KEYDATA"}`}
	a := AliCloudOptions{Role: "r", Region: "x", AccessKey: "AKID", AccessSecret: "ALISECRET", AccessToken: "ALITOKEN"}
	for _, s := range []string{g.String(), g.GoString(), a.String(), a.GoString()} {
		for _, secret := range []string{"KEYDATA", "ALISECRET", "ALITOKEN"} {
			if strings.Contains(s, secret) {
				t.Errorf("%q shows a secret", s)
			}
		}
	}
	// The login data rotor hands Vault is the signed request, not the secret.
	f := cloudfake.New(t)
	lc := newLoginCapture(t)
	id, secret, _ := f.AliAccessKey("u", false)
	got, err := rotorLogin(t, f, lc, MethodOptions{Type: "alicloud", MountPath: "auth/alicloud",
		AliCloud: &AliCloudOptions{Role: "r", Region: "cn-hangzhou", AccessKey: id, AccessSecret: secret}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"identity_request_url", "identity_request_headers"} {
		b, _ := base64.StdEncoding.DecodeString(got.Data[k].(string))
		if strings.Contains(string(b), secret) {
			t.Errorf("%s holds the secret key", k)
		}
	}
}

func writeTemp(t *testing.T, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "f")
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}
