package main

import (
	"flag"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
)

// cmdReload asks a running agent, found through its pid_file, to read its
// configuration again: SIGHUP on Unix, a named event on Windows (which
// has no SIGHUP).
func cmdReload(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("rotor reload", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var configs configFlags
	fs.Var(&configs, "config", "the running agent's configuration (its pid_file is used)")
	if code, ok := parse(fs, args); !ok {
		return code
	}
	if fs.NArg() > 0 {
		fmt.Fprintln(stderr, "usage: rotor reload -config FILE")
		return exitUsage
	}
	pid, code := askAgent("rotor reload", configs, actionReload, stderr)
	if code != exitOK {
		return code
	}
	fmt.Fprintf(stdout, "asked rotor (pid %d) to reload its configuration\n", pid)
	return exitOK
}

// askAgent finds the running agent through the pid_file of the
// configuration and asks it to do a (notifyAgent). Problems are printed
// to stderr, prefixed with cmd, and returned as an exit code.
func askAgent(cmd string, configs []string, a agentAction, stderr io.Writer) (pid, code int) {
	cfg, code := loadConfig(stderr, configs)
	if cfg == nil {
		return 0, code
	}
	if cfg.PidFile == "" {
		fmt.Fprintf(stderr, "%s: the configuration has no pid_file, so the running agent cannot be found\n", cmd)
		return 0, exitFailed
	}
	b, err := os.ReadFile(cfg.PidFile)
	if err != nil {
		fmt.Fprintf(stderr, "%s: read pid_file: %v\n", cmd, err)
		return 0, exitFailed
	}
	pid, err = strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil || pid <= 0 {
		fmt.Fprintf(stderr, "%s: pid_file %s does not hold a process id\n", cmd, cfg.PidFile)
		return 0, exitFailed
	}
	if err := notifyAgent(pid, a); err != nil {
		fmt.Fprintf(stderr, "%s: pid_file %s: %v\n", cmd, cfg.PidFile, err)
		return 0, exitFailed
	}
	return pid, exitOK
}
