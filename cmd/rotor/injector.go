package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/rotorproject/rotor/injector"
)

const injectorUsage = `Usage: rotor injector <command> [flags]

Commands:
  serve      run the mutating admission webhook (HTTPS, AdmissionReview v1)
  render     print a pod (or workload) file as the webhook would mutate it, without a cluster
  copy-self  copy the rotor binary to a path (the init container of env mode)
  signal     send a signal to processes by name (the sidecar's reload command)
  restart    restart the pod's Deployment, StatefulSet or DaemonSet when files change
             (the sidecar's reload command with restart-on-change)
`

// cmdInjector is `rotor injector`: rotor's own Kubernetes injector.
func cmdInjector(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, injectorUsage)
		return exitUsage
	}
	switch args[0] {
	case "serve":
		return cmdInjectorServe(args[1:], stderr)
	case "render":
		return cmdInjectorRender(args[1:], stdout, stderr)
	case "copy-self":
		if len(args) != 2 {
			fmt.Fprintln(stderr, "Usage: rotor injector copy-self DEST")
			return exitUsage
		}
		if err := injector.CopySelf(args[1]); err != nil {
			fmt.Fprintf(stderr, "rotor injector copy-self: %v\n", err)
			return exitFailed
		}
		return exitOK
	case "signal":
		fs := flag.NewFlagSet("rotor injector signal", flag.ContinueOnError)
		fs.SetOutput(stderr)
		sig := fs.String("signal", "SIGHUP", "the signal to send")
		comm := fs.String("container-process", "", "the process name (/proc/PID/comm) to signal")
		if code, ok := parse(fs, args[1:]); !ok {
			return code
		}
		if *comm == "" {
			fmt.Fprintln(stderr, "rotor injector signal: -container-process is required")
			return exitUsage
		}
		n, err := injector.SignalProcesses("/proc", *comm, *sig)
		if err != nil {
			fmt.Fprintf(stderr, "rotor injector signal: %v\n", err)
			return exitFailed
		}
		if n == 0 {
			fmt.Fprintf(stdout, "no process named %s (not started yet, or no shared process namespace): nothing to signal\n", *comm)
			return exitOK
		}
		fmt.Fprintf(stdout, "sent %s to %d process(es) named %s\n", strings.ToUpper(*sig), n, *comm)
		return exitOK
	case "restart":
		return cmdInjectorRestart(args[1:], stdout, stderr)
	case "-h", "-help", "--help", "help":
		fmt.Fprint(stdout, injectorUsage)
		return exitOK
	}
	fmt.Fprintf(stderr, "rotor injector: unknown command %q\n\n%s", args[0], injectorUsage)
	return exitUsage
}

// injectorFlags are the injector's defaults, shared by serve and render.
func injectorFlags(fs *flag.FlagSet) func() (injector.Options, error) {
	d := injector.DefaultOptions()
	addr := fs.String("vault-address", d.VaultAddress, "default Vault address (vault.hashicorp.com/service overrides it)")
	authPath := fs.String("auth-path", d.AuthPath, "default auth mount (vault.hashicorp.com/auth-path)")
	authType := fs.String("auth-type", d.AuthType, "default auth method (vault.hashicorp.com/auth-type)")
	image := fs.String("image", d.Image, "rotor's container image (vault.hashicorp.com/agent-image overrides it)")
	rotor := fs.String("rotor-path", d.Rotor, "the rotor binary's path in the image")
	sidecar := fs.String("sidecar", d.Sidecar, "native (Kubernetes 1.29+), classic, or (serve only) auto: from the API server's version")
	tpl := fs.String("default-template", d.DefaultTemplate, "map or json (vault.hashicorp.com/agent-inject-default-template)")
	uid := fs.Int64("run-as-user", d.RunAsUser, "the sidecar's user id")
	gid := fs.Int64("run-as-group", d.RunAsGroup, "the sidecar's group id")
	port := fs.Int("status-port", d.StatusPort, "the sidecar's loopback port for /readyz (the startup probe)")
	cpuReq := fs.String("requests-cpu", d.Requests["cpu"], "the sidecar's CPU request")
	memReq := fs.String("requests-mem", d.Requests["mem"], "the sidecar's memory request")
	cpuLim := fs.String("limits-cpu", d.Limits["cpu"], "the sidecar's CPU limit")
	memLim := fs.String("limits-mem", d.Limits["mem"], "the sidecar's memory limit")
	return func() (injector.Options, error) {
		o := injector.Options{VaultAddress: *addr, AuthPath: *authPath, AuthType: *authType, Image: *image, Rotor: *rotor,
			Sidecar: *sidecar, DefaultTemplate: *tpl, RunAsUser: *uid, RunAsGroup: *gid, StatusPort: *port,
			Requests: map[string]string{"cpu": *cpuReq, "mem": *memReq}, Limits: map[string]string{"cpu": *cpuLim, "mem": *memLim}}
		if o.Sidecar == "auto" {
			return o, nil // resolved by serve
		}
		return o, o.Validate()
	}
}

// cmdInjectorRender prints the mutated documents of a file (or stdin).
func cmdInjectorRender(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("rotor injector render", flag.ContinueOnError)
	fs.SetOutput(stderr)
	file := fs.String("f", "", "the pod or workload file, YAML or JSON (- for stdin)")
	format := fs.String("o", "json", "output format: json or yaml")
	options := injectorFlags(fs)
	if code, ok := parse(fs, args); !ok {
		return code
	}
	o, err := options()
	if err == nil && o.Sidecar == "auto" {
		err = fmt.Errorf("-sidecar auto needs a cluster; render takes native or classic")
	}
	if err != nil || *file == "" {
		if err == nil {
			err = fmt.Errorf("-f FILE is required")
		}
		fmt.Fprintf(stderr, "rotor injector render: %v\n", err)
		return exitUsage
	}
	if *format != "json" && *format != "yaml" {
		fmt.Fprintf(stderr, "rotor injector render: -o %q: want json or yaml\n", *format)
		return exitUsage
	}
	var in []byte
	if *file == "-" {
		in, err = io.ReadAll(io.LimitReader(os.Stdin, 16<<20))
	} else {
		in, err = os.ReadFile(*file)
	}
	if err != nil {
		fmt.Fprintf(stderr, "rotor injector render: %v\n", err)
		return exitFailed
	}
	docs, err := injector.Render(in, o)
	if err != nil {
		fmt.Fprintf(stderr, "rotor injector render: %s: %v\n", *file, err)
		return exitFailed
	}
	var objs []any
	for _, d := range docs {
		for _, w := range d.Warnings {
			fmt.Fprintf(stderr, "warning: %s %s: %s\n", d.Kind, d.Name, w)
		}
		objs = append(objs, d.Object)
	}
	if len(objs) > 1 && *format == "json" {
		objs = []any{map[string]any{"apiVersion": "v1", "kind": "List", "items": objs}}
	}
	if err := injector.Encode(stdout, objs, *format); err != nil {
		fmt.Fprintf(stderr, "rotor injector render: %v\n", err)
		return exitFailed
	}
	return exitOK
}

// cmdInjectorServe runs the webhook until SIGINT or SIGTERM.
func cmdInjectorServe(args []string, stderr io.Writer) int {
	fs := flag.NewFlagSet("rotor injector serve", flag.ContinueOnError)
	fs.SetOutput(stderr)
	listen := fs.String("listen", ":8443", "address to serve HTTPS on")
	cert := fs.String("tls-cert-file", "/etc/rotor-injector/tls/tls.crt", "the serving certificate (PEM; reloaded when it changes)")
	key := fs.String("tls-key-file", "/etc/rotor-injector/tls/tls.key", "its private key (PEM)")
	failOpen := fs.Bool("fail-open", false, "admit a pod unchanged (with a warning) when its annotations cannot be applied, instead of refusing it")
	level := fs.String("log-level", "info", "log level: debug, info, warn, error")
	logFmt := fs.String("log-format", "json", "log format: text or json")
	saDir := fs.String("sa-dir", "/var/run/secrets/kubernetes.io/serviceaccount", "with -sidecar=auto: the service account's token and ca.crt, to ask the API server its version")
	options := injectorFlags(fs)
	if code, ok := parse(fs, args); !ok {
		return code
	}
	lg, err := newLogging(stderr, *level, *logFmt, "")
	if err != nil {
		fmt.Fprintf(stderr, "rotor injector serve: %v\n", err)
		return exitUsage
	}
	log := lg.log
	o, err := options()
	if err != nil {
		fmt.Fprintf(stderr, "rotor injector serve: %v\n", err)
		return exitUsage
	}
	ctx, stop := signalContext()
	defer stop()
	if o.Sidecar == "auto" {
		o.Sidecar = injector.Classic
		ic, err := injector.InClusterAt(*saDir)
		if err == nil {
			vctx, cancel := context.WithTimeout(ctx, 15*time.Second)
			var mode, ver string
			mode, ver, err = injector.SidecarForServer(vctx, ic)
			cancel()
			if err == nil {
				o.Sidecar = mode
				log.Info("sidecar shape from the API server's version", "component", "injector", "version", ver, "sidecar", mode)
			}
		}
		if err != nil {
			log.Warn("cannot read the API server's version; injecting classic sidecars", "component", "injector", "error", err)
		}
	}
	certs, err := injector.NewCertReloader(*cert, *key, log)
	if err != nil {
		log.Error("cannot load the serving certificate", "component", "injector", "error", err)
		return exitFailed
	}
	h := injector.NewHandler(injector.HandlerOptions{Options: o, FailOpen: *failOpen, Logger: log})
	srv, err := injector.NewServer(*listen, certs, h, log)
	if err != nil {
		log.Error("cannot listen", "component", "injector", "error", err)
		return exitFailed
	}
	if err := srv.Run(ctx); err != nil {
		log.Error("injector stopped", "component", "injector", "error", err)
		return exitFailed
	}
	return exitOK
}

// signalContext is cancelled by SIGINT or SIGTERM.
func signalContext() (context.Context, context.CancelFunc) {
	return signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
}

// cmdInjectorRestart is the reload command of restart-on-change: it
// records the files and, when one changed after the sidecar's first render,
// restarts the pod's workload as `kubectl rollout restart` does.
func cmdInjectorRestart(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("rotor injector restart", flag.ContinueOnError)
	fs.SetOutput(stderr)
	state := fs.String("state", "/home/vault/.restart-state.json", "where to remember the files between runs")
	saDir := fs.String("sa-dir", "/var/run/secrets/kubernetes.io/serviceaccount", "the service account's token and ca.crt")
	debounce := fs.Duration("debounce", 5*time.Second, "wait this long (and up to half as much again) for more changes before restarting")
	pod := fs.String("pod", firstEnv("ROTOR_POD_NAME", "HOSTNAME"), "the pod's name")
	ns := fs.String("namespace", os.Getenv("ROTOR_POD_NAMESPACE"), "the pod's namespace (default: the service account's)")
	if code, ok := parse(fs, args); !ok {
		return code
	}
	if fs.NArg() == 0 {
		fmt.Fprintln(stderr, "Usage: rotor injector restart [flags] -- FILE...")
		return exitUsage
	}
	if *ns == "" {
		if b, err := os.ReadFile(filepath.Join(*saDir, "namespace")); err == nil {
			*ns = strings.TrimSpace(string(b))
		}
	}
	if *pod == "" || *ns == "" {
		fmt.Fprintln(stderr, "rotor injector restart: the pod's name and namespace are unknown (set ROTOR_POD_NAME and ROTOR_POD_NAMESPACE, or -pod and -namespace)")
		return exitUsage
	}
	cluster, err := injector.InClusterAt(*saDir)
	if err != nil {
		fmt.Fprintf(stderr, "rotor injector restart: %v\n", err)
		return exitFailed
	}
	ctx, stop := signalContext()
	defer stop()
	msg, err := injector.Restart(ctx, injector.RestartOptions{Files: fs.Args(), StateFile: *state, Parent: injector.ParentIdentity(),
		Debounce: *debounce, Pod: *pod, Namespace: *ns, Cluster: cluster})
	if err != nil {
		fmt.Fprintf(stderr, "rotor injector restart: %v\n", err)
		return exitFailed
	}
	fmt.Fprintln(stdout, msg)
	return exitOK
}

// firstEnv is the first of the variables that is set.
func firstEnv(names ...string) string {
	for _, n := range names {
		if v := os.Getenv(n); v != "" {
			return v
		}
	}
	return ""
}
