package bench

import (
	"bufio"
	"cmp"
	"fmt"
	"io"
	"net"
	"net/http"
	neturl "net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rotorproject/rotor/test/harness/pgtest"
	"github.com/rotorproject/rotor/test/harness/proc"
	"github.com/rotorproject/rotor/test/harness/vaulttest"
)

// proxyWindow is how long each concurrency level is measured, after a
// warm-up of a tenth of it.
const proxyWindow = 5 * time.Second

// proxyRounds is how many times each agent is measured at each level.
const proxyRounds = 3

// cachedLeases is the cache size the memory figure is taken at.
const cachedLeases = 10_000

type proxyResult struct {
	clients  int
	rps      float64
	p50, p99 time.Duration
	errors   int
}

// TestCompareProxyWithVaultAgent measures cached reads through each
// agent's API proxy: both log in with AppRole, cache leased answers and
// proxy with their own token (use_auto_auth_token). A database credential
// is read once (a miss, one database user), then read again and again by
// 1, 16 and 64 concurrent clients (hits). Last, each agent is filled with
// cachedLeases distinct credential requests and its resident memory read.
// The load generator runs on the same machine and shares its cores with
// the agent under test, the same for both.
func TestCompareProxyWithVaultAgent(t *testing.T) {
	if os.Getenv("ROTOR_BENCH") != "1" {
		t.Skip("benchmark script: run bench/run.sh proxy (or ROTOR_BENCH=1)")
	}
	srv := vaulttest.Start(t, vaulttest.WithoutAudit())
	root := srv.Client(t)
	pg := pgtest.Start(t)
	// A long TTL: no renewal falls inside the measurement.
	pgtest.SetupVaultDatabase(t, root, pg, "24h", "48h")
	pgtest.SetupGroupRole(t, root, pg, "bench", "24h", "48h")
	vaulttest.WritePolicy(t, root, "bench", `path "database/creds/bench" { capabilities = ["read"] }`)
	roleID, _ := vaulttest.SetupAppRole(t, root, "approle", "bench", map[string]any{"token_policies": []string{"default", "bench"}})
	rotor, vault := buildRotor(t, ""), vaulttest.VaultBin(t)

	levels := []int{1, 16, 64}
	agents := []string{"rotor", "vault agent"}
	bases, procs := map[string]string{}, map[string]proxyProc{}
	for _, agent := range agents {
		bases[agent], procs[agent] = startProxy(t, agent, rotor, vault, srv.Addr, roleID, vaulttest.NewSecretID(t, root, "approle", "bench"))
	}
	url := func(agent string) string { return bases[agent] + "/v1/database/creds/bench" }
	users := map[string]int{}
	for _, agent := range agents {
		before := len(pg.Roles(t, "v-"))
		if code := get(http.DefaultClient, url(agent)); code != 200 {
			t.Fatalf("%s: first credential read answered %d", agent, code)
		}
		users[agent] = len(pg.Roles(t, "v-")) - before
	}
	// Rounds alternate the agents, so a change in the machine's load
	// falls on both; the median round is reported. Only the agent being
	// measured gets requests; the other idles.
	rounds := map[string][][]proxyResult{}
	hitUsers := map[string]int{}
	for range proxyRounds {
		for _, agent := range agents {
			before := len(pg.Roles(t, "v-"))
			var rs []proxyResult
			for _, n := range levels {
				rs = append(rs, load(url(agent), n))
			}
			rounds[agent] = append(rounds[agent], rs)
			hitUsers[agent] += len(pg.Roles(t, "v-")) - before
		}
	}
	results := map[string][]proxyResult{}
	for _, agent := range agents {
		for i := range levels {
			var rs []proxyResult
			for _, round := range rounds[agent] {
				rs = append(rs, round[i])
			}
			slices.SortFunc(rs, func(a, b proxyResult) int { return cmp.Compare(a.rps, b.rps) })
			results[agent] = append(results[agent], rs[len(rs)/2])
		}
	}
	rss := map[string]int{}
	for _, agent := range agents {
		rss[agent] = fill(t, agent, bases[agent], procs[agent].pid)
	}

	var b strings.Builder
	fmt.Fprintf(&b, "\ncached reads through the API proxy, rotor vs Vault Agent v1.21.0, same dev Vault and PostgreSQL,\n%s per level, median of %d alternating rounds\n\n", proxyWindow, proxyRounds)
	fmt.Fprintf(&b, "  %-8s %-12s %12s %10s %10s %7s\n", "clients", "agent", "requests/s", "p50", "p99", "errors")
	for i, n := range levels {
		for _, agent := range agents {
			r := results[agent][i]
			fmt.Fprintf(&b, "  %-8d %-12s %12.0f %10s %10s %7d\n", n, agent, r.rps, r.p50.Round(time.Microsecond), r.p99.Round(time.Microsecond), r.errors)
		}
		fmt.Fprintf(&b, "  %-8s %-12s %11.1fx\n", "", "ratio (r/VA)", results["rotor"][i].rps/results["vault agent"][i].rps)
	}
	fmt.Fprintf(&b, "\n  RSS with %d cached leases: rotor %.1f MB, vault agent %.1f MB (%.1fx)\n", cachedLeases,
		float64(rss["rotor"])/1024, float64(rss["vault agent"])/1024, float64(rss["vault agent"])/float64(rss["rotor"]))
	fmt.Fprintf(&b, "  database users made by the first read: rotor %d, vault agent %d; by all the cached reads after it: rotor %d, vault agent %d\n",
		users["rotor"], users["vault agent"], hitUsers["rotor"], hitUsers["vault agent"])
	fmt.Print(b.String())
}

type proxyProc struct {
	pid  int
	stop func()
}

// startProxy starts agent as an API proxy on a free loopback port and
// returns its base URL once it answers with its own token.
func startProxy(t *testing.T, agent, rotor, vault, addr, roleID, secretID string) (string, proxyProc) {
	dir, auth := agentDir(t, addr, roleID, secretID)
	listen := freeAddr(t)
	cfg := filepath.Join(dir, "agent.hcl")
	os.WriteFile(cfg, []byte(auth+fmt.Sprintf(`cache {}
api_proxy {
  use_auto_auth_token = true
}
listener "tcp" {
  address     = %q
  tls_disable = true
}
`, listen)), 0o600)
	bin := rotor
	if agent != "rotor" {
		bin = vault
	}
	cmd := exec.Command(bin, "agent", "-config", cfg, "-log-level", "error")
	cmd.Env = append(os.Environ(), "VAULT_ADDR="+addr)
	logf, _ := os.Create(filepath.Join(dir, "agent.log"))
	cmd.Stdout, cmd.Stderr = logf, logf
	p, err := proc.Start(cmd)
	if err != nil {
		t.Fatal(err)
	}
	var once sync.Once
	stop := func() { once.Do(func() { p.KillGroup(); logf.Close() }) }
	t.Cleanup(stop)
	base := "http://" + listen
	deadline := time.Now().Add(30 * time.Second)
	for get(http.DefaultClient, base+"/v1/auth/token/lookup-self") != 200 {
		if time.Now().After(deadline) {
			log, _ := os.ReadFile(filepath.Join(dir, "agent.log"))
			t.Fatalf("%s proxy not ready within 30s:\n%s", agent, log)
		}
		time.Sleep(50 * time.Millisecond)
	}
	return base, proxyProc{pid: cmd.Process.Pid, stop: stop}
}

// get reads url and returns the status code (0 on a transport error).
func get(c *http.Client, url string) int {
	resp, err := c.Get(url)
	if err != nil {
		return 0
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode
}

// load has n clients read url back to back, each on its own kept-alive
// connection, and reports throughput and latency over proxyWindow. The
// clients speak HTTP/1.1 on raw connections: Go's HTTP client costs more
// CPU per request than the proxies under test, and on 2 shared cores it
// would be what is measured.
func load(url string, n int) proxyResult {
	u, err := neturl.Parse(url)
	if err != nil {
		panic(err)
	}
	req := []byte("GET " + u.RequestURI() + " HTTP/1.1\r\nHost: " + u.Host + "\r\nUser-Agent: rotor-bench\r\n\r\n")
	var measuring atomic.Bool
	var errs atomic.Int64
	lat := make([][]time.Duration, n)
	done := make(chan struct{})
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var conn net.Conn
			var br *bufio.Reader
			for {
				select {
				case <-done:
					if conn != nil {
						conn.Close()
					}
					return
				default:
				}
				if conn == nil {
					if conn, err = net.Dial("tcp", u.Host); err != nil {
						errs.Add(1)
						time.Sleep(10 * time.Millisecond)
						continue
					}
					br = bufio.NewReaderSize(conn, 16<<10)
				}
				start := time.Now()
				code, err := roundTrip(conn, br, req)
				d := time.Since(start)
				if err != nil {
					conn.Close()
					conn = nil
				}
				if !measuring.Load() {
					continue
				}
				if code != 200 {
					errs.Add(1)
					continue
				}
				lat[i] = append(lat[i], d)
			}
		}()
	}
	time.Sleep(proxyWindow / 10)
	measuring.Store(true)
	start := time.Now()
	time.Sleep(proxyWindow)
	measuring.Store(false)
	elapsed := time.Since(start)
	close(done)
	wg.Wait()
	all := slices.Concat(lat...)
	slices.Sort(all)
	r := proxyResult{clients: n, errors: int(errs.Load()), rps: float64(len(all)) / elapsed.Seconds()}
	if len(all) > 0 {
		r.p50, r.p99 = all[len(all)/2], all[len(all)*99/100]
	}
	return r
}

// roundTrip writes req and reads one answer with a Content-Length body
// (both agents send one), returning its status code.
func roundTrip(conn net.Conn, br *bufio.Reader, req []byte) (int, error) {
	if _, err := conn.Write(req); err != nil {
		return 0, err
	}
	line, err := br.ReadSlice('\n')
	if err != nil {
		return 0, err
	}
	code := 0
	if f := strings.Fields(string(line)); len(f) >= 2 {
		code, _ = strconv.Atoi(f[1])
	}
	length := -1
	for {
		h, err := br.ReadSlice('\n')
		if err != nil {
			return 0, err
		}
		if len(h) <= 2 {
			break
		}
		if k, v, ok := strings.Cut(string(h), ":"); ok && strings.EqualFold(k, "Content-Length") {
			length, _ = strconv.Atoi(strings.TrimSpace(v))
		}
	}
	if length < 0 {
		return 0, fmt.Errorf("answer without Content-Length")
	}
	_, err = br.Discard(length)
	return code, err
}

// fill makes cachedLeases distinct credential requests (a query parameter
// Vault ignores makes each one a new cache entry and a new database user),
// then returns the agent's largest resident size over the next two
// seconds, in KB.
func fill(t *testing.T, agent, base string, pid int) int {
	tr := &http.Transport{MaxIdleConnsPerHost: 16}
	defer tr.CloseIdleConnections()
	c := &http.Client{Transport: tr}
	var next, failed atomic.Int64
	var wg sync.WaitGroup
	for range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := next.Add(1); i <= cachedLeases; i = next.Add(1) {
				if get(c, fmt.Sprintf("%s/v1/database/creds/bench?n=%d", base, i)) != 200 {
					failed.Add(1)
				}
			}
		}()
	}
	wg.Wait()
	if f := failed.Load(); f > 0 {
		t.Fatalf("%s: %d of %d credential requests failed", agent, f, cachedLeases)
	}
	// A second pass must be all hits: the entries are really cached.
	for i := 1; i <= cachedLeases; i += cachedLeases / 10 {
		resp, err := c.Get(fmt.Sprintf("%s/v1/database/creds/bench?n=%d", base, i))
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if agent == "rotor" && resp.Header.Get("X-Cache") != "HIT" {
			t.Fatalf("rotor: request %d was not served from the cache (X-Cache %q)", i, resp.Header.Get("X-Cache"))
		}
	}
	kb := 0
	for range 20 {
		time.Sleep(100 * time.Millisecond)
		kb = max(kb, rssKB(pid))
	}
	return kb
}
