package lease

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/vault/api"
	"github.com/rotorproject/rotor/auth"
	"github.com/rotorproject/rotor/internal/vaultclient"
	"github.com/rotorproject/rotor/test/harness/pgtest"
	"github.com/rotorproject/rotor/test/harness/vaulttest"
)

// The head-of-line scenario on a real Vault and PostgreSQL: two database
// connections. Connection A goes through a TCP proxy that stops
// forwarding, so Vault's renewal of a lease on A hangs in the plugin
// (UpdateUser never gets PostgreSQL's answer). Role B, on a direct
// connection, has an 8s TTL. For 30s, B's database user must be able to
// log in and query the whole time: B's renewals may not wait for A's.
func TestHangingDatabaseDoesNotStarveAnotherLease(t *testing.T) {
	srv := vaulttest.Start(t)
	root := srv.Client(t)
	pg := pgtest.Start(t)
	pgtest.SetupVaultDatabase(t, root, pg, "8s", "1h") // role B: database/creds/myapp-readonly
	proxy := startProxy(t, fmt.Sprintf("127.0.0.1:%d", pg.Port))
	write(t, root, "database/config/conn-a", map[string]any{
		"plugin_name":       "postgresql-database-plugin",
		"allowed_roles":     "*",
		"connection_url":    fmt.Sprintf("postgresql://{{username}}:{{password}}@%s/%s?sslmode=disable", proxy.addr(), pgtest.Database),
		"username":          pg.AdminUser,
		"password":          pg.AdminPassword,
		"verify_connection": true,
	})
	write(t, root, "database/roles/role-a", map[string]any{
		"db_name":               "conn-a",
		"creation_statements":   pgtest.CreationStatements,
		"revocation_statements": pgtest.RevocationStatements,
		"renew_statements":      pgtest.RenewStatements,
		"default_ttl":           "12s",
		"max_ttl":               "1h",
	})
	vaulttest.WritePolicy(t, root, "dbcreds", `path "database/creds/*" { capabilities = ["read"] }`)
	sec, err := root.Auth().Token().Create(&api.TokenCreateRequest{Policies: []string{"dbcreds"}, TTL: "1h"})
	if err != nil {
		t.Fatal(err)
	}
	tok := auth.NewToken(sec, time.Now())
	tok.Generation = 1

	c, err := vaultclient.New(vaultclient.Config{Address: srv.Addr, NumRetries: 12}, vaultclient.Options{MaxConnsPerHost: 10})
	if err != nil {
		t.Fatal(err)
	}
	logs := &vaulttest.Buffer{}
	s := NewStore(Options{Client: c, MaxParallel: 10, Policy: Policy{Threshold: 0.9, StaticInterval: 5 * time.Minute},
		Logger: slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))})
	if err := s.SetToken(tok); err != nil {
		t.Fatal(err)
	}
	a := Ref{Kind: KindRead, Path: "database/creds/role-a"}
	b := Ref{Kind: KindRead, Path: "database/creds/" + pgtest.DynamicRole}
	// One after the other: PostgreSQL fails one of two concurrent ALTER
	// DEFAULT PRIVILEGES ("tuple concurrently updated").
	for _, r := range []Ref{a, b} {
		if errs := s.Fetch(context.Background(), []Ref{r}); len(errs) > 0 {
			t.Fatalf("fetch: %v", errs)
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { s.Run(ctx); close(done) }()
	t.Cleanup(func() {
		cancel()
		<-done
		if t.Failed() {
			t.Logf("store logs:\n%s", logs)
		}
	})

	proxy.freeze() // from now on, every request on connection A hangs
	start := time.Now()
	tick := time.NewTicker(500 * time.Millisecond)
	defer tick.Stop()
	checks := 0
	for time.Since(start) < 30*time.Second {
		v, _ := s.Lookup(b.Key())
		user, _ := v.Secret.Data["username"].(string)
		pass, _ := v.Secret.Data["password"].(string)
		if err := pg.CanSelect(user, pass, pgtest.ItemsTable); err != nil {
			t.Fatalf("B's database user cannot query %v after A's database stopped answering: %v", time.Since(start).Round(100*time.Millisecond), err)
		}
		checks++
		<-tick.C
	}
	// A's renewal did hang and was given up, without touching B.
	if !strings.Contains(logs.String(), "database/creds/role-a") || !strings.Contains(logs.String(), "context deadline exceeded") {
		t.Fatalf("A's renewal never hung; logs:\n%s", logs)
	}
	var renewedB, abandonedA int
	for _, l := range strings.Split(logs.String(), "\n") {
		switch {
		case strings.Contains(l, "lease renewed") && strings.Contains(l, pgtest.DynamicRole):
			renewedB++
		case strings.Contains(l, "role-a") && strings.Contains(l, "timed_out=true"):
			abandonedA++
		}
	}
	t.Logf("B's user could query at all %d checks over 30s while A's database hung; B renewed %d times, A's renewal abandoned %d times",
		checks, renewedB, abandonedA)
}

func write(t *testing.T, c *api.Client, path string, data map[string]any) {
	t.Helper()
	if _, err := c.Logical().Write(path, data); err != nil {
		t.Fatalf("write %s: %v", path, err)
	}
}

// tcpProxy forwards connections to a target until frozen: then it
// accepts and reads, but forwards nothing, like a peer that stopped
// answering without closing anything. Closed at the end of the test.
type tcpProxy struct {
	ln     net.Listener
	target string
	wg     sync.WaitGroup

	mu     sync.Mutex
	cond   *sync.Cond
	frozen bool
	closed bool
	conns  []net.Conn
}

func startProxy(t *testing.T, target string) *tcpProxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &tcpProxy{ln: ln, target: target}
	p.cond = sync.NewCond(&p.mu)
	p.wg.Go(p.accept)
	t.Cleanup(p.close)
	return p
}

func (p *tcpProxy) addr() string { return p.ln.Addr().String() }

func (p *tcpProxy) freeze() {
	p.mu.Lock()
	p.frozen = true
	p.mu.Unlock()
}

func (p *tcpProxy) accept() {
	for {
		in, err := p.ln.Accept()
		if err != nil {
			return
		}
		out, err := net.Dial("tcp", p.target)
		if err != nil {
			in.Close()
			continue
		}
		p.mu.Lock()
		if p.closed {
			p.mu.Unlock()
			in.Close()
			out.Close()
			return
		}
		p.conns = append(p.conns, in, out)
		p.mu.Unlock()
		p.wg.Go(func() { p.pipe(out, in) })
		p.wg.Go(func() { p.pipe(in, out) })
	}
}

func (p *tcpProxy) pipe(dst, src net.Conn) {
	defer dst.Close()
	defer src.Close()
	buf := make([]byte, 32<<10)
	for {
		n, err := src.Read(buf)
		if n > 0 {
			p.mu.Lock()
			for p.frozen && !p.closed {
				p.cond.Wait()
			}
			closed := p.closed
			p.mu.Unlock()
			if closed {
				return
			}
			if _, err := dst.Write(buf[:n]); err != nil {
				return
			}
		}
		if err != nil {
			return
		}
	}
}

func (p *tcpProxy) close() {
	p.ln.Close()
	p.mu.Lock()
	p.closed = true
	for _, c := range p.conns {
		c.Close()
	}
	p.cond.Broadcast()
	p.mu.Unlock()
	p.wg.Wait()
}
