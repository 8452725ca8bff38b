package main

import (
	"context"
	"errors"
	"os"
	"os/signal"
	"syscall"

	"github.com/rotorproject/rotor/agent"
	"github.com/rotorproject/rotor/agent/config"
)

// Signals rotor handles:
//
//	SIGINT, SIGTERM  stop (forwarded to the child in exec mode; a second one stops rotor)
//	SIGHUP           reload the configuration (rotor agent)
//	SIGQUIT, SIGUSR2 forwarded to the child in exec mode
//	SIGUSR1          fetch every secret again now (rotor rotate)
var handled = []os.Signal{syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP, syscall.SIGQUIT, syscall.SIGUSR1, syscall.SIGUSR2}

// handleSignals runs until ctx is done, turning signals into agent calls.
// It returns a context cancelled when rotor should stop.
func handleSignals(ctx context.Context, a *agent.Agent, lg *logging, notify systemd, reload func() (*config.Config, error)) (context.Context, func()) {
	log := lg.log
	ctx, cancel := context.WithCancel(ctx)
	ch := make(chan os.Signal, 8)
	signal.Notify(ch, handled...)
	go func() {
		stopping := 0
		for {
			var s os.Signal
			select {
			case <-ctx.Done():
				return
			case s = <-ch:
			}
			switch s {
			case syscall.SIGHUP:
				if reload == nil {
					if !a.Signal(s) {
						log.Info("signal ignored", "signal", s.String())
					}
					continue
				}
				reloadConfig(a, lg, notify, reload)
				continue
			case syscall.SIGUSR1:
				n := a.Rotate("")
				log.Info("SIGUSR1: fetching every secret again", "secrets", n)
				continue
			case syscall.SIGINT, syscall.SIGTERM:
				stopping++
				// In exec mode the first stop signal goes to the child;
				// rotor follows when it exits.
				if stopping == 1 && a.Signal(s) {
					continue
				}
				if stopping > 2 {
					os.Exit(exitFailed)
				}
				log.Info("stopping", "signal", s.String())
				cancel()
			default:
				if !a.Signal(s) {
					log.Info("signal ignored", "signal", s.String())
				}
			}
		}
	}()
	return ctx, func() { signal.Stop(ch); cancel() }
}

// reloadConfig reads the configuration again and applies it; a broken one
// is logged with every problem and the running one continues.
func reloadConfig(a *agent.Agent, lg *logging, notify systemd, reload func() (*config.Config, error)) {
	log := lg.log
	notify.reloading()
	defer notify.ready()
	log.Info("SIGHUP: reloading the configuration")
	cfg, err := reload()
	if err != nil {
		var ce *config.Error
		if errors.As(err, &ce) {
			for _, p := range ce.Problems() {
				log.Error("new configuration refused; the running one continues", "problem", p)
			}
			return
		}
		log.Error("new configuration refused; the running one continues", "error", err)
		return
	}
	if err := a.Reload(cfg); err != nil {
		log.Error("new configuration refused; the running one continues", "error", err)
		return
	}
	lg.apply(cfg)
	logConfigWarnings(lg.log, cfg)
}
