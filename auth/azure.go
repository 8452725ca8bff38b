package auth

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"strings"

	"github.com/hashicorp/vault/api"
)

// azureMethod logs in with Vault's azure auth method, as Vault Agent's
// azure method does: an access token of the machine's identity (the VM's
// managed identity from the instance metadata service, or, with
// authenticate_from_environment, the identity the AZURE_* variables name)
// and the VM's subscription, resource group and name (or scale set) from
// the instance metadata, which Vault checks against the token.
type azureMethod struct {
	mount string
	cfg   AzureOptions
	env   cloudEnv
	http  cloudClients
	log   *slog.Logger
	// imds is the instance metadata service's base URL.
	imds string
}

const (
	azureIMDS = "http://169.254.169.254"
	// azureAPIVersion is the metadata API version Vault Agent asks for.
	azureAPIVersion = "2018-02-01"
	// azureAuthority is Microsoft Entra ID's public cloud, the default of
	// AZURE_AUTHORITY_HOST.
	azureAuthority = "https://login.microsoftonline.com/"
)

func newAzure(mount string, o AzureOptions, log *slog.Logger) (Method, error) {
	switch {
	case o.Role == "":
		return nil, errors.New("azure: role is required")
	case o.Resource == "":
		return nil, errors.New("azure: resource is required")
	case o.ObjectID != "" && o.ClientID != "":
		return nil, errors.New("azure: set object_id or client_id, not both")
	}
	if o.Scope == "" {
		o.Scope = o.Resource + "/.default"
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &azureMethod{mount: mount, cfg: o, env: os.LookupEnv, http: defaultCloudClients(), log: log, imds: azureIMDS}, nil
}

func (m *azureMethod) Login(ctx context.Context, c *api.Client) (*api.Secret, error) {
	data, err := m.loginData(ctx)
	if err != nil {
		return nil, fmt.Errorf("%w: azure login: %v", ErrCredentials, err)
	}
	return loginWrite(ctx, c, m.mount+"/login", data)
}

func (m *azureMethod) loginData(ctx context.Context) (map[string]any, error) {
	ctx, cancel := withTimeout(ctx)
	defer cancel()
	var inst struct {
		Compute struct {
			Name              string `json:"name"`
			ResourceGroupName string `json:"resourceGroupName"`
			SubscriptionID    string `json:"subscriptionId"`
			VMScaleSetName    string `json:"vmScaleSetName"`
		} `json:"compute"`
	}
	if err := m.metadata(ctx, "/metadata/instance", nil, "instance metadata", &inst); err != nil {
		return nil, err
	}
	var tok string
	var err error
	if m.cfg.AuthenticateFromEnvironment {
		tok, err = m.environmentToken(ctx)
	} else {
		tok, err = m.managedIdentityToken(ctx, m.cfg.Resource, m.cfg.ObjectID, m.cfg.ClientID)
	}
	if err != nil {
		return nil, err
	}
	return map[string]any{
		"role":                m.cfg.Role,
		"jwt":                 tok,
		"subscription_id":     inst.Compute.SubscriptionID,
		"resource_group_name": inst.Compute.ResourceGroupName,
		"vm_name":             inst.Compute.Name,
		"vmss_name":           inst.Compute.VMScaleSetName,
	}, nil
}

// metadata reads the instance metadata service at path with api-version
// and the extra query q, decoding its JSON into dst.
func (m *azureMethod) metadata(ctx context.Context, path string, q url.Values, what string, dst any) error {
	if q == nil {
		q = url.Values{}
	}
	q.Set("api-version", azureAPIVersion)
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, m.imds+path+"?"+q.Encode(), nil)
	if err != nil {
		return err
	}
	req.Header.Set("Metadata", "true")
	return cloudJSON(m.http.local, req, "Azure "+what, dst)
}

// managedIdentityToken asks the instance metadata service for a token of
// the VM's managed identity (system-assigned, or the user-assigned one
// objectID or clientID names) for resource.
func (m *azureMethod) managedIdentityToken(ctx context.Context, resource, objectID, clientID string) (string, error) {
	q := url.Values{"resource": {resource}}
	if objectID != "" {
		q.Set("object_id", objectID)
	}
	if clientID != "" {
		q.Set("client_id", clientID)
	}
	var out struct {
		AccessToken string `json:"access_token"`
	}
	if err := m.metadata(ctx, "/metadata/identity/oauth2/token", q, "managed identity token", &out); err != nil {
		return "", err
	}
	if out.AccessToken == "" {
		return "", errors.New("managed identity token: the Azure metadata service answered no access token")
	}
	return out.AccessToken, nil
}

// environmentToken gets a token for the configured scope from the first
// credential of the Azure SDK's default chain (DefaultAzureCredential,
// which Vault Agent uses) that the environment sets up: a client secret
// (AZURE_TENANT_ID, AZURE_CLIENT_ID, AZURE_CLIENT_SECRET), workload
// identity (AZURE_FEDERATED_TOKEN_FILE, AKS's), then the managed identity
// (AZURE_CLIENT_ID picks a user-assigned one). The chain's certificate,
// username/password and developer-tool credentials are refused by name.
func (m *azureMethod) environmentToken(ctx context.Context) (string, error) {
	tenant, client := m.env.get("AZURE_TENANT_ID"), m.env.get("AZURE_CLIENT_ID")
	if tenant != "" && client != "" {
		switch {
		case m.env.get("AZURE_CLIENT_SECRET") != "":
			secret, _ := m.env("AZURE_CLIENT_SECRET")
			noteCredential(ctx, secret)
			return m.entraToken(ctx, tenant, url.Values{"client_id": {client}, "client_secret": {secret}}, "AZURE_CLIENT_SECRET")
		case m.env.get("AZURE_CLIENT_CERTIFICATE_PATH") != "":
			return "", errors.New("AZURE_CLIENT_CERTIFICATE_PATH is set: rotor does not log in with a client certificate; use a client secret, workload identity or a managed identity")
		case m.env.get("AZURE_USERNAME") != "" && m.env.get("AZURE_PASSWORD") != "":
			return "", errors.New("AZURE_USERNAME and AZURE_PASSWORD are set: rotor does not log in with a user's password; use a client secret, workload identity or a managed identity")
		}
	}
	if file := m.env.get("AZURE_FEDERATED_TOKEN_FILE"); file != "" {
		if tenant == "" || client == "" {
			return "", errors.New("AZURE_FEDERATED_TOKEN_FILE is set but AZURE_TENANT_ID or AZURE_CLIENT_ID is not (workload identity needs all three)")
		}
		assertion, err := readCredential(file, "federated token (AZURE_FEDERATED_TOKEN_FILE)")
		if err != nil {
			return "", err
		}
		noteCredential(ctx, assertion)
		return m.entraToken(ctx, tenant, url.Values{"client_id": {client}, "client_assertion": {assertion},
			"client_assertion_type": {"urn:ietf:params:oauth:client-assertion-type:jwt-bearer"}}, "workload identity")
	}
	return m.managedIdentityToken(ctx, strings.TrimSuffix(m.cfg.Scope, "/.default"), "", client)
}

// entraToken is Microsoft Entra ID's client-credentials grant at
// AZURE_AUTHORITY_HOST (default the public cloud's).
func (m *azureMethod) entraToken(ctx context.Context, tenant string, form url.Values, via string) (string, error) {
	authority := m.env.get("AZURE_AUTHORITY_HOST")
	if authority == "" {
		authority = azureAuthority
	}
	if u, err := url.Parse(authority); err != nil || u.Scheme != "https" || u.Host == "" {
		return "", fmt.Errorf("AZURE_AUTHORITY_HOST %q is not an https URL", authority)
	}
	form.Set("grant_type", "client_credentials")
	form.Set("scope", m.cfg.Scope)
	u := strings.TrimSuffix(authority, "/") + "/" + url.PathEscape(tenant) + "/oauth2/v2.0/token"
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u, strings.NewReader(form.Encode()))
	if err != nil {
		return "", err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	var out struct {
		AccessToken string `json:"access_token"`
	}
	if err := cloudJSON(m.http.remote, req, "Microsoft Entra ID token ("+via+")", &out); err != nil {
		return "", err
	}
	if out.AccessToken == "" {
		return "", errors.New("token endpoint: Microsoft Entra ID answered no access token")
	}
	return out.AccessToken, nil
}
