package state

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

type payload struct{ Token, Note string }

func TestSaveLoadAndRefusals(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "state")
	f, err := Open(dir, []byte("key-one"), "http://vault:8200|auth/approle")
	if err != nil {
		t.Fatal(err)
	}
	var got payload
	if err := f.Load(&got); !errors.Is(err, ErrNone) {
		t.Fatalf("missing file: %v", err)
	}
	if err := f.Save(payload{Token: "hvs.secret-token-value", Note: "x"}); err != nil {
		t.Fatal(err)
	}
	raw, _ := os.ReadFile(f.Path())
	if strings.Contains(string(raw), "secret-token-value") {
		t.Fatal("the token is readable in the file")
	}
	if st, _ := os.Stat(f.Path()); st.Mode().Perm() != 0o600 {
		t.Fatalf("mode %v", st.Mode().Perm())
	}
	if st, _ := os.Stat(dir); st.Mode().Perm() != 0o700 {
		t.Fatalf("dir mode %v", st.Mode().Perm())
	}
	if err := f.Load(&got); err != nil || got.Token != "hvs.secret-token-value" {
		t.Fatalf("round trip: %v %+v", err, got)
	}
	other, _ := Open(dir, []byte("key-two"), "http://vault:8200|auth/approle")
	if err := other.Load(&got); !errors.Is(err, ErrForeign) {
		t.Fatalf("other key: %v", err)
	}
	elsewhere, _ := Open(dir, []byte("key-one"), "http://other:8200|auth/approle")
	if err := elsewhere.Load(&got); !errors.Is(err, ErrForeign) {
		t.Fatalf("other Vault: %v", err)
	}
	os.WriteFile(f.Path(), []byte("{not json"), 0o600)
	if err := f.Load(&got); !errors.Is(err, ErrCorrupt) {
		t.Fatalf("corrupt: %v", err)
	}
	if err := f.Remove(); err != nil {
		t.Fatal(err)
	}
}

func TestKeyMaterial(t *testing.T) {
	env := func(k string) (string, bool) {
		if k == "ROTOR_STATE_KEY" {
			return "from-env", true
		}
		return "", false
	}
	if k, err := KeyMaterial("", "ROTOR_STATE_KEY", false, env); err != nil || string(k) != "from-env" {
		t.Fatalf("%q %v", k, err)
	}
	if _, err := KeyMaterial("", "MISSING", false, env); err == nil || !strings.Contains(err.Error(), "MISSING") {
		t.Fatalf("missing env: %v", err)
	}
	p := filepath.Join(t.TempDir(), "key")
	os.WriteFile(p, []byte("file-key\n"), 0o600)
	if k, err := KeyMaterial(p, "", false, env); err != nil || string(k) != "file-key" {
		t.Fatalf("%q %v", k, err)
	}
	if k, err := KeyMaterial(p, "", true, env); err != nil || string(k) != "file-key" {
		t.Fatalf("kubernetes token at a path: %q %v", k, err)
	}
}
