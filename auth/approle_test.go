package auth

import (
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"

	"github.com/rotorproject/rotor/internal/vaultclient"
	"github.com/rotorproject/rotor/internal/vaulterr"
)

// A wrapped secret_id that Vault refuses to unwrap (400: used, expired,
// or not a wrapping token) is an invalid request, by the type of Vault's
// answer: it is not retried as a transient failure, and redacting the
// error's text does not change that.
func TestAppRoleUnwrapFailureKeepsVaultsClass(t *testing.T) {
	for _, c := range []struct {
		name         string
		lookup, code int
		want         vaulterr.Class
	}{
		{"unwrap answers 400", 200, 400, vaulterr.InvalidRequest},
		{"lookup answers 400", 400, 400, vaulterr.InvalidRequest},
		{"unwrap answers 403", 200, 403, vaulterr.Denied},
		{"unwrap answers 503", 200, 503, vaulterr.Unavailable},
	} {
		t.Run(c.name, func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Type", "application/json")
				switch r.URL.Path {
				case "/v1/sys/wrapping/lookup":
					w.WriteHeader(c.lookup)
					if c.lookup == 200 {
						json.NewEncoder(w).Encode(map[string]any{"data": map[string]any{"creation_path": "auth/approle/role/r/secret-id"}})
						return
					}
				case "/v1/sys/wrapping/unwrap":
					w.WriteHeader(c.code)
				default:
					w.WriteHeader(404)
				}
				json.NewEncoder(w).Encode(map[string]any{"errors": []string{"wrapping token is not valid or does not exist"}})
			}))
			defer srv.Close()
			cl, err := vaultclient.New(vaultclient.Config{Address: srv.URL}, vaultclient.Options{})
			if err != nil {
				t.Fatal(err)
			}
			vaulterr.Prepare(cl)
			dir := t.TempDir()
			role, secret := filepath.Join(dir, "role"), filepath.Join(dir, "secret")
			if err := errors.Join(os.WriteFile(role, []byte("role-id"), 0o600), os.WriteFile(secret, []byte("hvs.wrapping-token"), 0o600)); err != nil {
				t.Fatal(err)
			}
			a := &appRole{mount: "auth/approle", cfg: AppRoleOptions{RoleIDFilePath: role, SecretIDFilePath: secret,
				SecretIDResponseWrappingPath: "auth/approle/role/r/secret-id"}}
			_, err = a.Login(t.Context(), cl)
			if !errors.Is(err, ErrCredentials) {
				t.Fatalf("err %v, want ErrCredentials", err)
			}
			if got := vaulterr.Classify(err); got != c.want {
				t.Fatalf("class %v, want %v (%v)", got, c.want, err)
			}
			if got, _ := vaulterr.Find(vaulterr.Redact(vaulterr.Wrap(err), "[redacted]")); got != c.want {
				t.Fatalf("after redaction: class %v, want %v", got, c.want)
			}
		})
	}
}
