package faultproxy

import (
	"net"
	"sync"
	"testing"
	"time"
)

// TCP forwards TCP connections to a target and can pause, resume and reset
// them. Its methods are safe for concurrent use.
type TCP struct {
	// Addr is the proxy's address, "127.0.0.1:PORT": give it to the
	// client instead of the target's.
	Addr string

	ln     net.Listener
	closed chan struct{}
	wg     sync.WaitGroup

	mu       sync.Mutex
	target   string
	paused   chan struct{} // non-nil while paused; closed by Resume
	conns    map[*pipe]struct{}
	accepted int
}

// pipe is one proxied connection: the client's and the proxy's own to the
// target (nil until dialled).
type pipe struct {
	client net.Conn

	mu       sync.Mutex // guards upstream and dead: a reset may race the dial
	upstream net.Conn
	dead     bool // closed or reset: a late upstream is closed at once
}

// NewTCP starts a proxy on a free 127.0.0.1 port that forwards each
// connection to target ("host:port"). It is closed when the test ends.
func NewTCP(t testing.TB, target string) *TCP {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("faultproxy: listen: %v", err)
	}
	p := &TCP{Addr: ln.Addr().String(), ln: ln, closed: make(chan struct{}), target: target, conns: map[*pipe]struct{}{}}
	p.wg.Add(1)
	go p.accept()
	t.Cleanup(p.Close)
	return p
}

// SetTarget sends later connections to target; open ones stay where they
// are.
func (p *TCP) SetTarget(target string) {
	p.mu.Lock()
	p.target = target
	p.mu.Unlock()
}

// Pause stops forwarding bytes, both ways, on every connection, and stops
// connecting new clients to the target, without closing anything: the
// peers see a silent network. A chunk already being written when Pause is
// called may still arrive. Pausing a paused proxy does nothing.
func (p *TCP) Pause() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.paused == nil {
		p.paused = make(chan struct{})
	}
}

// Resume forwards again whatever was held, and everything after.
func (p *TCP) Resume() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.paused != nil {
		close(p.paused)
		p.paused = nil
	}
}

// ResetAll closes every open connection, both sides, with a TCP reset, and
// returns how many there were. New connections are accepted as before.
func (p *TCP) ResetAll() int {
	p.mu.Lock()
	pipes := make([]*pipe, 0, len(p.conns))
	for c := range p.conns {
		pipes = append(pipes, c)
	}
	p.mu.Unlock()
	for _, c := range pipes {
		c.reset()
	}
	return len(pipes)
}

// Open returns how many connections are open now.
func (p *TCP) Open() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.conns)
}

// Accepted returns how many connections the proxy has accepted in all.
func (p *TCP) Accepted() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.accepted
}

// Close stops accepting, resets every connection and waits for the
// proxy's goroutines. Safe to call more than once.
func (p *TCP) Close() {
	select {
	case <-p.closed:
		return
	default:
	}
	close(p.closed)
	p.ln.Close()
	p.ResetAll()
	p.wg.Wait()
}

func (p *TCP) accept() {
	defer p.wg.Done()
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return // closed
		}
		pp := &pipe{client: c}
		p.mu.Lock()
		p.accepted++
		p.conns[pp] = struct{}{}
		p.mu.Unlock()
		p.wg.Add(1)
		go p.serve(pp)
	}
}

// serve connects pp to the target (once not paused) and copies both ways
// until either side ends; then both are closed.
func (p *TCP) serve(pp *pipe) {
	defer p.wg.Done()
	defer func() {
		p.mu.Lock()
		delete(p.conns, pp)
		p.mu.Unlock()
		pp.close()
	}()
	if !p.gate() {
		return
	}
	p.mu.Lock()
	target := p.target
	p.mu.Unlock()
	up, err := net.DialTimeout("tcp", target, 5*time.Second)
	if err != nil {
		pp.reset() // as a dead target would: the client sees a reset
		return
	}
	if !pp.setUpstream(up) {
		return
	}
	done := make(chan struct{}, 2)
	go func() { p.copy(up, pp.client); done <- struct{}{} }()
	go func() { p.copy(pp.client, up); done <- struct{}{} }()
	<-done
	// One direction ended: close both, which ends the other copy.
	pp.close()
	<-done
}

// copy forwards src to dst, holding each chunk while the proxy is paused.
func (p *TCP) copy(dst, src net.Conn) {
	buf := make([]byte, 32<<10)
	for {
		n, err := src.Read(buf)
		if n > 0 {
			if !p.gate() {
				return
			}
			if _, werr := dst.Write(buf[:n]); werr != nil {
				return
			}
		}
		if err != nil {
			return
		}
	}
}

// gate waits while the proxy is paused; false when it is closed.
func (p *TCP) gate() bool {
	p.mu.Lock()
	ch := p.paused
	p.mu.Unlock()
	if ch == nil {
		return true
	}
	select {
	case <-ch:
		return true
	case <-p.closed:
		return false
	}
}

// setUpstream records the connection to the target; false (and up
// closed) when the pipe was reset or closed during the dial.
func (c *pipe) setUpstream(up net.Conn) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.dead {
		up.Close()
		return false
	}
	c.upstream = up
	return true
}

// reset closes both sides with a TCP reset (SO_LINGER 0).
func (c *pipe) reset() {
	for _, conn := range c.end() {
		if tc, ok := conn.(*net.TCPConn); ok {
			tc.SetLinger(0)
		}
		conn.Close()
	}
}

func (c *pipe) close() {
	for _, conn := range c.end() {
		conn.Close()
	}
}

// end marks the pipe dead and returns the connections to close.
func (c *pipe) end() []net.Conn {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.dead = true
	out := []net.Conn{c.client}
	if c.upstream != nil {
		out = append(out, c.upstream)
	}
	return out
}
