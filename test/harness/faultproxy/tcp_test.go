package faultproxy

import (
	"bufio"
	"errors"
	"io"
	"net"
	"os"
	"testing"
	"time"
)

// echoServer echoes every line back; it is closed when the test ends.
func echoServer(t *testing.T) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				io.Copy(c, c)
			}()
		}
	}()
	return ln.Addr().String()
}

// roundTrip writes line and reads it back within timeout.
func roundTrip(c net.Conn, r *bufio.Reader, line string, timeout time.Duration) (string, error) {
	c.SetDeadline(time.Now().Add(timeout))
	defer c.SetDeadline(time.Time{})
	if _, err := c.Write([]byte(line + "\n")); err != nil {
		return "", err
	}
	got, err := r.ReadString('\n')
	if err != nil {
		return "", err
	}
	return got[:len(got)-1], nil
}

func dial(t *testing.T, addr string) (net.Conn, *bufio.Reader) {
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c, bufio.NewReader(c)
}

func TestTCPForwardPauseResume(t *testing.T) {
	p := NewTCP(t, echoServer(t))
	c, r := dial(t, p.Addr)
	if got, err := roundTrip(c, r, "hello", 5*time.Second); err != nil || got != "hello" {
		t.Fatalf("forward: %q %v", got, err)
	}
	p.Pause()
	p.Pause() // twice is harmless
	// Nothing comes back on the open connection; it is not closed either.
	if _, err := roundTrip(c, r, "held", 300*time.Millisecond); !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("paused: want a timeout, got %v", err)
	}
	// A new client connects (the kernel accepts it) but gets nothing.
	c2, r2 := dial(t, p.Addr)
	if _, err := roundTrip(c2, r2, "new", 300*time.Millisecond); !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("paused, new connection: want a timeout, got %v", err)
	}
	p.Resume()
	p.Resume()
	// What was held is delivered, in order, on both connections.
	c.SetDeadline(time.Now().Add(5 * time.Second))
	if got, err := r.ReadString('\n'); err != nil || got != "held\n" {
		t.Fatalf("after resume: %q %v", got, err)
	}
	c2.SetDeadline(time.Now().Add(5 * time.Second))
	if got, err := r2.ReadString('\n'); err != nil || got != "new\n" {
		t.Fatalf("after resume, new connection: %q %v", got, err)
	}
	if got, err := roundTrip(c, r, "again", 5*time.Second); err != nil || got != "again" {
		t.Fatalf("after resume: %q %v", got, err)
	}
	if p.Accepted() != 2 || p.Open() != 2 {
		t.Fatalf("accepted %d, open %d; want 2 and 2", p.Accepted(), p.Open())
	}
}

func TestTCPResetAll(t *testing.T) {
	p := NewTCP(t, echoServer(t))
	c, r := dial(t, p.Addr)
	if _, err := roundTrip(c, r, "x", 5*time.Second); err != nil {
		t.Fatal(err)
	}
	if n := p.ResetAll(); n != 1 {
		t.Fatalf("reset %d connections, want 1", n)
	}
	c.SetDeadline(time.Now().Add(5 * time.Second))
	if _, err := r.ReadString('\n'); err == nil || errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("want a reset or EOF, got %v", err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for p.Open() != 0 {
		if time.Now().After(deadline) {
			t.Fatalf("%d connections still open after the reset", p.Open())
		}
		time.Sleep(10 * time.Millisecond)
	}
	// New connections work.
	c2, r2 := dial(t, p.Addr)
	if got, err := roundTrip(c2, r2, "y", 5*time.Second); err != nil || got != "y" {
		t.Fatalf("after reset: %q %v", got, err)
	}
	// A paused proxy resets clients whose connections are still waiting.
	p.Pause()
	c3, r3 := dial(t, p.Addr)
	c3.Write([]byte("z\n"))
	for p.Accepted() != 3 {
		if time.Now().After(deadline) {
			t.Fatal("third connection not accepted")
		}
		time.Sleep(10 * time.Millisecond)
	}
	p.ResetAll()
	c3.SetDeadline(time.Now().Add(5 * time.Second))
	if _, err := r3.ReadString('\n'); err == nil || errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("paused then reset: want a reset or EOF, got %v", err)
	}
}

func TestTCPDeadTarget(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	dead := ln.Addr().String()
	ln.Close()
	p := NewTCP(t, dead)
	// The reset may come so fast that it fails the client's connect.
	if c, err := net.Dial("tcp", p.Addr); err == nil {
		defer c.Close()
		c.SetDeadline(time.Now().Add(10 * time.Second))
		if _, err := bufio.NewReader(c).ReadString('\n'); err == nil || errors.Is(err, os.ErrDeadlineExceeded) {
			t.Fatalf("dead target: want a reset or EOF, got %v", err)
		}
	}
	p.SetTarget(echoServer(t))
	c2, r2 := dial(t, p.Addr)
	if got, err := roundTrip(c2, r2, "up", 5*time.Second); err != nil || got != "up" {
		t.Fatalf("after SetTarget: %q %v", got, err)
	}
}
