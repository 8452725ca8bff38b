package ops

import (
	"errors"
	"fmt"
	"io/fs"
	"net"
	"os"
	osuser "os/user"
	"path/filepath"
	"strconv"
	"syscall"
	"time"
)

// socketFile is a unix socket this server created. It is remembered by
// inode so that shutdown removes this socket and nothing else: not a file
// someone put at the path since, not another rotor's socket.
type socketFile struct {
	path string
	fi   os.FileInfo
}

// maxSocketPath is the longest path bind(2) takes (sun_path is 108 bytes
// on Linux, 104 on the BSDs; keep the smaller, with its NUL).
const maxSocketPath = 103

// listenUnix creates the socket at o.Address with its final mode and owner
// from the start. It binds in a fresh 0700 directory beside the address,
// so nobody else can connect while the socket still has the umask's mode,
// sets mode and owner there, then hard-links it into place: link(2)
// never replaces an existing file, unlike rename(2). This avoids
// umask(2), which is process-wide and would race with any goroutine
// creating files.
func listenUnix(o ListenerOptions) (net.Listener, *socketFile, error) {
	path := o.Address
	uid, gid, err := socketOwner(o.SocketUser, o.SocketGroup)
	if err != nil {
		return nil, nil, err
	}
	if err := removeStale(path); err != nil {
		return nil, nil, err
	}
	tmpDir, err := os.MkdirTemp(filepath.Dir(path), ".rotor")
	if err != nil {
		return nil, nil, err
	}
	defer os.Remove(tmpDir)
	tmp := filepath.Join(tmpDir, "s")
	if len(tmp) > maxSocketPath {
		return nil, nil, fmt.Errorf("socket path too long: rotor binds at %s (%d bytes, at most %d) before moving it into place", tmp, len(tmp), maxSocketPath)
	}
	ln, err := net.Listen("unix", tmp)
	if err != nil {
		return nil, nil, err
	}
	// The listener would unlink its own (temporary) path on Close; the
	// socket's real path is removed by socketFile.remove, by inode.
	ln.(*net.UnixListener).SetUnlinkOnClose(false)
	defer os.Remove(tmp)
	fail := func(err error) (net.Listener, *socketFile, error) {
		ln.Close()
		return nil, nil, err
	}
	mode := o.Mode
	if mode == 0 {
		mode = DefaultSocketMode
	}
	if err := os.Chmod(tmp, mode); err != nil {
		return fail(err)
	}
	if uid != -1 || gid != -1 {
		if err := os.Lchown(tmp, uid, gid); err != nil {
			return fail(fmt.Errorf("set the socket's owner to %d:%d: %w", uid, gid, err))
		}
	}
	if err := os.Link(tmp, path); err != nil {
		// EEXIST: something appeared at the path after removeStale.
		return fail(err)
	}
	fi, err := os.Lstat(path)
	if err != nil {
		return fail(err)
	}
	return ln, &socketFile{path: path, fi: fi}, nil
}

// DefaultSocketMode is a unix socket's mode when none is configured: only
// rotor's user may connect.
const DefaultSocketMode os.FileMode = 0o600

// removeStale clears the socket path for a new socket: nothing there, or
// a socket nobody listens on (left by a rotor that crashed). Anything
// else is an error: a regular file or directory is never deleted (the
// address may be a typo for /etc/passwd), and a live socket means another
// process, likely another rotor, serves there.
func removeStale(path string) error {
	fi, err := os.Lstat(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	if fi.Mode().Type() != fs.ModeSocket {
		return fmt.Errorf("%s exists and is not a socket: refusing to replace it", path)
	}
	c, err := net.DialTimeout("unix", path, 2*time.Second)
	if err == nil {
		c.Close()
		return fmt.Errorf("%s: another process is listening on this socket (is another rotor running?)", path)
	}
	if !errors.Is(err, syscall.ECONNREFUSED) {
		return fmt.Errorf("%s: cannot tell whether the socket is in use: %w", path, err)
	}
	// Remove it only if it is still the socket just probed.
	if cur, err := os.Lstat(path); err == nil && os.SameFile(fi, cur) {
		if err := os.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return err
		}
	}
	return nil
}

// remove deletes the socket if the path still names the inode this server
// created; whatever else is there now (another rotor's socket, a file) is
// left alone.
func (f *socketFile) remove() {
	if f == nil {
		return
	}
	if cur, err := os.Lstat(f.path); err == nil && os.SameFile(f.fi, cur) {
		os.Remove(f.path)
	}
}

// socketOwner resolves socket_user and socket_group (names or numeric
// IDs, as Vault takes them) to IDs; -1 leaves that ID unchanged.
func socketOwner(user, group string) (uid, gid int, err error) {
	uid, gid = -1, -1
	if user != "" {
		if uid, err = strconv.Atoi(user); err != nil || uid < 0 {
			u, lerr := osuser.Lookup(user)
			if lerr != nil {
				return 0, 0, fmt.Errorf("socket_user %q: %w", user, lerr)
			}
			uid, _ = strconv.Atoi(u.Uid)
		}
	}
	if group != "" {
		if gid, err = strconv.Atoi(group); err != nil || gid < 0 {
			g, lerr := osuser.LookupGroup(group)
			if lerr != nil {
				return 0, 0, fmt.Errorf("socket_group %q: %w", group, lerr)
			}
			gid, _ = strconv.Atoi(g.Gid)
		}
	}
	return uid, gid, nil
}
