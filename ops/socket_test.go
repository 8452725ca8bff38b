package ops

import (
	"context"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// unixClient talks HTTP over the socket at path.
func unixClient(path string) *http.Client {
	return &http.Client{Transport: &http.Transport{DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
		return (&net.Dialer{}).DialContext(ctx, "unix", path)
	}}}
}

// A listener address naming an existing file (a typo, or a malicious
// config) never deletes it.
func TestSocketNeverDeletesAFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "passwd")
	os.WriteFile(path, []byte("root:x:0:0\n"), 0o644)
	if s, err := NewServer(ListenerOptions{Type: "unix", Address: path, Mode: 0o600}, &fakeSource{}, nil, discard(), APIOptions{}); err == nil {
		s.Close()
		t.Fatal("a listener replaced a regular file")
	} else if !strings.Contains(err.Error(), "not a socket") {
		t.Errorf("error %q does not say why", err)
	}
	if b, err := os.ReadFile(path); err != nil || string(b) != "root:x:0:0\n" {
		t.Fatalf("the file is gone or changed: %q %v", b, err)
	}
}

// A live socket (another rotor) is not stolen; a stale one is replaced.
func TestSocketLiveRefusedStaleReplaced(t *testing.T) {
	path := filepath.Join(t.TempDir(), "rotor.sock")
	serve(t, ListenerOptions{Type: "unix", Address: path, Mode: 0o600}, &fakeSource{})
	if s, err := NewServer(ListenerOptions{Type: "unix", Address: path, Mode: 0o600}, &fakeSource{}, nil, discard(), APIOptions{}); err == nil {
		s.Close()
		t.Fatal("a second server took over a live socket")
	} else if !strings.Contains(err.Error(), "another process is listening") {
		t.Errorf("error %q does not say why", err)
	}
	if code, _, _ := call(t, unixClient(path), "GET", "http://rotor/healthz", nil, nil); code != 200 {
		t.Fatalf("the first server no longer answers: %d", code)
	}

	stale := filepath.Join(t.TempDir(), "stale.sock")
	ln, err := net.Listen("unix", stale)
	if err != nil {
		t.Fatal(err)
	}
	ln.(*net.UnixListener).SetUnlinkOnClose(false)
	ln.Close() // a crashed rotor's socket: nobody listens
	serve(t, ListenerOptions{Type: "unix", Address: stale, Mode: 0o600}, &fakeSource{})
	if code, _, _ := call(t, unixClient(stale), "GET", "http://rotor/healthz", nil, nil); code != 200 {
		t.Fatalf("no server on the replaced stale socket: %d", code)
	}
}

// Shutdown removes the server's own socket, and nothing that replaced it.
func TestSocketShutdownRemovesOnlyItsOwn(t *testing.T) {
	dir := t.TempDir()
	own, replaced := filepath.Join(dir, "own.sock"), filepath.Join(dir, "replaced.sock")
	for _, p := range []string{own, replaced} {
		s, err := NewServer(ListenerOptions{Type: "unix", Address: p, Mode: 0o600}, &fakeSource{}, nil, discard(), APIOptions{})
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() { done <- s.Run(ctx) }()
		if p == replaced {
			os.Remove(p)
			os.WriteFile(p, []byte("not yours"), 0o600)
		}
		cancel()
		<-done
	}
	if _, err := os.Lstat(own); !os.IsNotExist(err) {
		t.Errorf("own socket left behind: %v", err)
	}
	if b, _ := os.ReadFile(replaced); string(b) != "not yours" {
		t.Errorf("shutdown deleted a file that replaced the socket")
	}
}

// The socket never exists at its path with a mode looser than configured:
// a poller that stats the path as fast as it can while servers start sees
// only the final mode.
func TestSocketHasFinalModeFromTheStart(t *testing.T) {
	dir := t.TempDir()
	for i := range 200 {
		path := filepath.Join(dir, "s"+string(rune('a'+i%26))+string(rune('a'+i/26)))
		stop, seen := make(chan struct{}), make(chan os.FileMode, 1)
		go func() {
			bad := os.FileMode(0)
			for {
				select {
				case <-stop:
					seen <- bad
					return
				default:
				}
				if fi, err := os.Lstat(path); err == nil && fi.Mode().Perm() != 0o600 {
					bad = fi.Mode().Perm()
				}
			}
		}()
		s, err := NewServer(ListenerOptions{Type: "unix", Address: path, Mode: 0o600}, &fakeSource{}, nil, discard(), APIOptions{})
		close(stop)
		bad := <-seen
		if err != nil {
			t.Fatal(err)
		}
		fi, _ := os.Lstat(path)
		s.Close()
		if bad != 0 || fi.Mode().Perm() != 0o600 {
			t.Fatalf("start %d: the socket was seen with mode %o (final %o), want only 600", i, bad, fi.Mode().Perm())
		}
	}
}
