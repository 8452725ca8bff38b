//go:build unix

package main

import (
	"context"
	"log/slog"
	"os"
	"syscall"
)

// Signals rotor handles:
//
//	SIGINT, SIGTERM  stop (forwarded to the child in exec mode; a second one stops rotor)
//	SIGHUP           reload the configuration (rotor agent; rotor reload sends it)
//	SIGQUIT, SIGUSR2 forwarded to the child in exec mode
//	SIGUSR1          fetch every secret again now (rotor rotate sends it)
var handled = []os.Signal{syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP, syscall.SIGQUIT, syscall.SIGUSR1, syscall.SIGUSR2}

// sigReload and sigRotate are the signals of rotor reload and rotor rotate.
var (
	sigReload os.Signal = syscall.SIGHUP
	sigRotate os.Signal = syscall.SIGUSR1
)

// Log messages of the two requests.
const (
	msgReload = "SIGHUP: reloading the configuration"
	msgRotate = "SIGUSR1: fetching every secret again"
)

// listenEvents does nothing on Unix: requests arrive as signals.
func listenEvents(context.Context, chan<- os.Signal, *slog.Logger) {}

// notifyAgent sends action's signal to pid, once checked to be a rotor
// agent (signalRotor).
func notifyAgent(pid int, a agentAction) error {
	sig := syscall.SIGUSR1
	if a == actionReload {
		sig = syscall.SIGHUP
	}
	return signalRotor(pid, sig)
}
