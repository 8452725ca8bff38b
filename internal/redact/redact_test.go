package redact

import (
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"testing"
)

const pemKey = `-----BEGIN PRIVATE KEY-----
MIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQC7VJTUt9Us8cKj
MzEfYyjiWA4R4/M2bS1GB4t7NXp98C3SC6dVMvDuictGeurT8jNbvJZHtCSuYEvu
NMoSfm76oqFvAp8Gy0iz5sxjZmSnXyCdPEovGhLa0VzMaQ8s+CLOyS56YyCFGeJZ
-----END PRIVATE KEY-----
`

// leaks reports a Window-byte piece of secret found in text.
func leaks(text, secret string) string {
	for i := 0; i+Window <= len(secret); i++ {
		if strings.Contains(text, secret[i:i+Window]) {
			return secret[i : i+Window]
		}
	}
	return ""
}

func TestRedactHidesEveryForm(t *testing.T) {
	pw := `pa"ss\word-with-quotes-and-more`
	js := `{"client_secret":"s3cr3t-0123456789abcdef"}`
	set := New(slices.Values([]string{pemKey, pw, js, "short1"}))
	q := func(s string) string { return strconv.Quote(s) }
	j := func(s string) string { b, _ := json.Marshal(s); return string(b) }
	cases := map[string]string{
		"parseInt quotes its input": fmt.Sprintf("strconv.ParseInt: parsing %s: invalid syntax", q(pemKey)),
		"JSON":                      "value " + j(pw),
		"JSON of JSON":              "value " + j(js),
		"trimmed":                   "output: " + strings.TrimSpace(pemKey) + " end",
		"cut at the end":            "log: " + pemKey[:len(pemKey)/2],
		"cut at the start":          pemKey[len(pemKey)/3:] + " tail",
		"one line":                  "line " + strings.Split(pemKey, "\n")[2] + " tail",
		"quoted password":           "bad " + q(pw),
		"raw":                       pw,
	}
	for name, text := range cases {
		got := set.Redact(text)
		for _, secret := range []string{pemKey, pw, js} {
			if l := leaks(got, secret); l != "" {
				t.Errorf("%s: %q survives in %q", name, l, got)
			}
		}
		if !strings.Contains(got, Mask) {
			t.Errorf("%s: nothing redacted in %q", name, got)
		}
	}
	if got := set.Redact("user short1 failed"); got != "user "+Mask+" failed" {
		t.Errorf("short value: %q", got)
	}
	if got := set.Redact("nothing secret here, at all"); got != "nothing secret here, at all" {
		t.Errorf("clean text changed: %q", got)
	}
	// Adjacent pieces merge into one mask.
	if got := set.Redact(pw + pw); strings.Count(got, Mask) != 1 {
		t.Errorf("adjacent values give %q", got)
	}
}

func TestStringsSkipsNonStrings(t *testing.T) {
	data := map[string]any{"a": "x1", "n": 12345678, "l": []any{"x2", true}, "m": map[string]any{"x": "x3"}}
	got := slices.Sorted(Strings(data))
	if !slices.Equal(got, []string{"x1", "x2", "x3"}) {
		t.Fatalf("got %v", got)
	}
}

func FuzzRedact(f *testing.F) {
	f.Add(pemKey, "prefix %s suffix")
	f.Add(`p"w\n0123456789abcdef`, "%q")
	f.Fuzz(func(t *testing.T, secret, format string) {
		if len(secret) < Window || strings.Contains(secret, Mask) || strings.Count(format, "%") != 1 ||
			!strings.Contains(format, "%s") && !strings.Contains(format, "%q") {
			return
		}
		set := New(slices.Values([]string{secret}))
		if l := leaks(set.Redact(fmt.Sprintf(format, secret)), secret); l != "" {
			t.Fatalf("%q survives", l)
		}
	})
}

// TestAddWhileRedacting: values added to a Set in use are hidden from
// then on, and adding races with nothing (run with -race).
func TestAddWhileRedacting(t *testing.T) {
	set := New(slices.Values([]string{"first-secret-0123456789"}))
	done := make(chan struct{})
	go func() {
		defer close(done)
		for range 100 {
			set.Redact("first-secret-0123456789 and second-secret-0123456789")
		}
	}()
	set.Add(slices.Values([]string{"second-secret-0123456789", "first-secret-0123456789"}))
	<-done
	if got := set.Redact("a second-secret-0123456789 b"); got != "a "+Mask+" b" {
		t.Errorf("added value: %q", got)
	}
	n := set.Len()
	set.Add(slices.Values([]string{"second-secret-0123456789"}))
	if set.Len() != n {
		t.Errorf("adding a value again grew the set from %d to %d forms", n, set.Len())
	}
}
