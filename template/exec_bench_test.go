package template

import (
	"testing"

	"github.com/rotorproject/rotor/agent/config"
)

func BenchmarkParseAndDryRun(b *testing.B) {
	c := &config.Template{Contents: `{{ with secret "secret/app/k001" }}{{ .Data.data.v }}{{ end }}`, Destination: "/tmp/x"}
	for b.Loop() {
		if err := Check(c); err != nil {
			b.Fatal(err)
		}
	}
}
