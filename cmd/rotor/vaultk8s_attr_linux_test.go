package main

import (
	"syscall"

	"github.com/rotorproject/rotor/test/harness/proc"
)

// chrootAttr runs a command with root as its root directory.
func chrootAttr(root string) *syscall.SysProcAttr { return &syscall.SysProcAttr{Chroot: root} }

// imageAttr runs a command in the image laid out at root, as uid:gid and
// in a process group of its own (proc.Attr).
func imageAttr(root string, uid, gid uint32) *syscall.SysProcAttr {
	attr := proc.Attr()
	attr.Chroot = root
	attr.Credential = &syscall.Credential{Uid: uid, Gid: gid, Groups: []uint32{}}
	return attr
}
