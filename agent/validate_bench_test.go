package agent

import (
	"fmt"
	"testing"

	"github.com/rotorproject/rotor/agent/config"
)

// BenchmarkValidate1000Templates is `rotor validate`'s own part (every
// template parsed and checked, nothing executed) on 1,000 templates, after
// the config loader (config.BenchmarkLoad1000Templates).
func BenchmarkValidate1000Templates(b *testing.B) {
	cfg := &config.Config{Vault: config.Vault{Address: "http://127.0.0.1:8200"}}
	for i := range 1000 {
		cfg.Templates = append(cfg.Templates, &config.Template{
			Contents:    fmt.Sprintf(`{{ with secret "secret/app/k%03d" }}{{ .Data.data.v }}{{ end }}`, i),
			Destination: fmt.Sprintf("/run/rotor/out/k%03d", i), CreateDestDirs: true,
		})
	}
	b.ReportAllocs()
	for b.Loop() {
		if problems, _ := Validate(cfg); len(problems) > 0 {
			b.Fatal(problems)
		}
	}
}
