package agent

import (
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/ecdh"
	"crypto/rand"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/vault/api"
	"github.com/rotorproject/rotor/agent/config"
	"github.com/rotorproject/rotor/test/harness/awstest"
	"github.com/rotorproject/rotor/test/harness/vaulttest"
	"golang.org/x/crypto/hkdf"
)

// startAgentEnv is startAgent with more variables in the configuration's
// environment (aad_env_var reads one).
func startAgentEnv(t *testing.T, srv *vaulttest.Server, hcl string, extra map[string]string) *running {
	t.Helper()
	p := filepath.Join(t.TempDir(), "rotor.hcl")
	if err := os.WriteFile(p, []byte(hcl), 0o600); err != nil {
		t.Fatal(err)
	}
	env := map[string]string{"VAULT_ADDR": srv.Addr}
	for k, v := range extra {
		env[k] = v
	}
	cfg, err := config.Load([]string{p}, func(k string) (string, bool) { v, ok := env[k]; return v, ok })
	if err != nil {
		t.Fatalf("config: %v", err)
	}
	logs := &vaulttest.Buffer{}
	a, err := New(cfg, Options{Logger: slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))})
	if err != nil {
		t.Fatalf("agent.New: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	r := &running{agent: a, logs: logs, cancel: cancel, done: make(chan struct{})}
	go func() { r.err = a.Run(ctx); close(r.done) }()
	t.Cleanup(func() {
		cancel()
		<-r.done
		if t.Failed() {
			t.Logf("agent logs:\n%s", logs)
		}
	})
	return r
}

// dhReader is an application reading an encrypted sink, decrypting with
// Vault's documented scheme on its own (x/crypto's HKDF, crypto/ecdh).
type dhReader struct {
	key     *ecdh.PrivateKey
	keyFile string
}

func newDHReader(t *testing.T, dir string) *dhReader {
	t.Helper()
	k, err := ecdh.X25519().GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return &dhReader{key: k, keyFile: filepath.Join(dir, "dh.json")}
}

// publish writes the reader's public key where the sink's dh_path points.
func (r *dhReader) publish(t *testing.T) {
	t.Helper()
	b, _ := json.Marshal(map[string][]byte{"curve25519_public_key": r.key.PublicKey().Bytes()})
	if err := os.WriteFile(r.keyFile, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

func (r *dhReader) open(t *testing.T, sinkFile string, derive bool, aad string) string {
	t.Helper()
	var env struct {
		Pub     []byte `json:"curve25519_public_key"`
		Nonce   []byte `json:"nonce"`
		Payload []byte `json:"encrypted_payload"`
	}
	if err := json.Unmarshal([]byte(readSink(t, sinkFile)), &env); err != nil {
		t.Fatalf("the sink is not an encrypted envelope: %v", err)
	}
	pub, err := ecdh.X25519().NewPublicKey(env.Pub)
	if err != nil {
		t.Fatal(err)
	}
	key, err := r.key.ECDH(pub)
	if err != nil {
		t.Fatal(err)
	}
	if derive {
		salt, info := env.Pub, r.key.PublicKey().Bytes()
		if string(salt) > string(info) {
			salt, info = info, salt
		}
		k := make([]byte, 32)
		io.ReadFull(hkdf.New(sha256.New, key, salt, info), k)
		key = k
	}
	block, _ := aes.NewCipher(key)
	gcm, _ := cipher.NewGCM(block)
	pt, err := gcm.Open(nil, env.Nonce, env.Payload, []byte(aad))
	if err != nil {
		t.Fatalf("decrypt the sink: %v", err)
	}
	return string(pt)
}

// An encrypted sink whose reader publishes its key after rotor started:
// rotor waits (not ready, nothing written in clear), then writes the
// token for that key; the AAD comes from aad_env_var.
func TestEncryptedSinkWaitsForTheKey(t *testing.T) {
	srv := vaulttest.Start(t)
	root := srv.Client(t)
	roleID, secretID := vaulttest.SetupAppRole(t, root, "approle", "app", nil)
	dir := t.TempDir()
	rd := newDHReader(t, dir)
	sink := filepath.Join(dir, "token.enc")
	r := startAgentEnv(t, srv, fmt.Sprintf(`
exit_after_auth = true
auto_auth {
  method "approle" {
    config = {
      role_id_file_path   = %q
      secret_id_file_path = %q
    }
  }
  sink "file" {
    dh_type     = "curve25519"
    dh_path     = %q
    derive_key  = true
    aad_env_var = "APP_AAD"
    config = { path = %q, mode = 0600 }
  }
}`, writeFile(t, dir, "role_id", roleID), writeFile(t, dir, "secret_id", secretID), rd.keyFile, sink), map[string]string{"APP_AAD": "pod-uid-1234"})
	vaulttest.Eventually(t, 15*time.Second, func() error {
		if !strings.Contains(r.logs.String(), "sink waits for its reader's public key") {
			return fmt.Errorf("not waiting yet")
		}
		return nil
	})
	select {
	case <-r.done:
		t.Fatalf("exit_after_auth finished before the encrypted sink was written: %v", r.err)
	default:
	}
	if _, err := os.Stat(sink); !os.IsNotExist(err) {
		t.Fatal("the sink was written before its public key existed")
	}
	rd.publish(t)
	if err := r.wait(t, 15*time.Second); err != nil {
		t.Fatalf("exit_after_auth: %v", err)
	}
	tok := rd.open(t, sink, true, "pod-uid-1234")
	if _, err := srv.NewClient(t, tok).Auth().Token().LookupSelf(); err != nil {
		t.Fatalf("the decrypted token does not work: %v", err)
	}
	if strings.Contains(r.logs.String(), tok) {
		t.Fatal("the token appears in the logs")
	}
}

// A method wrap_ttl: the sink holds the login's wrap info, which
// sys/wrapping/unwrap turns into a working token made at the login path;
// rotor never holds (or logs) that token. With an encrypted sink, the
// wrap info is encrypted (wrap, then encrypt). The approle secret_id is
// itself wrapped: only the login request may be.
func TestMethodWrapTTLWritesWrappedLogin(t *testing.T) {
	srv := vaulttest.Start(t)
	root := srv.Client(t)
	roleID, _ := vaulttest.SetupAppRole(t, root, "approle", "app", nil)
	for _, encrypted := range []bool{false, true} {
		t.Run(fmt.Sprintf("encrypted=%v", encrypted), func(t *testing.T) {
			dir := t.TempDir()
			rd := newDHReader(t, dir)
			rd.publish(t)
			sink := filepath.Join(dir, "wrapped")
			dh := ""
			if encrypted {
				dh = fmt.Sprintf("dh_type = \"curve25519\"\n dh_path = %q\n aad = \"ctx\"", rd.keyFile)
			}
			r := startAgentEnv(t, srv, fmt.Sprintf(`
auto_auth {
  method "approle" {
    wrap_ttl = "5m"
    config = {
      role_id_file_path   = %q
      secret_id_file_path = %q
      secret_id_response_wrapping_path = "auth/approle/role/app/secret-id"
    }
  }
  sink "file" {
    %s
    config = { path = %q }
  }
}`, writeFile(t, dir, "role_id", roleID), writeFile(t, dir, "secret_id", vaulttest.WrappedSecretID(t, root, "approle", "app", "5m")), dh, sink), nil)
			raw := ""
			if encrypted {
				raw = rd.open(t, sink, false, "ctx")
			} else {
				raw = readSink(t, sink)
			}
			var info api.SecretWrapInfo
			if err := json.Unmarshal([]byte(raw), &info); err != nil || info.Token == "" {
				t.Fatalf("the sink does not hold wrap info: %v", err)
			}
			if info.CreationPath != "auth/approle/login" {
				t.Fatalf("wrapped at %q, want the login path", info.CreationPath)
			}
			un, err := srv.NewClient(t, "").Logical().Unwrap(info.Token)
			if err != nil {
				t.Fatalf("unwrap: %v", err)
			}
			tok := un.Auth.ClientToken
			if _, err := srv.NewClient(t, tok).Auth().Token().LookupSelf(); err != nil {
				t.Fatalf("the unwrapped token does not work: %v", err)
			}
			if r.agent.Token() != nil {
				t.Fatal("rotor holds a token it should not see")
			}
			logs := r.logs.String()
			if strings.Contains(logs, tok) || strings.Contains(logs, info.Token) {
				t.Fatal("a token appears in the logs")
			}
			if !strings.Contains(logs, "response-wrapped") {
				t.Fatalf("no log line says the login is wrapped:\n%s", logs)
			}
		})
	}
}

func TestMethodWrapTTLRefusesTemplates(t *testing.T) {
	srv := vaulttest.Start(t)
	dir := t.TempDir()
	cfg := loadConfig(t, srv, fmt.Sprintf(`
auto_auth {
  method "approle" {
    wrap_ttl = "5m"
    config = { role_id_file_path = %q }
  }
  sink "file" { config = { path = %q } }
}
template {
  contents    = "x"
  destination = %q
}`, writeFile(t, dir, "role_id", "r"), filepath.Join(dir, "sink"), filepath.Join(dir, "out")))
	if _, err := New(cfg, Options{}); err == nil || !strings.Contains(err.Error(), "wrap_ttl") {
		t.Fatalf("New: %v", err)
	}
	if problems, _ := Validate(cfg); len(problems) != 1 || !strings.Contains(problems[0], "templates cannot use it") {
		t.Fatalf("Validate: %q", problems)
	}
}

// The aws method from a Vault Agent configuration: iam with keys in the
// config and a server ID header, then iam with the pod's web identity from
// the environment (EKS), each logging in to a real Vault whose aws auth
// method forwards the signed request to the fake STS.
func TestAWSMethodFromConfig(t *testing.T) {
	srv := vaulttest.Start(t)
	root := srv.Client(t)
	fake := awstest.Start(t)
	awstest.SetupVaultAWSAuth(t, root, fake, "aws", "vault.example.com")
	key := fake.NewUserKey(t, "builder")
	for role, arn := range map[string]string{"builder": key.ARN, "pod": awstest.RoleARN("PodRole")} {
		if _, err := root.Logical().Write("auth/aws/role/"+role, map[string]any{"auth_type": "iam", "bound_iam_principal_arn": arn}); err != nil {
			t.Fatal(err)
		}
	}
	dir := t.TempDir()
	t.Setenv("HOME", dir) // no shared credentials file
	t.Setenv("AWS_EC2_METADATA_DISABLED", "true")
	t.Run("keys in config", func(t *testing.T) {
		sink := filepath.Join(t.TempDir(), "token")
		startAgent(t, srv, fmt.Sprintf(`
auto_auth {
  method "aws" {
    config = {
      type         = "iam"
      role         = "builder"
      access_key   = %q
      secret_key   = %q
      header_value = "vault.example.com"
    }
  }
  sink "file" { config = { path = %q } }
}`, key.AccessKeyID, key.SecretAccessKey, sink))
		tok := checkSinkToken(t, srv, sink, 0o640)
		if s, _ := lookup(t, root, tok); s.Data["display_name"] != "aws-builder" {
			t.Fatalf("logged in as %v", s.Data["display_name"])
		}
	})
	t.Run("web identity", func(t *testing.T) {
		tokenFile := writeFile(t, dir, "sa-token", "projected-token")
		fake.TrustWebIdentityToken("projected-token")
		t.Setenv("AWS_ROLE_ARN", awstest.RoleARN("PodRole"))
		t.Setenv("AWS_WEB_IDENTITY_TOKEN_FILE", tokenFile)
		t.Setenv("AWS_ENDPOINT_URL_STS", fake.URL)
		sink := filepath.Join(t.TempDir(), "token")
		r := startAgent(t, srv, fmt.Sprintf(`
auto_auth {
  method "aws" {
    mount_path = "auth/aws"
    config = {
      type         = "iam"
      role         = "pod"
      header_value = "vault.example.com"
    }
  }
  sink "file" { config = { path = %q } }
}`, sink))
		tok := checkSinkToken(t, srv, sink, 0o640)
		if s, _ := lookup(t, root, tok); !strings.HasPrefix(fmt.Sprint(s.Data["display_name"]), "aws-PodRole/rotor-") {
			t.Fatalf("logged in as %v", s.Data["display_name"])
		}
		if strings.Contains(r.logs.String(), "projected-token") {
			t.Fatal("the web identity token appears in the logs")
		}
	})
}

// With a method wrap_ttl, a reload that changes the sink logs in again:
// the new sink gets its own wrapped login (rotor has no token to wrap).
func TestMethodWrapTTLSinkReload(t *testing.T) {
	srv := vaulttest.Start(t)
	root := srv.Client(t)
	roleID, secretID := vaulttest.SetupAppRole(t, root, "approle", "app", nil)
	dir := t.TempDir()
	roleFile := writeFile(t, dir, "role_id", roleID)
	secretFile := writeFile(t, dir, "secret_id", secretID)
	hcl := func(sink string) string {
		return fmt.Sprintf(`
auto_auth {
  method "approle" {
    wrap_ttl = "5m"
    config = {
      role_id_file_path   = %q
      secret_id_file_path = %q
      remove_secret_id_file_after_reading = false
    }
  }
  sink "file" { config = { path = %q } }
}`, roleFile, secretFile, sink)
	}
	first, second := filepath.Join(dir, "first"), filepath.Join(dir, "second")
	r := startAgentEnv(t, srv, hcl(first), nil)
	unwrap := func(path string) {
		t.Helper()
		var info api.SecretWrapInfo
		if err := json.Unmarshal([]byte(readSink(t, path)), &info); err != nil {
			t.Fatal(err)
		}
		if _, err := srv.NewClient(t, "").Logical().Unwrap(info.Token); err != nil {
			t.Fatalf("unwrap %s: %v", path, err)
		}
	}
	unwrap(first)
	if err := r.agent.Reload(loadConfig(t, srv, hcl(second))); err != nil {
		t.Fatal(err)
	}
	unwrap(second)
}
