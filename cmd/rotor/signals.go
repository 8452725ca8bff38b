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

// handleSignals runs until ctx is done, turning signals into agent calls
// (the signals are in signals_unix.go; Windows's stand-ins for them in
// events_windows.go). It returns a context cancelled when rotor should stop.
func handleSignals(ctx context.Context, a *agent.Agent, lg *logging, notify systemd, reload func() (*config.Config, error)) (context.Context, func()) {
	log := lg.log
	ctx, cancel := context.WithCancel(ctx)
	ch := make(chan os.Signal, 8)
	signal.Notify(ch, handled...)
	listenEvents(ctx, ch, log)
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
			case sigReload:
				if reload == nil {
					if !a.Signal(s) {
						log.Info("signal ignored", "signal", s.String())
					}
					continue
				}
				reloadConfig(a, lg, notify, reload)
				continue
			case sigRotate:
				n := a.Rotate("")
				log.Info(msgRotate, "secrets", n)
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
	log.Info(msgReload)
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
