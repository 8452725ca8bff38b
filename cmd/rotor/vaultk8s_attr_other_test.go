//go:build !linux

package main

import "syscall"

// The image layout tests chroot, which only the Linux build does; there
// vaultK8sImage skips before these are called.
func chrootAttr(string) *syscall.SysProcAttr { return nil }

func imageAttr(string, uint32, uint32) *syscall.SysProcAttr { return nil }
