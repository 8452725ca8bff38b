package injector

import (
	"errors"
	"fmt"
)

// Sidecar shapes.
const (
	// Native is one init container with restartPolicy: Always (Kubernetes
	// 1.29+): it starts before the app, its startup probe holds the app
	// until every template has rendered, and it stops after the app.
	Native = "native"
	// Classic is vault-k8s's pair: an init container that renders once and
	// exits, then a sidecar container beside the app.
	Classic = "classic"
)

// Options are the injector's defaults, set by flags of `rotor injector`;
// annotations override them per pod as they override vault-k8s's flags.
type Options struct {
	// VaultAddress is the default vault.hashicorp.com/service.
	VaultAddress string
	// AuthType and AuthPath are the default auto-auth method and mount.
	AuthType, AuthPath string
	// Image is rotor's container image; Rotor is the rotor binary's path in
	// it.
	Image, Rotor string
	// Sidecar is Native or Classic.
	Sidecar string
	// DefaultTemplate is "map" or "json".
	DefaultTemplate string
	// RunAsUser and RunAsGroup are the sidecar's ids (vault-k8s: 100, 1000).
	RunAsUser, RunAsGroup int64
	// StatusPort is the loopback port of the sidecar's local API, which the
	// startup probe asks for /readyz.
	StatusPort int
	// Limits and Requests are the sidecar's resources by "cpu", "mem" and
	// "ephemeral", sized for rotor.
	Limits, Requests map[string]string
}

// DefaultOptions returns the defaults of `rotor injector`.
func DefaultOptions() Options {
	return Options{
		VaultAddress:    "https://vault.vault.svc:8200",
		AuthType:        "kubernetes",
		AuthPath:        "auth/kubernetes",
		Image:           "registry.example.com/rotor:latest",
		Rotor:           "/usr/local/bin/rotor",
		Sidecar:         Native,
		DefaultTemplate: "map",
		RunAsUser:       100,
		RunAsGroup:      1000,
		StatusPort:      8210,
		// rotor idles at a few MiB of heap and a few millicores; vault-k8s
		// reserves 250m/64Mi and caps at 500m/128Mi for Vault Agent.
		Requests: map[string]string{"cpu": "10m", "mem": "24Mi"},
		Limits:   map[string]string{"cpu": "200m", "mem": "64Mi"},
	}
}

// Validate checks the options once, at startup.
func (o Options) Validate() error {
	var errs []error
	if o.Sidecar != Native && o.Sidecar != Classic {
		errs = append(errs, fmt.Errorf("sidecar %q: want %q or %q", o.Sidecar, Native, Classic))
	}
	if o.DefaultTemplate != "map" && o.DefaultTemplate != "json" {
		errs = append(errs, fmt.Errorf("default template %q: want map or json", o.DefaultTemplate))
	}
	if o.Image == "" || o.Rotor == "" {
		errs = append(errs, errors.New("the rotor image and binary path must be set"))
	}
	if o.StatusPort <= 0 || o.StatusPort > 65535 {
		errs = append(errs, fmt.Errorf("status port %d out of range", o.StatusPort))
	}
	return errors.Join(errs...)
}
