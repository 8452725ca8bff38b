//go:build unix

package pgtest

import (
	"fmt"
	"os"
	"os/user"
	"strconv"
	"syscall"
)

// credential is who the server runs as.
type credential = syscall.Credential

// serverCredential returns the identity to run initdb and postgres with:
// nil (the test's own) unless the test runs as root, which PostgreSQL
// refuses. Dropping to the postgres user with a credential, rather than
// through runuser, keeps the postmaster a direct child that stop can signal
// and reap.
func serverCredential() (*credential, error) {
	if os.Geteuid() != 0 {
		return nil, nil
	}
	u, err := user.Lookup(serverUser)
	if err != nil {
		return nil, fmt.Errorf("running as root needs a %q system user to run the server as: %w", serverUser, err)
	}
	uid, err := strconv.ParseUint(u.Uid, 10, 32)
	if err != nil {
		return nil, err
	}
	gid, err := strconv.ParseUint(u.Gid, 10, 32)
	if err != nil {
		return nil, err
	}
	return &credential{Uid: uint32(uid), Gid: uint32(gid), Groups: []uint32{}}, nil
}

// setCredential makes a run as cred (nil: as the test).
func setCredential(a *syscall.SysProcAttr, cred *credential) { a.Credential = cred }
