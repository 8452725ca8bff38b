//go:build !windows

package main

import "context"

// asService runs run: only Windows has a service manager to talk to
// (systemd's notifications are in systemd.go).
func asService(run func(context.Context) int) int { return run(context.Background()) }
