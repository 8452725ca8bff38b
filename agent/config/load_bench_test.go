package config

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// templatesConfig is a configuration of n templates, each reading one KV
// secret into its own file (bench/'s KV scenario).
func templatesConfig(n int) string {
	var b strings.Builder
	b.WriteString(`vault { address = "http://127.0.0.1:8200" }
auto_auth {
  method "approle" {
    config = {
      role_id_file_path = "/etc/rotor/role_id"
      secret_id_file_path = "/etc/rotor/secret_id"
    }
  }
}
`)
	for i := range n {
		fmt.Fprintf(&b, "template {\n  contents = %q\n  destination = %q\n}\n",
			fmt.Sprintf(`{{ with secret "secret/app/k%03d" }}{{ .Data.data.v }}{{ end }}`, i), fmt.Sprintf("/run/rotor/out/k%03d", i))
	}
	return b.String()
}

// BenchmarkLoad1000Templates is the config loader (read, parse, decode,
// default, validate) on 1,000 templates; the target (bench/README.md,
// "Targets of the Scale issue") is at most 30 ms per 1,000 templates for
// this and `rotor validate` together.
func BenchmarkLoad1000Templates(b *testing.B) {
	path := filepath.Join(b.TempDir(), "agent.hcl")
	if err := os.WriteFile(path, []byte(templatesConfig(1000)), 0o600); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		cfg, err := Load([]string{path}, func(string) (string, bool) { return "", false })
		if err != nil || len(cfg.Templates) != 1000 {
			b.Fatalf("%v, %d templates", err, len(cfg.Templates))
		}
	}
}
