package template

import (
	"testing"
	"time"

	"github.com/rotorproject/rotor/internal/clock"
	"github.com/rotorproject/rotor/lease"
)

// wait { min, max }: a change is rendered min after the last change of a
// burst, but never later than max after the first.
func TestWaitMinMax(t *testing.T) {
	fc := clock.NewFake(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	cfgs := []Spec{
		{Contents: `{{ with secret "kv/a" }}{{ .Data.x }}{{ end }}`, Destination: "/tmp/rotor-wait-a", WaitMin: 2 * time.Second, WaitMax: 5 * time.Second},
		{Contents: `{{ with secret "kv/b" }}{{ .Data.x }}{{ end }}`, Destination: "/tmp/rotor-wait-b"},
	}
	r, err := New(cfgs, nil, Options{Store: lease.NewStore(lease.Options{}), Clock: fc})
	if err != nil {
		t.Fatal(err)
	}
	a, b := r.tmpls[0], r.tmpls[1]
	a.used = map[string]lease.Ref{"read:kv/a": {}}
	b.used = map[string]lease.Ref{"read:kv/b": {}}
	t0 := fc.Now()

	r.Notify([]string{"read:kv/a", "read:kv/b"})
	r.markChanged()
	if !a.dirty || !a.dueAt.Equal(t0.Add(2*time.Second)) {
		t.Fatalf("a due at +%v, want +2s", a.dueAt.Sub(t0))
	}
	if !b.dirty || !b.dueAt.Equal(t0) {
		t.Fatalf("b (no wait) due at +%v, want now", b.dueAt.Sub(t0))
	}
	// More changes keep pushing a back by min...
	fc.Advance(1500 * time.Millisecond)
	r.Notify([]string{"read:kv/a"})
	r.markChanged()
	if want := t0.Add(3500 * time.Millisecond); !a.dueAt.Equal(want) {
		t.Fatalf("a due at +%v, want +3.5s", a.dueAt.Sub(t0))
	}
	// ...but never past max after the first change.
	fc.Advance(2 * time.Second)
	r.Notify([]string{"read:kv/a"})
	r.markChanged()
	if want := t0.Add(5 * time.Second); !a.dueAt.Equal(want) {
		t.Fatalf("a due at +%v, want the +5s cap", a.dueAt.Sub(t0))
	}
	// A change to a secret no template uses marks nothing.
	b.dirty = false
	r.Notify([]string{"read:kv/other"})
	r.markChanged()
	if b.dirty {
		t.Fatal("an unrelated change made a template dirty")
	}
}
