package auth

import (
	"fmt"
	"time"
)

// MethodOptions say how to log in: the auto-auth method's type, where it
// is mounted, and that method's own settings (exactly one of the pointers,
// matching Type). The agent builds them from the configuration.
type MethodOptions struct {
	Type      string
	MountPath string // e.g. "auth/approle"

	AppRole    *AppRoleOptions
	Kubernetes *KubernetesOptions
	JWT        *JWTOptions
	Cert       *CertOptions
	TokenFile  *TokenFileOptions
	AWS        *AWSOptions
	GCP        *GCPOptions
	Azure      *AzureOptions
	AliCloud   *AliCloudOptions
	LDAP       *LDAPOptions     // ldap.go
	Kerberos   *KerberosOptions // kerberos.go
	CF         *CFOptions       // cf.go (cf and pcf)
	OCI        *OCIOptions      // oci.go
}

// AppRoleOptions configure the approle method.
type AppRoleOptions struct {
	RoleIDFilePath                 string
	SecretIDFilePath               string
	RemoveSecretIDFileAfterReading bool
	// SecretIDResponseWrappingPath, if set, means the secret_id file holds
	// a response-wrapping token created at this path.
	SecretIDResponseWrappingPath string
}

// KubernetesOptions configure the kubernetes method.
type KubernetesOptions struct {
	Role      string
	TokenPath string // the service-account token, read at each login
}

// JWTOptions configure the jwt method.
type JWTOptions struct {
	Path                  string
	Role                  string
	RemoveJWTAfterReading bool
}

// CertOptions configure the cert method. Empty ClientCert/ClientKey use
// the Vault client's; CACert, if set, replaces its CA.
type CertOptions struct {
	Name       string
	CACert     string
	ClientCert string
	ClientKey  string
	Reload     bool // read the certificate files again at each login
}

// TokenFileOptions configure the token_file method.
type TokenFileOptions struct {
	Path string
}

// AWSOptions configure the aws method (Vault Agent's keys). Printing them
// never shows the keys or the nonce.
type AWSOptions struct {
	Type string // "iam" or "ec2"
	Role string
	// AccessKey, SecretKey and SessionToken, if set, are used instead of
	// the AWS credential chain (iam only).
	AccessKey, SecretKey, SessionToken string
	HeaderValue                        string // iam: X-Vault-AWS-IAM-Server-ID
	// Nonce is the ec2 login's reauthentication nonce; empty: one is made
	// up at the first login and kept for this run, as Vault Agent does.
	Nonce  string
	Region string // iam: the signing region, default us-east-1
}

// String describes the options without secrets.
func (o AWSOptions) String() string {
	return fmt.Sprintf("aws(type=%s role=%s region=%s static_keys=%v)", o.Type, o.Role, o.Region, o.AccessKey != "")
}

// GoString is String, so %#v shows no secret either.
func (o AWSOptions) GoString() string { return o.String() }

// Equal reports whether m and o log in the same way.
func (m MethodOptions) Equal(o MethodOptions) bool {
	return m.Type == o.Type && m.MountPath == o.MountPath &&
		eqPtr(m.AppRole, o.AppRole) && eqPtr(m.Kubernetes, o.Kubernetes) && eqPtr(m.JWT, o.JWT) &&
		eqPtr(m.Cert, o.Cert) && eqPtr(m.TokenFile, o.TokenFile) && eqPtr(m.AWS, o.AWS) &&
		eqPtr(m.GCP, o.GCP) && eqPtr(m.Azure, o.Azure) && eqPtr(m.AliCloud, o.AliCloud) &&
		eqPtr(m.LDAP, o.LDAP) && eqPtr(m.Kerberos, o.Kerberos) && eqPtr(m.CF, o.CF) && eqPtr(m.OCI, o.OCI)
}

// eqPtr compares two optional settings by value.
func eqPtr[T comparable](a, b *T) bool {
	if a == nil || b == nil {
		return a == b
	}
	return *a == *b
}

// GCPOptions configure the gcp method (Vault Agent's keys). Printing them
// never shows the credentials.
type GCPOptions struct {
	Type string // "gce" or "iam"
	Role string
	// Credentials is a service-account key's JSON (iam); empty: the
	// environment, ~/.gcp/credentials, then application default credentials.
	Credentials string
	// ServiceAccount is the account to log in as: gce, the metadata
	// server's name for it ("default" is the instance's); iam, its email
	// ("" or "default": the credentials' own account).
	ServiceAccount string
	JWTExp         time.Duration // iam: the signed JWT's life, default 15m
}

// String describes the options without secrets.
func (o GCPOptions) String() string {
	return fmt.Sprintf("gcp(type=%s role=%s service_account=%s credentials=%v)", o.Type, o.Role, o.ServiceAccount, o.Credentials != "")
}

// GoString is String, so %#v shows no secret either.
func (o GCPOptions) GoString() string { return o.String() }

// AzureOptions configure the azure method (Vault Agent's keys).
type AzureOptions struct {
	Role     string
	Resource string // the token's audience (managed identity)
	// ObjectID or ClientID pick a user-assigned managed identity.
	ObjectID, ClientID string
	// Scope is the token's scope with AuthenticateFromEnvironment; default
	// Resource + "/.default".
	Scope string
	// AuthenticateFromEnvironment gets the token as the Azure SDK's default
	// credential does (AZURE_* variables: a client secret, AKS workload
	// identity) instead of from the VM's managed identity.
	AuthenticateFromEnvironment bool
}

// AliCloudOptions configure the alicloud method (Vault Agent's keys).
// Printing them never shows the keys.
type AliCloudOptions struct {
	Role   string
	Region string
	// AccessKey and AccessSecret (and AccessToken, an STS token), if set,
	// are used when the environment has no keys.
	AccessKey, AccessSecret, AccessToken string
	// RoleName is the ECS instance's RAM role to take credentials of from
	// the metadata service; empty: the role the metadata service names.
	RoleName string
}

// String describes the options without secrets.
func (o AliCloudOptions) String() string {
	return fmt.Sprintf("alicloud(role=%s region=%s role_name=%s static_keys=%v)", o.Role, o.Region, o.RoleName, o.AccessKey != "")
}

// GoString is String, so %#v shows no secret either.
func (o AliCloudOptions) GoString() string { return o.String() }
