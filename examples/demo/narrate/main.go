// Command narrate tells what rotor does, as it happens, for `make demo`.
// It reads rotor's JSON log (-log-format json) on stdin and prints one
// plain line per event: each file written, each lease renewal, each
// rotation and reload, with the time left before the lease ends (read
// from rotor's local API). It never prints a secret: it reads only the
// username from the database credentials file, and only log fields that
// rotor keeps free of secrets.
//
//	rotor agent -config rotor.hcl -log-format json -log-level debug 2> >(narrate -api http://127.0.0.1:8210 -db out/db.env)
package main

import (
	"bufio"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

func main() {
	api := flag.String("api", "", "rotor's local API (http://host:port), for lease expiry times")
	db := flag.String("db", "", "the rendered database credentials file (only its PGUSER= line is read)")
	raw := flag.String("raw", "", "also append rotor's raw JSON log here")
	next := flag.String("next", "", "a file printed once, when every template has rendered")
	flag.Parse()
	// Ctrl-C reaches the whole process group: rotor stops and logs its
	// last lines, which the narrator still tells; it ends at EOF.
	signal.Ignore(os.Interrupt, syscall.SIGTERM)
	n := &narrator{out: os.Stdout, status: newStatusClient(*api), db: *db, next: *next}
	var rawOut io.Writer = io.Discard
	if *raw != "" {
		f, err := os.OpenFile(*raw, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
		if err != nil {
			fmt.Fprintln(os.Stderr, "narrate:", err)
			os.Exit(1)
		}
		defer f.Close()
		rawOut = f
	}
	sc := bufio.NewScanner(os.Stdin)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		fmt.Fprintln(rawOut, sc.Text())
		n.line(sc.Bytes())
	}
	n.say("stopped", "rotor exited")
}

// narrator turns log records into lines for people.
type narrator struct {
	out    io.Writer
	status *statusClient
	db     string
	next   string
	ready  bool
}

// record is a log line of rotor's (slog's JSON handler).
type record map[string]any

func (r record) str(k string) string {
	switch v := r[k].(type) {
	case string:
		return v
	case float64:
		return fmt.Sprint(v)
	case bool:
		return fmt.Sprint(v)
	}
	return ""
}

func (n *narrator) say(event, format string, args ...any) {
	fmt.Fprintf(n.out, "%s  %-9s %s\n", time.Now().Format("15:04:05"), event, fmt.Sprintf(format, args...))
}

func (n *narrator) line(b []byte) {
	var r record
	if err := json.Unmarshal(b, &r); err != nil {
		// Not a log record (a reload command's own output): pass it on.
		fmt.Fprintf(n.out, "          | %s\n", b)
		return
	}
	secret := r.str("secret")
	switch msg := r.str("msg"); msg {
	case "authenticated":
		n.say("login", "logged in to Vault: token %s, TTL %s (renewed at about 2/3 of it, replaced before its max TTL)", r.str("accessor"), seconds(r.str("ttl")))
	case "token renewed":
		n.say("token", "token %s renewed: TTL %s again", r.str("accessor"), seconds(r.str("ttl")))
	case "token near its end; logging in again":
		n.say("token", "token %s is near its max TTL: logging in again", r.str("accessor"))
	case "token written":
		n.say("token", "token written to %s", r.str("path"))
	case "template rendered":
		if r.str("changed") == "true" {
			n.rendered(r.str("template"))
		}
	case "lease renewed":
		left := n.status.expiresIn(secret)
		if r.str("capped") == "true" {
			n.say("renewed", "%s: lease extended, %s left; that is its max TTL: rotor fetches new credentials before it ends", secret, left)
		} else {
			n.say("renewed", "%s: lease extended, expires in %s", secret, left)
		}
	case "secret refreshed":
		if r.str("changed") != "true" {
			return
		}
		switch r.str("class") {
		case "lease":
			n.say("rotated", "%s: new credentials from Vault, expire in %s (Vault drops the old user when its lease ends)", secret, n.status.expiresIn(secret))
		case "cert":
			n.say("rotated", "%s: new certificate issued", secret)
		default:
			n.say("changed", "%s: the value in Vault changed", secret)
		}
	case "lease renewal failed; fetching a new secret":
		n.say("refused", "%s: Vault refused the renewal (%s): fetching new credentials", secret, errSummary(r.str("error")))
	case "secret refresh failed":
		n.say("failed", "%s: %s (retry in %s)", secret, errSummary(r.str("error")), seconds(r.str("retry_in")))
	case "reload command succeeded":
		n.say("reload", "ran %s (exit 0, %s)", short(r.str("command")), seconds(r.str("duration")))
	case "reload command failed":
		n.say("reload", "%s failed: exit %s (retry in %s)", short(r.str("command")), r.str("exit_code"), seconds(r.str("retry_in")))
	case "all templates rendered":
		if !n.ready {
			n.ready = true
			n.say("ready", "all %s templates rendered", r.str("count"))
			if b, err := os.ReadFile(n.next); err == nil {
				fmt.Fprintf(n.out, "\n%s\n", b)
			}
		}
	case "rotation requested over the API":
		n.say("rotate", "rotation requested: %s secret(s) matching %q", r.str("secrets"), r.str("match"))
	case "local API listening":
		n.say("api", "local API on %s", r.str("address"))
	default:
		if lvl := r.str("level"); lvl == "WARN" || lvl == "ERROR" {
			detail := errSummary(r.str("error"))
			if secret != "" {
				detail = secret + ": " + detail
			}
			n.say(strings.ToLower(lvl), "%s %s", msg, detail)
		}
	}
}

// rendered tells what was written to path, without its content.
func (n *narrator) rendered(path string) {
	if path != n.db || n.db == "" {
		if desc := describeFile(path); desc != "" {
			n.say("wrote", "%s: %s", path, desc)
		} else {
			n.say("wrote", "%s", path)
		}
		return
	}
	user := dbUser(path)
	n.say("wrote", "%s: PostgreSQL user %s (password not shown), lease expires in %s", path, user, n.status.expiresIn("database/creds/"))
}

// short shows a command with its paths cut to their base names.
func short(cmd string) string {
	f := strings.Fields(cmd)
	for i, w := range f {
		if strings.Contains(w, "/") {
			f[i] = filepath.Base(strings.Trim(w, `"',[]`))
		}
	}
	return strings.Join(f, " ")
}

// errSummary shortens an error to its point: the "* reason" lines of a
// Vault API error ("Error making API request. URL: ... Code: 400.
// Errors: * lease not found"), else its first line.
func errSummary(s string) string {
	var reasons []string
	for _, l := range strings.Split(s, "\n") {
		if r, ok := strings.CutPrefix(strings.TrimSpace(l), "* "); ok {
			reasons = append(reasons, r)
		}
	}
	if len(reasons) > 0 {
		return strings.Join(reasons, "; ")
	}
	s, _, _ = strings.Cut(s, "\n")
	return s
}

// seconds prints a duration from the log: slog's JSON handler writes
// nanoseconds; shown to the second, or the millisecond under a second.
func seconds(v string) string {
	d, err := time.ParseDuration(v)
	if err != nil {
		var ns float64
		if _, err := fmt.Sscan(v, &ns); err != nil {
			return v
		}
		d = time.Duration(ns)
	}
	if d < time.Second {
		return d.Round(time.Millisecond).String()
	}
	return d.Round(time.Second).String()
}
