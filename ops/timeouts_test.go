package ops

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"sync"
	"testing"
	"testing/synctest"
	"time"
)

// pipeListener hands the server in-memory connections, so the HTTP
// server's deadlines run on synctest's fake clock.
type pipeListener struct {
	conns chan net.Conn
	done  chan struct{}
	once  sync.Once
}

func newPipeListener() *pipeListener {
	return &pipeListener{conns: make(chan net.Conn), done: make(chan struct{})}
}

func (l *pipeListener) Accept() (net.Conn, error) {
	select {
	case c := <-l.conns:
		return c, nil
	case <-l.done:
		return nil, net.ErrClosed
	}
}

func (l *pipeListener) Close() error   { l.once.Do(func() { close(l.done) }); return nil }
func (l *pipeListener) Addr() net.Addr { return &net.UnixAddr{Name: "pipe", Net: "pipe"} }

func (l *pipeListener) dial() net.Conn {
	c, s := net.Pipe()
	l.conns <- s
	return c
}

// closedByServer reports whether the server has closed c: reading what it
// may still hold reaches EOF at once, rather than timing out.
func closedByServer(t *testing.T, c net.Conn) bool {
	t.Helper()
	c.SetReadDeadline(time.Now().Add(time.Second))
	_, err := io.ReadAll(c)
	return err == nil
}

// withPipeServer runs a real Server's http.Server on a pipe listener in a
// synctest bubble.
func withPipeServer(t *testing.T, f func(l *pipeListener)) {
	synctest.Test(t, func(t *testing.T) {
		s, err := NewServer(ListenerOptions{Type: "tcp", Address: "127.0.0.1:0"}, &fakeSource{}, NewMetrics(func() Status { return Status{} }), discard(), APIOptions{})
		if err != nil {
			t.Fatal(err)
		}
		s.ln.Close()
		l := newPipeListener()
		go s.srv.Serve(l)
		// Deferred, so that a failing check still ends every goroutine of
		// the bubble (Close closes the listener and open connections).
		defer s.srv.Close()
		f(l)
	})
}

// A client that stops sending mid-headers, or mid-body, or that keeps an
// idle connection, or never reads its answer, is dropped: a local user
// cannot pin the server's connections and goroutines forever.
func TestSlowClientsAreDropped(t *testing.T) {
	t.Run("headers", func(t *testing.T) {
		withPipeServer(t, func(l *pipeListener) {
			c := l.dial()
			defer c.Close()
			io.WriteString(c, "GET /healthz HTTP/1.1\r\nHost: localhost\r\n")
			time.Sleep(time.Minute)
			if !closedByServer(t, c) {
				t.Fatal("a connection stuck in its headers is still open after a minute")
			}
		})
	})
	t.Run("body", func(t *testing.T) {
		withPipeServer(t, func(l *pipeListener) {
			c := l.dial()
			defer c.Close()
			io.WriteString(c, "GET /healthz HTTP/1.1\r\nHost: localhost\r\nContent-Length: 100\r\n\r\nonly-part")
			time.Sleep(time.Minute)
			if !closedByServer(t, c) {
				t.Fatal("a connection stuck in its body is still open after a minute")
			}
		})
	})
	t.Run("idle", func(t *testing.T) {
		withPipeServer(t, func(l *pipeListener) {
			c := l.dial()
			defer c.Close()
			io.WriteString(c, "GET /healthz HTTP/1.1\r\nHost: localhost\r\n\r\n")
			resp, err := http.ReadResponse(bufio.NewReader(c), nil)
			if err != nil {
				t.Fatal(err)
			}
			io.Copy(io.Discard, resp.Body)
			time.Sleep(10 * time.Minute)
			if !closedByServer(t, c) {
				t.Fatal("an idle keep-alive connection is still open after 10 minutes")
			}
		})
	})
	t.Run("unread answer", func(t *testing.T) {
		withPipeServer(t, func(l *pipeListener) {
			c := l.dial()
			defer c.Close()
			io.WriteString(c, "GET /metrics HTTP/1.1\r\nHost: localhost\r\n\r\n")
			time.Sleep(2 * time.Minute)
			if !closedByServer(t, c) {
				t.Fatal("the server is still waiting to write an answer nobody reads after 2 minutes")
			}
		})
	})
}
