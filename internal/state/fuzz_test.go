package state

import (
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// FuzzLoad feeds arbitrary bytes to Open and Load as the state file. They
// must never panic, and the only errors are the "start fresh" ones the
// agent expects: ErrNone, ErrCorrupt (ErrOldFormat) or ErrForeign. The
// seed corpus (testdata/fuzz/FuzzLoad) holds a valid file for this key,
// a version 1 file, and envelopes with wrong fields; run it with
// go test -fuzz=FuzzLoad ./internal/state.
func FuzzLoad(f *testing.F) {
	key := testKey(f, "fuzz-key")
	f.Add([]byte(`{"version":2,"kdf":{"name":"hkdf-sha256","salt":"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="},"nonce":"AAAAAAAAAAAAAAAA","data":"AAAA"}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		dir := t.TempDir()
		if err := os.WriteFile(filepath.Join(dir, FileName), data, 0o600); err != nil {
			t.Fatal(err)
		}
		sf, err := Open(dir, key, "http://127.0.0.1:8200|approle")
		if err != nil {
			t.Fatalf("Open: %v", err)
		}
		var snap struct {
			Token   map[string]any
			Secrets []map[string]any
		}
		err = sf.Load(&snap)
		if err != nil && !errors.Is(err, ErrCorrupt) && !errors.Is(err, ErrForeign) && !errors.Is(err, ErrNone) {
			t.Fatalf("Load returned an unexpected error class: %v", err)
		}
	})
}

// The corpus's valid file must stay valid, or the fuzzer would only ever
// explore the refusals.
func TestFuzzCorpusHasAValidFile(t *testing.T) {
	b, err := os.ReadFile("testdata/fuzz/FuzzLoad/valid-v2")
	if err != nil {
		t.Fatal(err)
	}
	s := string(b)
	start, end := strings.Index(s, "[]byte("), strings.LastIndex(s, ")")
	content, err := strconv.Unquote(s[start+len("[]byte(") : end])
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, FileName), []byte(content), 0o600)
	sf, err := Open(dir, testKey(t, "fuzz-key"), "http://127.0.0.1:8200|approle")
	if err != nil {
		t.Fatal(err)
	}
	var snap map[string]any
	if err := sf.Load(&snap); err != nil || snap["Token"] == nil {
		t.Fatalf("the corpus's valid file does not load: %v", err)
	}
}
