package cloudfake

import (
	"crypto/rsa"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// The fake Azure VM, its subscription and tenant.
const (
	AzureTenant        = "72f988bf-0000-4000-8000-2d7cd011db47"
	AzureSubscription  = "0b1f6471-1bf0-4dda-aec3-111122223333"
	AzureResourceGroup = "rotor-rg"
	AzureVMName        = "vm-1"
	// AzureSystemObjectID is the VM's system-assigned identity.
	AzureSystemObjectID = "5a2c1bd4-0000-4000-8000-00000000aaaa"
)

type azureApp struct {
	secret    string
	objectID  string
	federated map[string]bool // trusted federated tokens
}

type azureState struct {
	key   *rsa.PrivateKey // signs every access token
	kid   string
	vmss  string               // scale set name, "" for a single VM
	users map[string]string    // user-assigned identities: client_id -> object_id
	apps  map[string]*azureApp // app registrations by client_id
}

func (a *azureState) init() {
	a.key, a.kid = mustRSA(), randomID(16)
	a.users = map[string]string{}
	a.apps = map[string]*azureApp{}
}

// AzureScaleSet makes the VM an instance of scale set name.
func (f *Fake) AzureScaleSet(name string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.az.vmss = name
}

// AzureUserIdentity attaches a user-assigned managed identity to the VM.
func (f *Fake) AzureUserIdentity(clientID, objectID string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.az.users[clientID] = objectID
}

// AzureApp registers an application (service principal) in the tenant
// with a client secret ("" for none).
func (f *Fake) AzureApp(clientID, objectID, secret string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.az.apps[clientID] = &azureApp{secret: secret, objectID: objectID, federated: map[string]bool{}}
}

// AzureFederatedToken returns a new token of a trusted external issuer (a
// Kubernetes service-account token, as AKS workload identity projects it)
// that the app clientID accepts as a client assertion.
func (f *Fake) AzureFederatedToken(clientID string) string {
	f.mu.Lock()
	defer f.mu.Unlock()
	now := time.Now().Unix()
	tok := signJWT(mustRSA(), "", map[string]any{"iss": "https://oidc.prod-aks.azure.com/" + AzureTenant + "/",
		"sub": "system:serviceaccount:default:app", "aud": []string{"api://AzureADTokenExchange"}, "iat": now, "exp": now + 3600, "jti": randomID(8)})
	f.az.apps[clientID].federated[tok] = true
	return tok
}

// AzureTokenKey is the public key every access token is signed with.
func (f *Fake) AzureTokenKey() *rsa.PublicKey { return &f.az.key.PublicKey }

func (a *azureState) token(aud, oid, appid string) string {
	now := time.Now().Unix()
	c := map[string]any{"aud": aud, "iss": "https://sts.windows.net/" + AzureTenant + "/", "tid": AzureTenant, "oid": oid,
		"sub": oid, "appid": appid, "iat": now, "nbf": now, "exp": now + 86399, "uti": randomID(8)}
	if aud == "" {
		delete(c, "aud")
	}
	t := signJWT(a.key, a.kid, c)
	return t
}

func (f *Fake) azureIMDS(r Request) (int, any) {
	a := &f.az
	if r.Header.Get("Metadata") != "true" {
		return http.StatusBadRequest, map[string]string{"error": "Bad request. Required metadata header not specified"}
	}
	if r.Query.Get("api-version") == "" {
		return http.StatusBadRequest, map[string]string{"error": "Bad request. api-version was not specified in the request"}
	}
	switch r.Path {
	case "/metadata/instance":
		name := AzureVMName
		rid := fmt.Sprintf("/subscriptions/%s/resourceGroups/%s/providers/Microsoft.Compute/virtualMachines/%s", AzureSubscription, AzureResourceGroup, name)
		if a.vmss != "" {
			name = a.vmss + "_0"
			rid = fmt.Sprintf("/subscriptions/%s/resourceGroups/%s/providers/Microsoft.Compute/virtualMachineScaleSets/%s/virtualMachines/0", AzureSubscription, AzureResourceGroup, a.vmss)
		}
		return http.StatusOK, map[string]any{"compute": map[string]any{"name": name, "resourceGroupName": AzureResourceGroup,
			"subscriptionId": AzureSubscription, "vmScaleSetName": a.vmss, "resourceId": rid, "location": "westeurope", "vmId": "c0ffee00-0000-4000-8000-000000000001"},
			"network": map[string]any{"interface": []any{}}}
	case "/metadata/identity/oauth2/token":
		res := r.Query.Get("resource")
		if res == "" {
			return http.StatusBadRequest, map[string]string{"error": "invalid_request", "error_description": "Required audience parameter not specified"}
		}
		oid, clientID := AzureSystemObjectID, "c11e0000-0000-4000-8000-00000000sys0"
		switch cid, obj := r.Query.Get("client_id"), r.Query.Get("object_id"); {
		case cid != "":
			if oid = a.users[cid]; oid == "" {
				return http.StatusBadRequest, map[string]string{"error": "invalid_request", "error_description": "Identity not found"}
			}
			clientID = cid
		case obj != "":
			clientID = ""
			for c, o := range a.users {
				if o == obj {
					clientID = c
				}
			}
			if clientID == "" {
				return http.StatusBadRequest, map[string]string{"error": "invalid_request", "error_description": "Identity not found"}
			}
			oid = obj
		}
		now := time.Now().Unix()
		return http.StatusOK, map[string]string{"access_token": a.token(res, oid, clientID), "client_id": clientID,
			"expires_in": "86399", "expires_on": fmt.Sprint(now + 86399), "ext_expires_in": "86399",
			"not_before": fmt.Sprint(now), "resource": res, "token_type": "Bearer"}
	}
	return http.StatusNotFound, map[string]string{"error": "Not found"}
}

// entra is login.microsoftonline.com: instance and tenant discovery (MSAL
// asks before its first token request) and the token endpoint.
func (f *Fake) entra(r Request) (int, any) {
	a := &f.az
	host := "https://" + r.Host
	switch {
	case r.Path == "/common/discovery/instance":
		au, _ := url.Parse(r.Query.Get("authorization_endpoint"))
		tenant := AzureTenant
		if au != nil {
			tenant, _, _ = strings.Cut(strings.TrimPrefix(au.Path, "/"), "/")
		}
		return http.StatusOK, map[string]any{"tenant_discovery_endpoint": host + "/" + tenant + "/v2.0/.well-known/openid-configuration",
			"api-version": "1.1", "metadata": []any{map[string]any{"preferred_network": r.Host, "preferred_cache": r.Host, "aliases": []string{r.Host}}}}
	case strings.HasSuffix(r.Path, "/.well-known/openid-configuration"):
		tenant, _, _ := strings.Cut(strings.TrimPrefix(r.Path, "/"), "/")
		return http.StatusOK, map[string]any{"token_endpoint": host + "/" + tenant + "/oauth2/v2.0/token",
			"authorization_endpoint": host + "/" + tenant + "/oauth2/v2.0/authorize", "issuer": host + "/" + tenant + "/v2.0",
			"jwks_uri": host + "/" + tenant + "/discovery/v2.0/keys"}
	}
	tenant, _, _ := strings.Cut(strings.TrimPrefix(r.Path, "/"), "/")
	form, _ := url.ParseQuery(string(r.Body))
	bad := func(code, desc string) (int, any) {
		return http.StatusBadRequest, map[string]any{"error": code, "error_description": desc}
	}
	switch {
	case tenant != AzureTenant:
		return bad("invalid_tenant", "AADSTS90002: Tenant '"+tenant+"' not found.")
	case r.Method != http.MethodPost || form.Get("grant_type") != "client_credentials":
		return bad("unsupported_grant_type", "AADSTS70003: unsupported grant type")
	}
	app := a.apps[form.Get("client_id")]
	if app == nil {
		return bad("unauthorized_client", "AADSTS700016: Application not found in the directory.")
	}
	switch {
	case form.Get("client_assertion") != "":
		if form.Get("client_assertion_type") != "urn:ietf:params:oauth:client-assertion-type:jwt-bearer" || !app.federated[form.Get("client_assertion")] {
			return bad("invalid_client", "AADSTS70021: No matching federated identity record found for presented assertion.")
		}
	case app.secret == "" || form.Get("client_secret") != app.secret:
		return bad("invalid_client", "AADSTS7000215: Invalid client secret provided.")
	}
	// MSAL adds OpenID Connect's reserved scopes (openid profile
	// offline_access); a client-credentials grant has one resource scope.
	scope := ""
	for _, sc := range strings.Fields(form.Get("scope")) {
		if !ReservedScope(sc) {
			if scope != "" {
				return bad("invalid_scope", "AADSTS70011: more than one resource scope")
			}
			scope = sc
		}
	}
	if !strings.HasSuffix(scope, "/.default") {
		return bad("invalid_scope", "AADSTS1002012: The provided value for scope is not valid.")
	}
	return http.StatusOK, map[string]any{"token_type": "Bearer", "expires_in": 3599, "ext_expires_in": 3599,
		"access_token": a.token(strings.TrimSuffix(scope, "/.default"), app.objectID, form.Get("client_id"))}
}

// ReservedScope reports whether sc is one of OpenID Connect's scopes that
// MSAL adds to every token request.
func ReservedScope(sc string) bool {
	return sc == "openid" || sc == "profile" || sc == "offline_access"
}
