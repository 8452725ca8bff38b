package config

import (
	"os"
	"path/filepath"
	"testing"
)

// FuzzLoad feeds arbitrary bytes to the loader as a configuration file. It
// must return (a config or an *Error), never panic or hang. The seed
// corpus in testdata/fuzz/FuzzLoad is replayed by every go test run.
func FuzzLoad(f *testing.F) {
	f.Add([]byte(okAuth))
	f.Fuzz(func(t *testing.T, data []byte) {
		p := filepath.Join(t.TempDir(), "cfg.hcl")
		if err := os.WriteFile(p, data, 0o600); err != nil {
			t.Fatal(err)
		}
		cfg, err := Load([]string{p}, env(map[string]string{"VAULT_TOKEN": "t"}))
		if (cfg == nil) == (err == nil) {
			t.Fatalf("Load returned config %v and error %v", cfg != nil, err)
		}
		if err != nil {
			if _, ok := err.(*Error); !ok {
				t.Fatalf("error is %T, not *Error: %v", err, err)
			}
		}
	})
}
