package agent

import (
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/vault/api"
	"github.com/rotorproject/rotor/ops"
	"github.com/rotorproject/rotor/template"
	"github.com/rotorproject/rotor/test/harness/nginxtest"
	"github.com/rotorproject/rotor/test/harness/pgtest"
	"github.com/rotorproject/rotor/test/harness/vaulttest"
)

// leasesUnder lists the lease IDs Vault holds under prefix (root).
func leasesUnder(t *testing.T, root *api.Client, prefix string) []string {
	t.Helper()
	sec, err := root.Logical().List("sys/leases/lookup/" + prefix)
	if err != nil {
		t.Fatalf("list leases under %s: %v", prefix, err)
	}
	var out []string
	if sec != nil {
		keys, _ := sec.Data["keys"].([]any)
		for _, k := range keys {
			out = append(out, prefix+fmt.Sprint(k))
		}
	}
	return out
}

// leaseAlive reports whether Vault still has the lease (root's lookup).
func leaseAlive(root *api.Client, id string) error {
	_, err := root.Logical().Write("sys/leases/lookup", map[string]any{"lease_id": id})
	return err
}

// templateStatus is one template's status as the agent reports it.
func templateStatus(r *running, name string) template.Status {
	for _, s := range r.agent.Status().Templates {
		if s.Name == name {
			return s
		}
	}
	return template.Status{}
}

func waitConfirm(t *testing.T, r *running, name, want string, timeout time.Duration) template.Status {
	t.Helper()
	var st template.Status
	vaulttest.Eventually(t, timeout, func() error {
		if st = templateStatus(r, name); st.Confirm != want {
			return fmt.Errorf("confirm %q (%s: %s), want %q", st.Confirm, st.ConfirmClass, st.ConfirmErr, want)
		}
		return nil
	})
	return st
}

// leafSerialInt is the serial of the file's first certificate.
func leafSerialInt(t *testing.T, crt string) *big.Int {
	t.Helper()
	v, ok := new(big.Int).SetString(leafSerial(t, crt), 10)
	if !ok {
		t.Fatalf("%s holds no certificate", crt)
	}
	return v
}

// envCreds parses NAME='value' lines.
func envCreds(s string) map[string]string {
	m := creds(s)
	for k, v := range m {
		m[k] = strings.Trim(v, "'")
	}
	return m
}

// shellQuote quotes argv for sh -c.
func shellQuote(argv []string) string {
	q := make([]string, len(argv))
	for i, a := range argv {
		q[i] = "'" + strings.ReplaceAll(a, "'", `'\''`) + "'"
	}
	return strings.Join(q, " ")
}

// rotor rotate revokes replaced leases: sys/leases/revoke.
const confirmPKIPolicy = `
path "pki_int/issue/web-servers" { capabilities = ["create", "update"] }
path "sys/leases/revoke" { capabilities = ["update"] }`

// nginxConfirm runs nginx (on a self-signed certificate) and rotor
// rendering a PKI certificate and key (generate_lease) for it, with
// reload as the group's shell command and a tls confirm block, and waits
// until the first publish is confirmed.
func nginxConfirm(t *testing.T, reload func(n *nginxtest.Nginx, dir string) string) (*running, *api.Client, *nginxtest.Nginx, string, string) {
	t.Helper()
	srv := vaulttest.Start(t)
	root := srv.Client(t)
	vaulttest.SetupPKI(t, root, "720h", map[string]any{"generate_lease": true})
	dir := t.TempDir()
	crt, key := filepath.Join(dir, "server.crt"), filepath.Join(dir, "server.key")
	nginxtest.WriteSelfSigned(t, crt, key)
	n := nginxtest.Start(t, crt, key)
	cmd := reload(n, dir)
	issue := `{{ with secret "pki_int/issue/web-servers" "common_name=api.internal.example.com" "ttl=1h" }}`
	r := startAgent(t, srv, appRoleAuth(t, root, confirmPKIPolicy, nil)+fmt.Sprintf(`
listener "tcp" {
  address = "127.0.0.1:0"
}
template {
  contents    = %q
  destination = %q
  command     = %q
  confirm {
    tls         = %q
    server_name = "api.internal.example.com"
    timeout     = "6s"
    interval    = "250ms"
  }
}
template {
  contents    = %q
  destination = %q
  perms       = "0600"
  command     = %q
}`, issue+"{{ .Data.certificate }}{{ end }}", crt, cmd, n.Addr, issue+"{{ .Data.private_key }}{{ end }}", key, cmd))
	waitConfirm(t, r, crt, template.ConfirmConfirmed, 30*time.Second)
	// Old workers finishing their connections may still answer for a
	// moment after a reload: nginx serves the new certificate from now on.
	n.WaitServedSerial(t, leafSerialInt(t, crt), 5*time.Second)
	return r, root, n, crt, dir
}

// A reload command that does nothing (after the first start): the new
// certificate is reported unconfirmed within the timeout, the previous
// lease (which rotor rotate would otherwise revoke) is still alive, the
// reload command ran again, and /readyz and the status say why.
func TestConfirmCatchesNginxNotReloading(t *testing.T) {
	r, root, n, crt, dir := nginxConfirm(t, func(n *nginxtest.Nginx, dir string) string {
		// Reloads nginx the first time only, then stands for a broken
		// reload: it exits 0 and does nothing.
		once, count := filepath.Join(dir, "once"), filepath.Join(dir, "reloads")
		return fmt.Sprintf("[ -e %s ] || { %s && touch %s; }; echo reload >> %s", once, shellQuote(n.ReloadCommand()), once, count)
	})
	reloads := filepath.Join(dir, "reloads")
	before := strings.Count(readFile(t, reloads), "\n")
	old := leasesUnder(t, root, "pki_int/issue/web-servers/")
	if len(old) != 1 {
		t.Fatalf("leases before the rotation: %v", old)
	}
	servedBefore := n.ServedCert(t).SerialNumber.String()
	rotated := time.Now()
	if n := r.agent.Rotate("pki_int"); n != 1 {
		t.Fatalf("rotate scheduled %d", n)
	}
	st := waitConfirm(t, r, crt, template.ConfirmUnconfirmed, 15*time.Second)
	if took := time.Since(rotated); took > 6*time.Second+3*time.Second {
		t.Errorf("reported unconfirmed %v after the rotation; the timeout is 6s", took)
	}
	if st.ConfirmClass != template.ConfirmOldCertificate || !strings.Contains(st.ConfirmErr, "serves certificate serial") {
		t.Fatalf("status %+v", st)
	}
	if got := n.ServedCert(t).SerialNumber.String(); got != servedBefore || leafSerial(t, crt) == servedBefore {
		t.Fatalf("nginx serves %s (before %s), file %s: the test's reload was not a no-op", got, servedBefore, leafSerial(t, crt))
	}
	// The publish ran the command once, the escalation twice more (at
	// 1/3 and 2/3 of the timeout).
	if got := strings.Count(readFile(t, reloads), "\n") - before; got != 3 {
		t.Fatalf("reload command ran %d times after the rotation, want 3", got)
	}
	if err := leaseAlive(root, old[0]); err != nil {
		t.Fatalf("the previous lease was revoked while its consumer is unconfirmed: %v", err)
	}
	base := "http://" + r.agent.ListenAddrs()[0]
	code, body := get(t, "GET", base+"/readyz")
	var ready struct {
		Ready    bool
		Degraded map[string]ops.ErrorInfo
	}
	if err := json.Unmarshal([]byte(body), &ready); err != nil || code != 200 {
		t.Fatalf("readyz %d %s", code, body)
	}
	if d := ready.Degraded[crt]; d.Class != ops.ClassUnconfirmed || d.Reason != template.ConfirmOldCertificate {
		t.Fatalf("readyz does not say why: %s", body)
	}
	code, body = get(t, "GET", base+"/agent/v1/status")
	var view ops.StatusView
	if err := json.Unmarshal([]byte(body), &view); err != nil || code != 200 {
		t.Fatalf("status %d %s", code, body)
	}
	i := slices.IndexFunc(view.Templates, func(v ops.TemplateView) bool { return v.Name == crt })
	if i < 0 || view.Templates[i].ConfirmText() != "published, not confirmed (old_certificate)" || view.Templates[i].ConfirmFailures != 1 {
		t.Fatalf("status: %s", body)
	}
	if len(view.HeldLeases) != 1 || !view.HeldLeases[0].Revoke || strings.Contains(body, old[0]) {
		t.Fatalf("held leases in status: %s", body)
	}
	_, metrics := get(t, "GET", base+"/agent/v1/metrics")
	for _, want := range []string{
		fmt.Sprintf(`rotor_unconfirmed{template=%q} 1`, crt),
		fmt.Sprintf(`rotor_confirm_failures_total{template=%q} 1`, crt),
		"rotor_held_leases 1",
	} {
		if !strings.Contains(metrics, want) {
			t.Errorf("metrics lack %s", want)
		}
	}
}

// A working reload: the new certificate is confirmed (nginx serves it),
// and only then is the old lease let go (revoked: rotor rotate asked).
func TestConfirmedNginxReloadReleasesTheOldLease(t *testing.T) {
	r, root, n, crt, _ := nginxConfirm(t, func(n *nginxtest.Nginx, _ string) string { return shellQuote(n.ReloadCommand()) })
	old := leasesUnder(t, root, "pki_int/issue/web-servers/")
	if len(old) != 1 {
		t.Fatalf("leases before the rotation: %v", old)
	}
	first := leafSerial(t, crt)
	rotated := time.Now()
	r.agent.Rotate("pki_int")
	vaulttest.Eventually(t, 20*time.Second, func() error {
		if st := templateStatus(r, crt); st.Confirm != template.ConfirmConfirmed || !st.ConfirmedAt.After(rotated) {
			return fmt.Errorf("status %+v", st)
		}
		return nil
	})
	if leafSerial(t, crt) == first {
		t.Fatal("confirmed, but the file was not rotated")
	}
	n.WaitServedSerial(t, leafSerialInt(t, crt), 5*time.Second)
	vaulttest.Eventually(t, 10*time.Second, func() error {
		if leaseAlive(root, old[0]) == nil {
			return errors.New("the old lease is still alive")
		}
		return nil
	})
	logs := r.logs.String()
	confirmed := strings.LastIndex(logs, "consumer confirmed on the new files")
	released := strings.Index(logs, "superseded lease released")
	if released < 0 || confirmed < 0 || released < confirmed {
		t.Fatalf("the old lease must be let go after the confirmation (confirmed at %d, released at %d)", confirmed, released)
	}
	if len(r.agent.store.Held()) != 0 {
		t.Fatalf("still held: %+v", r.agent.store.Held())
	}
}

// PostgreSQL: two templates with dynamic users of 4s leases. One checks
// its new user with psql and is confirmed: its old user is dropped then
// (rotor rotate's revocation, after the confirmation). The other's check
// fails: its old user, whose lease rotor rotate would have revoked and
// which would otherwise end 4s after its last renewal, still logs in long
// after, its lease renewed.
func TestConfirmDatabaseUserRotation(t *testing.T) {
	srv := vaulttest.Start(t)
	root := srv.Client(t)
	pg := pgtest.Start(t)
	pgtest.SetupVaultDatabase(t, root, pg, "4s", "10m")
	if _, err := root.Logical().Write("database/roles/second", map[string]any{"db_name": pgtest.ConnectionName,
		"creation_statements": pgtest.CreationStatements, "revocation_statements": pgtest.RevocationStatements,
		"renew_statements": pgtest.RenewStatements, "default_ttl": "4s", "max_ttl": "10m"}); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	good, bad, badReloads := filepath.Join(dir, "good.env"), filepath.Join(dir, "bad.env"), filepath.Join(dir, "bad-reloads")
	psql := filepath.Join(pgtest.BinDir(t), "psql")
	check := fmt.Sprintf(`. %s && PGPASSWORD="$DB_PASSWORD" PGSSLMODE=disable PGCONNECT_TIMEOUT=5 %s -X -q -A -t -h %s -p %d -U "$DB_USER" -d %s -c 'SELECT 1'`,
		good, psql, pg.Host, pg.Port, pgtest.Database)
	env := func(role string) string {
		return fmt.Sprintf(`{{ with secret "database/creds/%s" }}DB_USER='{{ .Data.username }}'
DB_PASSWORD='{{ .Data.password }}'
{{ end }}`, role)
	}
	r := startAgent(t, srv, appRoleAuth(t, root, `
path "database/creds/myapp-readonly" { capabilities = ["read"] }
path "database/creds/second" { capabilities = ["read"] }
path "sys/leases/revoke" { capabilities = ["update"] }`, nil)+fmt.Sprintf(`
template {
  contents    = %q
  destination = %q
  perms       = "0600"
  confirm {
    command  = ["sh", "-c", %q]
    timeout  = "20s"
    interval = "250ms"
  }
}
template {
  contents    = %q
  destination = %q
  perms       = "0600"
  command     = "echo reload >> %s"
  confirm {
    command  = "false"
    timeout  = "3s"
    interval = "250ms"
    reloads  = 1
  }
}`, env(pgtest.DynamicRole), good, check, env("second"), bad, badReloads))
	waitConfirm(t, r, good, template.ConfirmConfirmed, 30*time.Second)
	waitConfirm(t, r, bad, template.ConfirmUnconfirmed, 30*time.Second)
	goodOld, badOld := envCreds(readFile(t, good)), envCreds(readFile(t, bad))
	goodLeases, badLeases := leasesUnder(t, root, "database/creds/myapp-readonly/"), leasesUnder(t, root, "database/creds/second/")
	if len(goodLeases) != 1 || len(badLeases) != 1 {
		t.Fatalf("leases: %v %v", goodLeases, badLeases)
	}
	rotated := time.Now()
	if n := r.agent.Rotate(""); n != 2 {
		t.Fatalf("rotate scheduled %d", n)
	}
	// The good template: confirmed with its new user, the old one dropped.
	vaulttest.Eventually(t, 20*time.Second, func() error {
		if st := templateStatus(r, good); st.Confirm != template.ConfirmConfirmed || !st.ConfirmedAt.After(rotated) {
			return fmt.Errorf("status %+v", st)
		}
		return nil
	})
	goodNew := envCreds(readFile(t, good))
	if goodNew["DB_USER"] == goodOld["DB_USER"] {
		t.Fatal("not rotated")
	}
	vaulttest.Eventually(t, 10*time.Second, func() error {
		if pg.CanLogin(goodOld["DB_USER"], goodOld["DB_PASSWORD"]) == nil {
			return errors.New("the confirmed template's old user still logs in")
		}
		return nil
	})
	// The bad template: unconfirmed; its old user lives on well past its
	// 4s lease, renewed, and rotor rotate did not revoke it.
	waitConfirm(t, r, bad, template.ConfirmUnconfirmed, 20*time.Second)
	if envCreds(readFile(t, bad))["DB_USER"] == badOld["DB_USER"] {
		t.Fatal("the unconfirmed template was not rotated")
	}
	vaulttest.Eventually(t, 30*time.Second, func() error {
		if since := time.Since(rotated); since < 12*time.Second {
			return fmt.Errorf("only %v since the rotation", since)
		}
		return nil
	})
	if err := pg.CanLogin(badOld["DB_USER"], badOld["DB_PASSWORD"]); err != nil {
		t.Fatalf("the unconfirmed template's old user was dropped under it: %v", err)
	}
	if err := leaseAlive(root, badLeases[0]); err != nil {
		t.Fatalf("its lease is gone: %v", err)
	}
	if n := strings.Count(readFile(t, badReloads), "\n"); n < 3 {
		t.Fatalf("the reload command ran %d times: not again by the escalation", n)
	}
	held := r.agent.store.Held()
	if len(held) != 1 || held[0].Path != "database/creds/second" || !held[0].Renewable {
		t.Fatalf("held: %+v", held)
	}
}
