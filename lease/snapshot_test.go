package lease

import (
	"encoding/json"
	"errors"
	"net/url"
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestStateFormatRoundTrip(t *testing.T) {
	in := []SecretState{{
		Ref:     Ref{Kind: KindWrite, Path: "pki/issue/web", Data: map[string]string{"common_name": "a"}},
		Secret:  &Secret{RequestID: "r", LeaseID: "pki/issue/web/x", LeaseDuration: 3600, Renewable: false, Data: map[string]any{"serial": "1", "n": json.Number("12345678901234567890")}},
		Timing:  Timing{Class: ClassCert, Issued: t0, NotBefore: t0, NotAfter: t0.Add(time.Hour), OwnerDeath: t0.Add(time.Minute)},
		LeaseID: "pki/issue/web/x", LeaseTTL: time.Hour,
	}, {
		Ref:  Ref{Kind: KindList, Path: "secret/", Query: url.Values{"v": {"2"}}},
		List: []string{"a", "b"}, Timing: Timing{Class: ClassStatic, Issued: t0},
	}}
	b, err := json.Marshal(SavedSecrets{Secrets: in})
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{`"version":2`, `"kind":"write"`, `"class":"cert"`, `"owner_death"`, `"lease_ttl_ns"`, `"lease_duration":3600`, `"not_after"`} {
		if !strings.Contains(string(b), name) {
			t.Errorf("%s missing from %s", name, b)
		}
	}
	for _, foreign := range []string{`"LeaseDuration"`, `"Timing"`, `"Expires"`} {
		if strings.Contains(string(b), foreign) {
			t.Errorf("Go field name %s on disk: %s", foreign, b)
		}
	}
	var out SavedSecrets
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatal(err)
	}
	if err := out.Check(); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(out.Secrets, in) {
		t.Fatalf("round trip:\n got %+v\nwant %+v", out.Secrets, in)
	}
}

// A state file written by an earlier rotor (a bare list with
// consul-template's field names) or by a later one is refused whole,
// with both versions named, never misread.
func TestStateFormatRefusesOtherVersions(t *testing.T) {
	for _, c := range []struct {
		name, json string
		found      int
	}{
		{"unversioned list of earlier rotors", `[{"Ref":{"Kind":0,"Path":"secret/x"},"Secret":{"LeaseDuration":0,"Data":{"v":"1"}},"Timing":{"Class":0}}]`, 1},
		{"a later format", `{"version":3,"secrets":[{"something":"else"}]}`, 3},
	} {
		t.Run(c.name, func(t *testing.T) {
			var s SavedSecrets
			if err := json.Unmarshal([]byte(c.json), &s); err != nil {
				t.Fatalf("unmarshal failed instead of reporting the version: %v", err)
			}
			var ve *VersionError
			if err := s.Check(); !errors.As(err, &ve) || ve.Found != c.found || ve.Want != StateVersion || len(s.Secrets) != 0 {
				t.Fatalf("Check() = %v, secrets %d", err, len(s.Secrets))
			}
			if want := "format version " + string(rune('0'+c.found)) + ", this rotor reads 2"; s.Check().Error() != want {
				t.Fatalf("%q, want %q", s.Check(), want)
			}
		})
	}
	var none SavedSecrets
	if err := json.Unmarshal([]byte("null"), &none); err != nil || none.Check() != nil {
		t.Fatalf("no secrets: %v %v", err, none.Check())
	}
}
