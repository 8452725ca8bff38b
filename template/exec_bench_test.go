package template

import (
	"testing"

	ctemplate "github.com/hashicorp/consul-template/template"
)

func BenchmarkCheck(b *testing.B) {
	s := Spec{Contents: `{{ with secret "secret/app/k001" }}{{ .Data.data.v }}{{ end }}`, Destination: "/tmp/x"}
	for b.Loop() {
		if _, err := Check(s); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkExecute renders a one-secret template against a store that
// holds the secret: rotor's own execution (own) and consul-template's
// Execute (consul-template), which rotor used for every template before.
func BenchmarkExecute(b *testing.B) {
	store := kvStore(b)
	text := `{{ with secret "kv/pw" }}{{ .Data.v }}{{ end }}`
	tm, err := newTmpl(&Spec{Contents: text, Destination: "/tmp/x"}, "x")
	if err != nil || tm.exec == nil {
		b.Fatal(err)
	}
	b.Run("own", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if res := tm.execute(store); res.err != nil || len(res.out) == 0 {
				b.Fatal(res.err)
			}
		}
	})
	ct, err := ctemplate.NewTemplate(&ctemplate.NewTemplateInput{Contents: text, ExtFuncMap: tm.funcMap()})
	if err != nil {
		b.Fatal(err)
	}
	tm.rec.store = store
	b.Run("consul-template", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			tm.rec.reset()
			if res, err := ct.Execute(&ctemplate.ExecuteInput{Brain: brain}); err != nil || len(res.Output) == 0 {
				b.Fatal(err)
			}
		}
	})
}
