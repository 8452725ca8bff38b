package auth

import (
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/rotorproject/rotor/test/harness/cloudfake"
)

const (
	azureUserClientID = "11111111-2222-4333-8444-555555555555"
	azureUserObjectID = "66666666-7777-4888-8999-aaaaaaaaaaaa"
	azureAppID        = "bbbbbbbb-cccc-4ddd-8eee-ffffffffffff"
	azureAppSecret    = "app-secret-value-0123456789"
)

// TestAzureAgainstVaultAgent runs Vault Agent's azure method and rotor's
// on the same configurations and environment against the same fake Azure,
// and compares the login requests (the token's claims apart from its
// times, verified with the fake Entra ID's key) and the calls each made to
// the metadata service and to Entra ID.
func TestAzureAgainstVaultAgent(t *testing.T) {
	f := cloudfake.New(t)
	lc := newLoginCapture(t)
	f.AzureUserIdentity(azureUserClientID, azureUserObjectID)
	f.AzureApp(azureAppID, "99999999-0000-4000-8000-000000000001", azureAppSecret)
	tokenFile := filepath.Join(t.TempDir(), "azure-identity-token")
	if err := os.WriteFile(tokenFile, []byte(f.AzureFederatedToken(azureAppID)), 0o600); err != nil {
		t.Fatal(err)
	}
	const resource = "https://management.azure.com/"
	cases := []struct {
		name string
		vmss string
		hcl  string
		opts AzureOptions
		env  map[string]string
	}{
		{name: "system-assigned identity", hcl: `role = "web"
resource = "` + resource + `"`, opts: AzureOptions{Role: "web", Resource: resource}},
		{name: "user-assigned by client_id, scale set", vmss: "web-vmss", hcl: `role = "web"
resource = "` + resource + `"
client_id = "` + azureUserClientID + `"`, opts: AzureOptions{Role: "web", Resource: resource, ClientID: azureUserClientID}},
		{name: "user-assigned by object_id", hcl: `role = "web"
resource = "` + resource + `"
object_id = "` + azureUserObjectID + `"`, opts: AzureOptions{Role: "web", Resource: resource, ObjectID: azureUserObjectID}},
		{name: "environment: AKS workload identity", hcl: `role = "web"
resource = "https://management.azure.com"
authenticate_from_environment = true`, opts: AzureOptions{Role: "web", Resource: "https://management.azure.com", AuthenticateFromEnvironment: true},
			env: map[string]string{"AZURE_TENANT_ID": cloudfake.AzureTenant, "AZURE_CLIENT_ID": azureAppID,
				"AZURE_FEDERATED_TOKEN_FILE": tokenFile, "AZURE_AUTHORITY_HOST": "https://login.microsoftonline.com/"}},
		{name: "environment: client secret, own scope", hcl: `role = "web"
resource = "https://management.azure.com"
scope = "https://vault.example.com/.default"
authenticate_from_environment = "true"`, opts: AzureOptions{Role: "web", Resource: "https://management.azure.com", Scope: "https://vault.example.com/.default", AuthenticateFromEnvironment: true},
			env: map[string]string{"AZURE_TENANT_ID": cloudfake.AzureTenant, "AZURE_CLIENT_ID": azureAppID, "AZURE_CLIENT_SECRET": azureAppSecret}},
		{name: "environment: managed identity", hcl: `role = "web"
resource = "https://management.azure.com"
authenticate_from_environment = true`, opts: AzureOptions{Role: "web", Resource: "https://management.azure.com", AuthenticateFromEnvironment: true}},
		{name: "environment: user-assigned managed identity", hcl: `role = "web"
resource = "https://management.azure.com"
authenticate_from_environment = true`, opts: AzureOptions{Role: "web", Resource: "https://management.azure.com", AuthenticateFromEnvironment: true},
			env: map[string]string{"AZURE_CLIENT_ID": azureUserClientID}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f.AzureScaleSet(tc.vmss)
			f.Reset()
			agent, err := agentLogin(t, f, lc, "method \"azure\" {\nconfig = {\n"+tc.hcl+"\n}\n}", tc.env)
			if err != nil {
				t.Fatal(err)
			}
			agentCalls := azureCalls(f)
			f.Reset()
			rotor, err := rotorLogin(t, f, lc, MethodOptions{Type: "azure", MountPath: "auth/azure", Azure: &tc.opts}, tc.env)
			if err != nil {
				t.Fatal(err)
			}
			if rotorCalls := azureCalls(f); strings.Join(agentCalls, "\n") != strings.Join(rotorCalls, "\n") {
				t.Errorf("calls to Azure differ:\n  Vault Agent: %q\n  rotor:       %q", agentCalls, rotorCalls)
			}
			if agent.Path != "auth/azure/login" || rotor.Path != "auth/azure/login" {
				t.Errorf("login paths: Vault Agent %q, rotor %q", agent.Path, rotor.Path)
			}
			if rotor.Data["subscription_id"] != cloudfake.AzureSubscription || rotor.Data["vmss_name"] != tc.vmss {
				t.Errorf("rotor's login metadata: %v", rotor.Data)
			}
			sameExcept(t, "login data", clone(agent.Data), clone(rotor.Data), "jwt")
			ca, cr := azureVerify(t, f, agent.Data), azureVerify(t, f, rotor.Data)
			sameExcept(t, "token claims", ca, cr, "iat", "nbf", "exp", "uti")
		})
	}
}

// azureCalls are the requests to the metadata service and Entra ID's
// token endpoint: path, query and Metadata header; the token request's
// form fields (the Azure SDK adds telemetry fields, left out).
func azureCalls(f *cloudfake.Fake) []string {
	var out []string
	for _, r := range f.Requests("/") {
		s := r.Method + " " + r.Path
		switch {
		case strings.HasPrefix(r.Path, "/metadata/"):
			if r.Header.Get("Metadata") != "true" {
				continue // the Azure SDK's probe for a metadata service
			}
			s += "?" + r.Query.Encode()
		case strings.HasSuffix(r.Path, "/oauth2/v2.0/token"):
			form, _ := url.ParseQuery(string(r.Body))
			var kept []string
			for _, k := range []string{"client_assertion", "client_assertion_type", "client_id", "client_secret", "grant_type", "scope"} {
				v := form.Get(k)
				if k == "scope" {
					v = strings.Join(slices.DeleteFunc(strings.Fields(v), cloudfake.ReservedScope), " ")
				}
				if v != "" {
					kept = append(kept, k+"="+v)
				}
			}
			sort.Strings(kept)
			s += " host=" + r.Host + " " + strings.Join(kept, "&")
		default:
			continue // Entra ID's instance and tenant discovery (MSAL's)
		}
		out = append(out, s)
	}
	return out
}

// azureVerify checks the login's token as Vault's azure plugin would
// (signed by Entra ID) and returns its claims.
func azureVerify(t *testing.T, f *cloudfake.Fake, data map[string]any) map[string]any {
	t.Helper()
	tok, _ := data["jwt"].(string)
	j, err := cloudfake.VerifyJWT(tok, f.AzureTokenKey())
	if err != nil {
		t.Fatalf("login token: %v", err)
	}
	return j.Claims
}
