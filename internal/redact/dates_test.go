package redact

import (
	"strings"
	"testing"
)

// Secrets come with timestamps (KV v2's created_time, a token's
// expire_time): a 16-byte piece of one ("2026-12-04T13:47") is in every
// date of that minute. Certificate dates in error messages stay readable;
// the secrets around them are still hidden.
func TestDatesAreNotGarbled(t *testing.T) {
	data := map[string]any{
		"data":     map[string]any{"password": "s3cr3t-passw0rd-1234567", "note": "rotated 2026-12-04T13:47:26Z by ops-team-x"},
		"metadata": map[string]any{"created_time": "2026-12-04T13:47:26.123456789Z", "deletion_time": ""},
		"auth":     map[string]any{"expire_time": "2026-12-04T14:47:26.5+00:00", "issue_time": "2026-12-04 13:47:26 +0000 UTC"},
		"pin":      "12345678901234567890",
	}
	set := New(Strings(data))
	for _, msg := range []string{
		`not published, previous files kept: certificate "a.example.com" is not valid now (valid 2026-12-04T12:47:26Z to 2026-12-04T13:47:26Z)`,
		"x509: certificate has expired or is not yet valid: current time 2026-12-04T14:47:26Z is after 2026-12-04T13:47:26Z",
		"NotAfter: 2026-12-04 13:47:26 +0000 UTC",
		"lease expires 2026-12-04T14:47:26.5+00:00; 123456789012345678 requests",
	} {
		if got := set.Redact(msg); got != msg {
			t.Errorf("garbled:\n got %s\nwant %s", got, msg)
		}
	}
	secret := "password s3cr3t-passw0rd-1234567 pin 12345678901234567890 note rotated 2026-12-04T13:47:26Z by ops-team-x"
	got := set.Redact(secret)
	for _, s := range []string{"s3cr3t-passw0rd", "12345678901234567890", "by ops-team-x"} {
		if strings.Contains(got, s) {
			t.Errorf("%q not hidden: %s", s, got)
		}
	}
}
