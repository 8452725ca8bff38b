package auth

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"

	"github.com/hashicorp/vault/api"
	"github.com/rotorproject/rotor/internal/atomicfile"
)

// LDAPOptions configure the ldap method (Vault Agent's keys).
type LDAPOptions struct {
	Username         string
	PasswordFilePath string
	// RemovePasswordAfterReading deletes the file once read; the password
	// is kept in memory for later logins.
	RemovePasswordAfterReading bool
	// RemovePasswordFollowsSymlinks deletes the file a symlink at
	// PasswordFilePath points to, not the symlink.
	RemovePasswordFollowsSymlinks bool
}

// ldap logs in with Vault's ldap auth method: a username from the config
// and a password read from a file, posted to <mount>/login/<username>.
// As Vault Agent's ldap method, the file's bytes are the password as they
// are (a trailing newline is part of it), the last password read is kept
// for later logins once the file is gone (or empty), and the file is
// removed after reading unless configured otherwise.
type ldap struct {
	mount string
	cfg   LDAPOptions
	log   *slog.Logger

	mu     sync.Mutex
	latest string // the last non-empty password read
	warned bool   // the trailing-newline warning was given
}

func newLDAP(mount string, o LDAPOptions, log *slog.Logger) (Method, error) {
	switch {
	case o.Username == "":
		return nil, errors.New("ldap: username is required")
	case o.PasswordFilePath == "":
		return nil, errors.New("ldap: password_file_path is required")
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &ldap{mount: mount, cfg: o, log: log}, nil
}

func (l *ldap) credentialFiles() []string { return []string{l.cfg.PasswordFilePath} }

func (l *ldap) Login(ctx context.Context, c *api.Client) (*api.Secret, error) {
	pw, err := l.password()
	if err != nil {
		return nil, err
	}
	return loginWrite(ctx, c, l.mount+"/login/"+l.cfg.Username, map[string]any{"password": pw})
}

// password reads the password file if there is one and returns the latest
// password. A missing file is not an error while a password is known.
func (l *ldap) password() (string, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if err := l.ingest(); err != nil {
		if l.latest == "" {
			return "", err
		}
		// Vault Agent logs the error and goes on with the password it has.
		l.log.Warn("ldap: could not read the password file; using the password read before", "path", l.cfg.PasswordFilePath, "error", err)
	}
	if l.latest == "" {
		return "", fmt.Errorf("%w: ldap: no password: %s does not exist or is empty, and none was read before", ErrCredentials, l.cfg.PasswordFilePath)
	}
	return l.latest, nil
}

// ingest reads the password file into l.latest, then removes it if
// configured. The file's absence is not an error.
func (l *ldap) ingest() error {
	path := l.cfg.PasswordFilePath
	st, err := os.Lstat(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	} else if err != nil {
		return fmt.Errorf("%w: ldap: password file: %v", ErrCredentials, unwrapPath(err))
	}
	target := path
	if st.Mode()&fs.ModeSymlink != 0 {
		// A dangling symlink is an absent file, as for Vault Agent.
		if target, err = filepath.EvalSymlinks(path); errors.Is(err, fs.ErrNotExist) {
			return nil
		} else if err != nil {
			return fmt.Errorf("%w: ldap: password file %s: %v", ErrCredentials, path, unwrapPath(err))
		}
	}
	b, err := atomicfile.ReadRegular(path, maxCredentialBytes)
	if err != nil {
		return fmt.Errorf("%w: ldap: read the password from %s: %v", ErrCredentials, path, unwrapPath(err))
	}
	if len(b) == 0 {
		l.log.Warn("ldap: the password file is empty; keeping the password read before", "path", path)
	} else {
		l.latest = string(b)
		if strings.HasSuffix(l.latest, "\n") && !l.warned {
			l.warned = true
			l.log.Warn("ldap: the password file ends with a newline, which is sent as part of the password, as Vault Agent does; write the file without one (printf '%s')", "path", path)
		}
	}
	if l.cfg.RemovePasswordAfterReading {
		rm := path
		if l.cfg.RemovePasswordFollowsSymlinks {
			rm = target
		}
		if err := os.Remove(rm); err != nil && !errors.Is(err, fs.ErrNotExist) {
			l.log.Warn("ldap: could not remove the password file after reading it; set remove_password_after_reading = false to keep it on purpose",
				"path", rm, "error", unwrapPath(err))
		}
	}
	return nil
}

// unwrapPath drops an *fs.PathError's operation and path, which the
// caller's message already names.
func unwrapPath(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}
