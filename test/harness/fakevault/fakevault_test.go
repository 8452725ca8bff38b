package fakevault_test

import (
	"context"
	"errors"
	"net/http"
	"testing"
	"testing/synctest"
	"time"

	"github.com/hashicorp/vault/api"

	"github.com/rotorproject/rotor/test/harness/fakevault"
)

func client(t *testing.T, v *fakevault.Vault, token string) *api.Client {
	c := v.Client(t)
	c.SetToken(token)
	return c
}

// A token lives its TTL, a renewal extends it up to its explicit max, and
// an expired token is refused as invalid, taking its leases with it.
func TestTokenLifetime(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		v := fakevault.New()
		v.AddDBRole("app", fakevault.DBRole{TTL: time.Hour, Renewable: true})
		tok := v.CreateToken(fakevault.TokenOptions{TTL: time.Minute, ExplicitMax: 90 * time.Second, Renewable: true})
		c := client(t, v, tok)
		sec, err := c.Logical().Read("database/creds/app")
		if err != nil || sec.LeaseID == "" || sec.LeaseDuration != 60 {
			t.Fatalf("creds: %+v %v; want a lease capped at the token's 60s", sec, err)
		}
		time.Sleep(50 * time.Second)
		rs, err := c.Auth().Token().RenewSelf(3600)
		if err != nil || rs.Auth.LeaseDuration != 40 {
			t.Fatalf("renew-self: %+v %v; want 40s left to the explicit max", rs, err)
		}
		time.Sleep(41 * time.Second)
		_, err = c.Auth().Token().LookupSelf()
		var re *api.ResponseError
		if !errors.As(err, &re) || re.StatusCode != 403 || len(re.Errors) != 1 || re.Errors[0] != "2 errors occurred:\n\t* permission denied\n\t* invalid token\n\n" {
			t.Fatalf("lookup-self of an expired token: %v", err)
		}
		if st := v.Lease(sec.LeaseID); !st.Revoked {
			t.Fatalf("the dead token's lease is still alive: %+v", st)
		}
	})
}

func TestLeaseRenewAndRevoke(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		v := fakevault.New()
		v.AddDBRole("app", fakevault.DBRole{TTL: time.Hour, MaxTTL: 90 * time.Minute, Renewable: true})
		c := client(t, v, fakevault.RootToken)
		sec, err := c.Logical().Read("database/creds/app")
		if err != nil {
			t.Fatal(err)
		}
		time.Sleep(time.Hour - time.Minute)
		rn, err := c.Sys().Renew(sec.LeaseID, 3600)
		if err != nil || rn.LeaseID != sec.LeaseID || rn.LeaseDuration != 31*60 || !rn.Renewable {
			t.Fatalf("renew: %+v %v; want 31m left to the max TTL", rn, err)
		}
		if err := c.Sys().Revoke(sec.LeaseID); err != nil {
			t.Fatal(err)
		}
		_, err = c.Sys().Renew(sec.LeaseID, 3600)
		var re *api.ResponseError
		if !errors.As(err, &re) || re.StatusCode != 400 {
			t.Fatalf("renewing a revoked lease: %v, want a 400", err)
		}
		if n := v.Count("PUT sys/leases/renew"); n != 2 {
			t.Fatalf("%d renewals recorded, want 2", n)
		}
	})
}

func TestKVAndMounts(t *testing.T) {
	v := fakevault.New()
	v.PutKV("app", map[string]any{"k": "v1"})
	v.PutKV("app", map[string]any{"k": "v2"})
	c := client(t, v, fakevault.RootToken)
	sec, err := c.KVv2("secret").Get(context.Background(), "app")
	if err != nil || sec.Data["k"] != "v2" || sec.VersionMetadata.Version != 2 {
		t.Fatalf("kv get: %+v %v", sec, err)
	}
	m, err := c.Logical().Read("sys/internal/ui/mounts/secret/app")
	if err != nil || m.Data["type"] != "kv" || m.Data["options"].(map[string]any)["version"] != "2" {
		t.Fatalf("mount lookup: %+v %v", m, err)
	}
	if s, err := c.Logical().Read("secret/data/missing"); s != nil || err != nil {
		t.Fatalf("missing KV secret: %+v %v, want nil, nil as from Vault's 404", s, err)
	}
}

func TestAppRoleLogin(t *testing.T) {
	v := fakevault.New()
	v.AddAppRole("web", "role-1", "secret-1", time.Hour, "web")
	c := v.Client(t)
	sec, err := c.Logical().Write("auth/approle/login", map[string]any{"role_id": "role-1", "secret_id": "secret-1"})
	if err != nil || sec.Auth == nil || !sec.Auth.Renewable || sec.Auth.LeaseDuration != 3600 || sec.Auth.Metadata["role_name"] != "web" {
		t.Fatalf("login: %+v %v", sec, err)
	}
	if got := v.TokenTTL(sec.Auth.ClientToken); got <= 59*time.Minute || got > time.Hour {
		t.Fatalf("token TTL %v, want 1h", got)
	}
	_, err = c.Logical().Write("auth/approle/login", map[string]any{"role_id": "role-1", "secret_id": "wrong"})
	var re *api.ResponseError
	if !errors.As(err, &re) || re.StatusCode != 400 {
		t.Fatalf("bad secret_id: %v, want a 400", err)
	}
}

// Faults hit the matching requests, Times times, newest first; a delay
// holds the answer back until the client gives up.
func TestFaults(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		v := fakevault.New()
		v.PutKV("app", map[string]any{"k": "v"})
		c := client(t, v, fakevault.RootToken)
		v.Fail(fakevault.Fault{Path: "secret/", Status: 503, Times: 1})
		v.Fail(fakevault.Fault{Method: "PUT", Path: "secret/", Status: 500})
		_, err := c.Logical().Read("secret/data/app")
		var re *api.ResponseError
		if !errors.As(err, &re) || re.StatusCode != 503 {
			t.Fatalf("first read: %v, want the injected 503", err)
		}
		if _, err := c.Logical().Read("secret/data/app"); err != nil {
			t.Fatalf("second read: %v, want the one-time fault used up", err)
		}
		v.ClearFaults()
		v.Fail(fakevault.Fault{Path: "secret/", Delay: time.Minute})
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		start := time.Now()
		if _, err := c.Logical().ReadWithContext(ctx, "secret/data/app"); !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("delayed read: %v, want the client's deadline", err)
		}
		if d := time.Since(start); d != time.Second {
			t.Fatalf("the client gave up after %v, want 1s", d)
		}
		reqs := v.Requests("GET secret/data/app")
		if len(reqs) != 3 || reqs[0].Status != 503 || reqs[1].Status != http.StatusOK || reqs[0].Token != fakevault.RootToken {
			t.Fatalf("recorded %+v", reqs)
		}
	})
}
