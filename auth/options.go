package auth

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

// Equal reports whether m and o log in the same way.
func (m MethodOptions) Equal(o MethodOptions) bool {
	return m.Type == o.Type && m.MountPath == o.MountPath &&
		eqPtr(m.AppRole, o.AppRole) && eqPtr(m.Kubernetes, o.Kubernetes) && eqPtr(m.JWT, o.JWT) &&
		eqPtr(m.Cert, o.Cert) && eqPtr(m.TokenFile, o.TokenFile)
}

// eqPtr compares two optional settings by value.
func eqPtr[T comparable](a, b *T) bool {
	if a == nil || b == nil {
		return a == b
	}
	return *a == *b
}
