package main

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// configDirEnv names the directory -config-env writes to (default: the
// system's temporary directory). rotor's injector points it at a
// memory-backed volume, since the sidecar's root file system is read-only.
const configDirEnv = "ROTOR_CONFIG_DIR"

// configFromEnv writes the configuration held by each environment
// variable (JSON or HCL, as is or base64-encoded, as the vault-k8s
// injector passes VAULT_CONFIG) to a private file named after the
// variable, so it is read, merged, reported (file:line:col) and reloaded
// on SIGHUP like any -config file. The caller removes the directory.
func configFromEnv(names []string) (files []string, dir string, err error) {
	if len(names) == 0 {
		return nil, "", nil
	}
	base := os.Getenv(configDirEnv)
	if dir, err = os.MkdirTemp(base, "rotor-config-"); err != nil {
		return nil, "", err
	}
	for _, name := range names {
		if name == "" || strings.ContainsAny(name, `/\`) {
			// The name becomes a file name in dir: never a path out of it.
			os.RemoveAll(dir)
			return nil, "", fmt.Errorf("-config-env %q: not an environment variable name", name)
		}
		v, ok := os.LookupEnv(name)
		if !ok || v == "" {
			os.RemoveAll(dir)
			return nil, "", fmt.Errorf("-config-env %s: the variable is not set", name)
		}
		b := []byte(v)
		ext := ".hcl"
		if dec, err := base64.StdEncoding.DecodeString(v); err == nil {
			b = dec
		}
		if t := bytes.TrimSpace(b); len(t) > 0 && t[0] == '{' {
			ext = ".json"
		}
		f := filepath.Join(dir, name+ext)
		if err := os.WriteFile(f, b, 0o600); err != nil {
			os.RemoveAll(dir)
			return nil, "", err
		}
		files = append(files, f)
	}
	return files, dir, nil
}
