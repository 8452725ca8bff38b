package auth

import (
	"context"

	"github.com/hashicorp/vault/api"
)

// kubernetes logs in with the pod's service-account token, re-read at each
// login because Kubernetes rotates projected tokens.
type kubernetes struct {
	mount string
	cfg   KubernetesOptions
}

func (k *kubernetes) credentialFiles() []string { return []string{k.cfg.TokenPath} }

func (k *kubernetes) Login(ctx context.Context, c *api.Client) (*api.Secret, error) {
	jwt, err := readCredential(k.cfg.TokenPath, "service-account token")
	if err != nil {
		return nil, err
	}
	return loginWrite(ctx, c, k.mount+"/login", map[string]any{"role": k.cfg.Role, "jwt": jwt})
}
