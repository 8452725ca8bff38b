//go:build windows

package pgtest

import "syscall"

// credential: Windows runs the server as the test's own account.
type credential struct{ Uid, Gid uint32 }

func serverCredential() (*credential, error) { return nil, nil }

func setCredential(*syscall.SysProcAttr, *credential) {}
