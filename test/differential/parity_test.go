package differential

import (
	"fmt"
	"os"
	"os/user"
	"path/filepath"
	"strings"
	"testing"

	"github.com/rotorproject/rotor/test/harness/proc"
)

// TestVaultAgentParity runs every case of the corpus with Vault Agent
// (`vault agent -config`, exit_after_auth) and with rotor (`rotor agent
// -once -config`) on one Vault, each into its own directory, and compares
// what they wrote. It logs the table docs/compatibility.md reports.
func TestVaultAgentParity(t *testing.T) {
	l := newLab(t)
	var table []string
	for _, c := range corpus {
		t.Run(c.name, func(t *testing.T) {
			res := l.check(t, c)
			table = append(table, fmt.Sprintf("| %s | %s | %s |", c.name, c.from, res))
		})
	}
	t.Run("Kubernetes injector config", func(t *testing.T) {
		table = append(table, fmt.Sprintf("| %s | %s | %s |", "Kubernetes injector config", "agent/config/testdata/k8s-injector.json", l.checkInjector(t)))
	})
	t.Logf("\n| case | templates from | result |\n|---|---|---|\n%s", strings.Join(table, "\n"))
}

// check runs one case with both agents and returns its result for the
// table.
func (l *lab) check(t *testing.T, c tcase) string {
	work := t.TempDir()
	outs := map[string]string{}
	runs := map[string]agentRun{}
	for _, agent := range []string{"vault agent", "rotor"} {
		dir := filepath.Join(work, strings.ReplaceAll(agent, " ", "-"))
		out := filepath.Join(dir, "out")
		cfg := filepath.Join(dir, "agent.hcl")
		writeFile(t, cfg, l.config(t, c, dir, out))
		outs[agent] = out
		runs[agent] = l.runAgent(t, agent, cfg, c)
	}
	va, ro := runs["vault agent"], runs["rotor"]
	if c.fail {
		for agent, r := range runs {
			if r.code == 0 {
				t.Fatalf("%s exited 0; want a failure:\n%s", agent, tailLines(r.log, 20))
			}
			if tree, _ := readTree(outs[agent]); len(tree) != 0 {
				t.Fatalf("%s wrote %d file(s) for a template that fails", agent, len(tree))
			}
		}
		return fmt.Sprintf("both fail (exit %d and %d), no file", va.code, ro.code)
	}
	if va.code != 0 {
		t.Fatalf("Vault Agent exited %d:\n%s", va.code, tailLines(va.log, 30))
	}
	if ro.code != 0 && c.known != "" {
		t.Logf("known difference (%s): rotor exited %d:\n%s", c.known, ro.code, tailLines(ro.log, 5))
		return "differs: " + c.known
	}
	if ro.code != 0 {
		t.Fatalf("rotor exited %d:\n%s", ro.code, tailLines(ro.log, 30))
	}
	if c.restart {
		for agent, out := range outs {
			before := rawTree(t, out)
			dir := filepath.Dir(out)
			if r := l.runAgent(t, agent, filepath.Join(dir, "agent.hcl"), c); r.code != 0 {
				t.Fatalf("%s exited %d on its second run:\n%s", agent, r.code, tailLines(r.log, 30))
			}
			after := rawTree(t, out)
			for name, b := range before {
				if after[name] != b {
					t.Errorf("%s re-issued %s at its second run instead of reusing the certificate at the destination", agent, name)
				}
			}
		}
	}
	if c.login != nil {
		for agent, out := range outs {
			user, password := c.login(rawTree(t, out))
			if err := l.pg.CanLogin(user, password); user == "" || err != nil {
				t.Errorf("%s's database credentials do not log in (user %q): %v", agent, mask([]byte(user)).masked, err)
			}
		}
	}
	want, err := readTree(outs["vault agent"])
	if err != nil {
		t.Fatal(err)
	}
	got, err := readTree(outs["rotor"])
	if err != nil {
		t.Fatal(err)
	}
	if len(want) == 0 {
		t.Fatal("Vault Agent wrote nothing: the case tests nothing")
	}
	if os.Getenv("ROTOR_DIFF_SHOW") == "1" {
		for name, r := range want {
			t.Logf("%s, masked (Vault Agent's):\n%s", name, r.masked)
		}
	}
	diffs := compareTrees(want, got)
	switch {
	case c.known == "" && len(diffs) > 0:
		t.Errorf("rotor's files differ from Vault Agent's:\n  %s", strings.Join(diffs, "\n  "))
		return "**differs**"
	case c.known != "" && len(diffs) == 0:
		t.Errorf("the known difference is gone (%s): make this case a same-bytes case", c.known)
		return "same bytes"
	case c.known != "":
		t.Logf("known difference (%s):\n  %s", c.known, strings.Join(diffs, "\n  "))
		return "differs: " + c.known
	}
	if c.restart {
		return fmt.Sprintf("same bytes (%d files); the second run of each rewrites nothing", len(want))
	}
	return fmt.Sprintf("same bytes (%d files)", len(want))
}

// runAgent runs one agent on cfg. Vault Agent renders once and exits with
// exit_after_auth; rotor is run as `rotor agent -once`. In supervisor mode
// (env templates) both run until their child exits: Vault Agent skips the
// child under exit_after_auth.
func (l *lab) runAgent(t *testing.T, agent, cfg string, c tcase) agentRun {
	args := []string{l.rotor, "agent", "-once", "-config", cfg}
	switch {
	case agent == "vault agent":
		args = []string{l.vault, "agent", "-config", cfg}
	case len(c.envs) > 0:
		args = []string{l.rotor, "agent", "-config", cfg}
	}
	if c.umask != "" {
		args = append([]string{"/bin/sh", "-c", "umask " + c.umask + ` && exec "$0" "$@"`}, args...)
	}
	return run(t, args[0], args[1:]...)
}

// config writes one agent's configuration for c: the lab's vault and
// auto_auth blocks, then c's, with destinations under out. Templates are
// copied into dir with @OUT@, @USER@ and @GROUP@ replaced.
func (l *lab) config(t *testing.T, c tcase, dir, out string) string {
	var b strings.Builder
	b.WriteString(l.auth)
	if len(c.envs) == 0 {
		b.WriteString("exit_after_auth = true\n")
	}
	b.WriteString(c.extra)
	for i, f := range c.files {
		fmt.Fprintf(&b, "template {\n  destination = %q\n", filepath.Join(out, f.dest))
		switch {
		case f.text != "":
			fmt.Fprintf(&b, "  contents = %q\n", substitute(t, f.text, out))
		default:
			src := filepath.Join("testdata", f.tpl)
			if f.repo != "" {
				root, err := proc.ModuleRoot()
				if err != nil {
					t.Fatal(err)
				}
				src = filepath.Join(root, f.repo)
			}
			text, err := os.ReadFile(src)
			if err != nil {
				t.Fatal(err)
			}
			p := filepath.Join(dir, "templates", fmt.Sprintf("%d-%s", i, filepath.Base(src)))
			writeFile(t, p, substitute(t, string(text), out))
			fmt.Fprintf(&b, "  source = %q\n", p)
		}
		if f.attrs != "" {
			b.WriteString("  " + strings.ReplaceAll(f.attrs, "\n", "\n  ") + "\n")
		}
		b.WriteString("}\n")
	}
	if len(c.envs) > 0 {
		var script strings.Builder
		fmt.Fprintf(&script, "mkdir -p %s/env", out)
		for _, e := range c.envs {
			fmt.Fprintf(&b, "env_template %q {\n  contents = %q\n", e.name, e.text)
			if e.attrs != "" {
				b.WriteString("  " + strings.ReplaceAll(e.attrs, "\n", "\n  ") + "\n")
			}
			b.WriteString("}\n")
			fmt.Fprintf(&script, " && printf '%%s' \"$%s\" > %s/env/%s", e.name, out, e.name)
		}
		fmt.Fprintf(&b, "exec {\n  command = [\"/bin/sh\", \"-c\", %q]\n}\n", script.String())
	}
	return b.String()
}

// substitute fills a template's placeholders: the run's output directory
// (writeToFile's targets), the test's user and group, and the key's mode:
// consul-template docs' 0400 as root; 0600 otherwise, since Vault Agent's
// writeToFile cannot open its own 0400 file again at the second run unless
// it is root (and fails the template), which would test the user, not
// the agents.
func substitute(t *testing.T, s, out string) string {
	u, err := user.Current()
	if err != nil {
		t.Fatal(err)
	}
	g, err := user.LookupGroupId(u.Gid)
	if err != nil {
		t.Fatal(err)
	}
	keyMode := "0400"
	if os.Geteuid() != 0 {
		keyMode = "0600"
	}
	return strings.NewReplacer("@OUT@", out, "@USER@", u.Username, "@GROUP@", g.Name, "@KEYMODE@", keyMode).Replace(s)
}

// rawTree reads every file under dir as it is.
func rawTree(t *testing.T, dir string) map[string]string {
	out := map[string]string{}
	err := filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		out[rel] = string(b)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}
