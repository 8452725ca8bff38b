package examples

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/rotorproject/rotor/test/harness/pgtest"
	"github.com/rotorproject/rotor/test/harness/vaulttest"
)

// TestCIPipelines runs examples/ci/run.sh: each shipped pipeline's step
// (rotor exec logging in with the job's identity token, psql running the
// migration as a Vault-made user) against a throwaway Vault and
// PostgreSQL, once with tokens from the test harness's JWT issuer and once
// with the tokens the script signs itself (a newcomer's run). The script
// checks that no database user, lease or token file is left; the test
// checks it said so for both pipelines, in order.
func TestCIPipelines(t *testing.T) {
	vault := vaulttest.VaultBin(t)
	base := append(os.Environ(), "PATH="+filepath.Dir(vault)+":"+os.Getenv("PATH"), pgtest.EnvBinDir+"="+pgtest.BinDir(t))
	want := []string{
		"==> gitlab job: write the identity token to vault-id-token, then examples/ci/migrate.sh gitlab",
		"migration 001_orders applied by v-gitlab-",
		"gitlab: the identity token file was read and removed",
		"gitlab: PostgreSQL users left: 0",
		"gitlab: leases left in Vault: 0",
		"==> github job: write the identity token to vault-id-token, then examples/ci/migrate.sh github",
		"migration 001_orders applied by v-github-",
		"github: the identity token file was read and removed",
		"github: PostgreSQL users left: 0",
		"github: leases left in Vault: 0",
		"the table orders is owned by myapp_owner",
	}
	t.Run("harness issuer", func(t *testing.T) {
		j := vaulttest.NewJWTIssuer(t, "https://vault.example.com")
		dir := t.TempDir()
		now := time.Now().Unix()
		files := map[string]string{
			"pubkey.pem": j.PublicKeyPEM,
			// The claims GitLab and GitHub put in a job's token, as far as
			// the Vault roles look at them.
			"gitlab.jwt": j.Sign(t, map[string]any{"iss": "https://gitlab.example.com", "aud": j.Audience,
				"sub": "project_path:mygroup/myapp:ref_type:branch:ref:main", "project_path": "mygroup/myapp",
				"ref": "main", "ref_protected": "true", "iat": now, "nbf": now, "exp": now + 300}),
			"github.jwt": j.Sign(t, map[string]any{"iss": "https://token.actions.githubusercontent.com", "aud": j.Audience,
				"sub": "repo:myorg/myapp:ref:refs/heads/main", "repository": "myorg/myapp", "ref": "refs/heads/main",
				"iat": now, "nbf": now, "exp": now + 300}),
		}
		for name, content := range files {
			if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o600); err != nil {
				t.Fatal(err)
			}
		}
		env := append(base, "ROTOR_CI_JWT_ALG=ES256", "ROTOR_CI_JWT_PUBKEY="+filepath.Join(dir, "pubkey.pem"),
			"ROTOR_CI_GITLAB_JWT="+filepath.Join(dir, "gitlab.jwt"), "ROTOR_CI_GITHUB_JWT="+filepath.Join(dir, "github.jwt"))
		out := runUsedBy(t, "ci", env)
		inOrder(t, out, append([]string{"identity tokens: given (ES256, the test harness's issuer)"}, want...))
		for _, name := range []string{"gitlab.jwt", "github.jwt"} {
			if strings.Contains(out, files[name]) {
				t.Errorf("the script printed the identity token %s", name)
			}
		}
	})
	t.Run("openssl issuer", func(t *testing.T) {
		out := runUsedBy(t, "ci", base)
		inOrder(t, out, append([]string{"identity tokens: signed here with openssl (RS256)"}, want...))
	})
}

func inOrder(t *testing.T, out string, want []string) {
	t.Helper()
	rest := out
	for _, w := range want {
		i := strings.Index(rest, w)
		if i < 0 {
			t.Fatalf("output lacks %q (after the lines checked before it):\n%s", w, out)
		}
		rest = rest[i+len(w):]
	}
}

// The shipped pipelines run the step run.sh runs: the token into
// vault-id-token, then migrate.sh, with the identity token the Vault role
// expects. (Line checks: rotor's module has no YAML parser, and needs none.)
func TestCIPipelineFiles(t *testing.T) {
	for file, want := range map[string][]string{
		"ci/.gitlab-ci.yml": {
			"\nmigrate:\n",
			"\n  id_tokens:\n    VAULT_ID_TOKEN:\n      aud: https://vault.example.com\n",
			"\n    VAULT_ADDR: https://vault.example.com:8200\n",
			"\n  script:\n" +
				"    # The token goes to a file only rotor reads (and removes once read).\n" +
				"    - (umask 077 && printf '%s' \"$VAULT_ID_TOKEN\" > vault-id-token)\n" +
				"    - examples/ci/migrate.sh gitlab\n",
		},
		"ci/github-actions.yml": {
			"\npermissions:\n  id-token: write",
			"\n      VAULT_ADDR: https://vault.example.com:8200\n",
			"\"$ACTIONS_ID_TOKEN_REQUEST_URL&audience=https://vault.example.com\" | jq -r .value > vault-id-token\n",
			"\n      - name: Migrate\n        run: examples/ci/migrate.sh github\n",
		},
	} {
		b, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		if strings.Contains(string(b), "\t") {
			t.Errorf("%s has a tab: YAML indents with spaces", file)
		}
		for _, w := range want {
			if !strings.Contains(string(b), w) {
				t.Errorf("%s lacks %q", file, w)
			}
		}
	}
}
