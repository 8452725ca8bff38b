package template

import (
	"testing"
)

func BenchmarkCheck(b *testing.B) {
	s := Spec{Contents: `{{ with secret "secret/app/k001" }}{{ .Data.data.v }}{{ end }}`, Destination: "/tmp/x"}
	for b.Loop() {
		if _, err := Check(s); err != nil {
			b.Fatal(err)
		}
	}
}
