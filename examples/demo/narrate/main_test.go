package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// Each event rotor logs becomes one line; the database file gives only
// its user; other records and unknown fields are not printed.
func TestNarration(t *testing.T) {
	dir := t.TempDir()
	db := filepath.Join(dir, "db.env")
	os.WriteFile(db, []byte("PGHOST=127.0.0.1\nPGUSER=v-approle-myapp-re-abc-1\nPGPASSWORD=A1a-not-to-be-shown\n"), 0o600)
	var out strings.Builder
	n := &narrator{out: &out, status: newStatusClient(""), db: db}
	for _, l := range []string{
		`{"level":"INFO","msg":"authenticated","component":"auth","accessor":"acc1","ttl":30000000000}`,
		`{"level":"INFO","msg":"template rendered","component":"template","template":"` + db + `","changed":true}`,
		`{"level":"INFO","msg":"template rendered","component":"template","template":"` + db + `","changed":false}`,
		`{"level":"DEBUG","msg":"lease renewed","component":"lease","secret":"database/creds/ro","ttl":30000000000,"capped":false}`,
		`{"level":"WARN","msg":"lease renewal failed; fetching a new secret","component":"lease","secret":"database/creds/ro","error":"Error making API request.\n\nURL: PUT http://127.0.0.1/v1/sys/leases/renew\nCode: 400. Errors:\n\n* lease not found"}`,
		`{"level":"DEBUG","msg":"secret refreshed","component":"lease","secret":"database/creds/ro","changed":true,"class":"lease"}`,
		`{"level":"DEBUG","msg":"secret refreshed","component":"lease","secret":"secret/app","changed":false,"class":"static"}`,
		`{"level":"INFO","msg":"reload command succeeded","component":"template","command":"/work/examples/demo/dbcheck.sh /tmp/x/db.env /usr/lib/postgresql/15/bin/psql","duration":23000000}`,
		`{"level":"DEBUG","msg":"reload command output","component":"template","output":"[redacted]"}`,
		`{"level":"INFO","msg":"something else","password":"A1a-not-to-be-shown"}`,
	} {
		n.line([]byte(l))
	}
	got := out.String()
	for _, want := range []string{
		"login     logged in to Vault: token acc1, TTL 30s",
		"wrote     " + db + ": PostgreSQL user v-approle-myapp-re-abc-1 (password not shown), lease expires in ?\n",
		"renewed   database/creds/ro: lease extended, expires in ?\n",
		"refused   database/creds/ro: Vault refused the renewal (lease not found): fetching new credentials\n",
		"rotated   database/creds/ro: new credentials from Vault",
		"reload    ran dbcheck.sh db.env psql (exit 0, 23ms)\n",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("narration lacks %q:\n%s", want, got)
		}
	}
	if strings.Contains(got, "A1a-not-to-be-shown") || strings.Contains(got, "something else") || strings.Count(got, "wrote") != 1 || strings.Contains(got, "secret/app") {
		t.Errorf("narration shows what it must not:\n%s", got)
	}
}
