package lease

import (
	"testing"
	"testing/synctest"
	"time"
)

// ValuesVersion changes with every value the store gains or replaces (a
// cached redaction set is rebuilt then), and not with a renewal.
func TestValuesVersionFollowsValues(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		fv := newMemVault()
		fv.role("app", 60*time.Second, 0, true)
		r := startStore(t, fv, Options{})
		defer r.stop(t)
		v0 := r.ValuesVersion()
		ref := creds("app")
		r.fetch(t, ref)
		v1 := r.ValuesVersion()
		if v1 == v0 {
			t.Fatal("a fetched secret left the version as it was")
		}
		sleep(40 * time.Second) // renewed: same values
		if n := len(fv.requests("PUT sys/leases/renew")); n != 1 {
			t.Fatalf("%d renewals", n)
		}
		if v := r.ValuesVersion(); v != v1 {
			t.Fatal("a renewal changed the version")
		}
		old := r.value(t, ref).Data["password"]
		r.Rotate(nil)
		synctest.Wait()
		if r.value(t, ref).Data["password"] == old {
			t.Fatal("the rotation did not replace the secret")
		}
		if v := r.ValuesVersion(); v == v1 {
			t.Fatal("a replaced secret left the version as it was")
		}
	})
}
