package main

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/rotorproject/rotor/agent/config"
	"github.com/rotorproject/rotor/ops"
)

// cmdStatus prints a running agent's /agent/v1/status as tables (or JSON).
func cmdStatus(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("rotor status", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var configs configFlags
	fs.Var(&configs, "config", "the running agent's configuration (its first listener is used)")
	addr := fs.String("address", "", "the local API instead: http://127.0.0.1:8210 or unix:///run/rotor.sock")
	caCert := fs.String("ca-cert", "", "CA file that signs the local API's certificate (default $"+caCertEnv+")")
	format := fs.String("format", "table", "table or json")
	if code, ok := parse(fs, args); !ok {
		return code
	}
	client, base, err := statusClient(*addr, *caCert, configs)
	if err != nil {
		fmt.Fprintf(stderr, "rotor status: %v\n", err)
		return exitFailed
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	resp, err := apiCall(ctx, client, "GET", base+"/agent/v1/status")
	if err != nil {
		fmt.Fprintf(stderr, "rotor status: is rotor running? %v\n", err)
		return exitFailed
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if *format == "json" {
		stdout.Write(body)
		return exitOK
	}
	if resp.StatusCode != http.StatusOK {
		fmt.Fprintf(stderr, "rotor status: %s: %s\n", resp.Status, strings.TrimSpace(string(body)))
		return exitFailed
	}
	var st ops.StatusView
	if err := json.Unmarshal(body, &st); err != nil {
		fmt.Fprintf(stderr, "rotor status: unexpected answer: %v\n", err)
		return exitFailed
	}
	printStatus(stdout, st, time.Now())
	if !st.Ready {
		return exitFailed
	}
	return exitOK
}

// statusClient is the HTTP client of status, health and rotate, and the
// local API's base URL: from -address, or the first listener of the
// configuration. An https listener's certificate is verified (apiTLS).
func statusClient(addr, caCert string, configs []string) (*http.Client, string, error) {
	pin := ""
	if addr == "" {
		if len(configs) == 0 {
			return nil, "", fmt.Errorf("give -config FILE (with a listener block) or -address")
		}
		cfg, err := config.Load(configs, os.LookupEnv) // as the agent reads it: VAULT_TOKEN may stand for auto_auth
		if err != nil {
			return nil, "", err
		}
		if len(cfg.Listeners) == 0 {
			return nil, "", fmt.Errorf("the configuration has no listener block: the agent serves no status")
		}
		l := cfg.Listeners[0]
		switch {
		case l.Type == "unix":
			addr = "unix://" + l.Address
		case l.TLSCertFile != "":
			addr, pin = "https://"+l.Address, l.TLSCertFile
		default:
			addr = "http://" + l.Address
		}
	}
	if path, ok := strings.CutPrefix(addr, "unix://"); ok {
		tr := &http.Transport{DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			return (&net.Dialer{}).DialContext(ctx, "unix", path)
		}}
		return &http.Client{Transport: tr}, "http://rotor", nil
	}
	u, err := url.Parse(addr)
	if err != nil {
		return nil, "", fmt.Errorf("-address %q: %v", addr, err)
	}
	if caCert == "" {
		caCert = os.Getenv(caCertEnv)
	}
	tc, err := apiTLS(u.Hostname(), caCert, pin)
	if err != nil {
		return nil, "", err
	}
	tr := &http.Transport{TLSClientConfig: tc}
	return &http.Client{Transport: tr}, strings.TrimSuffix(addr, "/"), nil
}

// caCertEnv names the CA file that signs the local API's certificate,
// when -ca-cert is not given.
const caCertEnv = "ROTOR_CACERT"

// apiTLS is how the CLI checks the local API's certificate, first rule
// that applies:
//
//   - a CA file (-ca-cert, ROTOR_CACERT): the certificate must chain to it
//     and name the address's host;
//   - the listener's tls_cert_file, read from -config: the listener must
//     present exactly that certificate (pinned: no name or chain check,
//     so a self-signed certificate works at any address, and nothing else
//     does);
//   - a loopback address (127.0.0.0/8, ::1, localhost, or an unspecified
//     address, which connects to this host): not checked. The connection
//     never leaves the host and carries no secret (status and health send
//     nothing; rotate only names a path): the local API's certificate is
//     mostly self-signed for loopback;
//   - anything else: the system's roots and the host's name, as any HTTPS
//     client checks them.
func apiTLS(host, caFile, pinFile string) (*tls.Config, error) {
	if caFile != "" {
		b, err := os.ReadFile(caFile)
		if err != nil {
			return nil, fmt.Errorf("CA certificate: %v", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(b) {
			return nil, fmt.Errorf("CA certificate %s: no PEM certificate in it", caFile)
		}
		return &tls.Config{RootCAs: pool}, nil
	}
	if pinFile != "" {
		if want, err := firstCert(pinFile); err == nil {
			return &tls.Config{
				InsecureSkipVerify: true, // replaced by the pin below
				VerifyConnection: func(cs tls.ConnectionState) error {
					if len(cs.PeerCertificates) == 0 || !bytes.Equal(cs.PeerCertificates[0].Raw, want) {
						return fmt.Errorf("the listener's certificate is not the one its tls_cert_file %s holds", pinFile)
					}
					return nil
				},
			}, nil
		}
		// Unreadable by this user: the rules below apply.
	}
	if loopbackHost(host) {
		return &tls.Config{InsecureSkipVerify: true}, nil
	}
	return &tls.Config{}, nil
}

// firstCert returns the DER bytes of the first certificate in a PEM file.
func firstCert(path string) ([]byte, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	for {
		var blk *pem.Block
		if blk, b = pem.Decode(b); blk == nil {
			return nil, fmt.Errorf("%s: no certificate", path)
		}
		if blk.Type == "CERTIFICATE" {
			return blk.Bytes, nil
		}
	}
}

// loopbackHost reports whether host names this machine by a loopback or
// unspecified address, or is "localhost".
func loopbackHost(host string) bool {
	if host == "" || strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && (ip.IsLoopback() || ip.IsUnspecified())
}

// apiCall sends one request to the local API. Every request carries
// "X-Vault-Request: true": mutations need it, and so does every request to
// a listener with require_request_header.
func apiCall(ctx context.Context, client *http.Client, method, url string) (*http.Response, error) {
	req, err := http.NewRequestWithContext(ctx, method, url, nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set(ops.RequestHeader, "true")
	return client.Do(req)
}

func printStatus(w io.Writer, st ops.StatusView, now time.Time) {
	in := func(t time.Time) string {
		if t.IsZero() {
			return "-"
		}
		return t.Sub(now).Round(time.Second).String()
	}
	fmt.Fprintf(w, "ready: %v   authenticated: %v", st.Ready, st.Authenticated)
	if t := st.Token; t != nil {
		fmt.Fprintf(w, "   token: accessor %s, expires in %s, renewable %v", t.Accessor, in(t.Expires), t.Renewable)
	}
	fmt.Fprintln(w)
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "\nSECRET\tCLASS\tEXPIRES IN\tNEXT\tIN\tERROR")
	for _, l := range st.Leases {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", l.Path, l.Class, in(l.Expires), l.NextAction, in(l.NextAt), errText(l.Error))
	}
	fmt.Fprintln(tw, "\nTEMPLATE\tRENDERED\tLAST RENDER\tRELOAD EXIT\tFAILURES\tERROR")
	for _, t := range st.Templates {
		last, exit := "-", "-"
		if !t.LastRender.IsZero() {
			last = now.Sub(t.LastRender).Round(time.Second).String() + " ago"
		}
		if t.CommandExit != nil {
			exit = fmt.Sprint(*t.CommandExit)
		}
		fmt.Fprintf(tw, "%s\t%v\t%s\t%s\t%d\t%s\n", t.Name, t.Rendered, last, exit, t.Failures, templateErrText(t))
	}
	if len(st.HeldLeases) > 0 {
		fmt.Fprintln(tw, "\nHELD LEASE (consumer not confirmed on its successor)\tSINCE\tEXPIRES IN\tRENEWABLE")
		for _, h := range st.HeldLeases {
			fmt.Fprintf(tw, "%s\t%s ago\t%s\t%v\n", h.LeaseID, now.Sub(h.Since).Round(time.Second), in(h.Expires), h.Renewable)
		}
	}
	tw.Flush()
	if hasErrors(st) {
		fmt.Fprintln(w, "\nErrors are shown by class; their full text is in rotor's log.")
	}
}

func hasErrors(st ops.StatusView) bool {
	for _, l := range st.Leases {
		if l.Error != nil {
			return true
		}
	}
	for _, t := range st.Templates {
		if t.Error != nil || t.CommandError != nil {
			return true
		}
	}
	return false
}

// errText is an error class as the table shows it: the API gives no
// error text (the full error is in rotor's log).
func errText(e *ops.ErrorInfo) string {
	if e == nil {
		return ""
	}
	return e.String()
}

func templateErrText(t ops.TemplateView) string {
	s := errText(t.Error)
	if c := errText(t.CommandError); c != "" {
		if s != "" {
			s += "; "
		}
		s += "reload " + c
	}
	if c := t.ConfirmText(); c != "" {
		if s != "" {
			s += "; "
		}
		s += c
	}
	return s
}

// cmdHealth checks a running agent's /healthz (for container health
// checks): exit 0 when it answers 200.
func cmdHealth(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("rotor health", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var configs configFlags
	fs.Var(&configs, "config", "the running agent's configuration (its first listener is used)")
	addr := fs.String("address", "", "the local API instead: http://127.0.0.1:8210 or unix:///run/rotor.sock")
	ready := fs.Bool("ready", false, "check /readyz (authenticated, every template rendered) instead of /healthz")
	caCert := fs.String("ca-cert", "", "CA file that signs the local API's certificate (default $"+caCertEnv+")")
	if code, ok := parse(fs, args); !ok {
		return code
	}
	client, base, err := statusClient(*addr, *caCert, configs)
	if err != nil {
		fmt.Fprintf(stderr, "rotor health: %v\n", err)
		return exitFailed
	}
	path := "/healthz"
	if *ready {
		path = "/readyz"
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	resp, err := apiCall(ctx, client, "GET", base+path)
	if err != nil {
		fmt.Fprintf(stderr, "rotor health: %v\n", err)
		return exitFailed
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	stdout.Write(body)
	if resp.StatusCode != http.StatusOK {
		return exitFailed
	}
	return exitOK
}
