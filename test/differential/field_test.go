package differential

import (
	"bufio"
	"bytes"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/rotorproject/rotor/agent"
	"github.com/rotorproject/rotor/agent/config"
	"github.com/rotorproject/rotor/test/harness/proc"
)

// The field corpus: agent configurations as people write them (public
// repositories, Helm charts, Terraform modules, tutorials, Vault's
// documentation) and as the vault-k8s injector generates them, re-typed
// with neutral values in testdata/field/ (SOURCES.md says where each one
// comes from and what it shows). TestFieldCorpusVerdicts gives each one to
// Vault Agent 1.21's loader (test/vault/agentcheck) and to rotor's
// `rotor validate` path, and fails on any difference that
// testdata/field/differences.txt does not list with a reason.

const (
	fieldDir        = "testdata/field"
	fieldSources    = fieldDir + "/SOURCES.md"
	fieldDiffs      = fieldDir + "/differences.txt"
	fieldTable      = "docs/field-corpus.md" // from the module root
	fieldMinCases   = 60
	fieldVerdictMax = 180 // characters of a message kept in the table
)

var updateField = flag.Bool("update", false,
	"rewrite docs/field-corpus.md and drop settled entries from testdata/field/differences.txt")

// fieldCase is one configuration of the corpus and both verdicts on it.
type fieldCase struct {
	name, source         string
	vaultOK, rotorOK     bool
	vaultSays, rotorSays string
	rotorProblems        []string // every problem rotor reports
	reason               string   // from differences.txt, if listed
}

// TestFieldCorpusVerdicts: on every configuration of the field corpus,
// rotor accepts what Vault Agent's loader accepts and refuses what it
// refuses (warnings allowed), except the differences listed with a reason.
// The verdict table docs/field-corpus.md must match what the test finds;
// `go test ./test/differential -run TestFieldCorpusVerdicts -update`
// rewrites it and drops listed differences that are settled.
func TestFieldCorpusVerdicts(t *testing.T) {
	bin := proc.Find(t, proc.Lookup{
		Env:     "ROTOR_AGENTCHECK_BIN",
		Paths:   []string{"test/vault/bin/agentcheck"},
		Missing: "no agentcheck: run make agentcheck (it builds test/vault/bin/agentcheck) or set ROTOR_AGENTCHECK_BIN",
	})
	names := fieldNames(t)
	sources := readSources(t)
	diffs := readDifferences(t)
	for _, n := range names {
		if sources[n] == "" {
			t.Errorf("%s has no row in %s: say where it comes from", n, fieldSources)
		}
	}
	for n := range sources {
		if !contains(names, n) {
			t.Errorf("%s lists %s, which is not in %s", fieldSources, n, fieldDir)
		}
	}
	for n := range diffs {
		if !contains(names, n) {
			t.Errorf("%s lists %s, which is not in %s", fieldDiffs, n, fieldDir)
		}
	}

	var cases []fieldCase
	var settled []string
	for _, n := range names {
		c := verdicts(t, bin, n)
		c.source = sources[n]
		why, listed := diffs[n]
		switch {
		case listed && c.vaultOK == c.rotorOK:
			settled = append(settled, n)
			if !*updateField {
				t.Errorf("%s: listed in %s (%s) but rotor and Vault Agent agree now: remove the line (or run with -update)", n, fieldDiffs, why)
			}
		case listed:
			c.reason = why
		case c.vaultOK != c.rotorOK:
			t.Errorf("%s: Vault Agent %s; rotor %s\n  fix rotor, or list it in %s with the reason:\n  %s: <why>",
				n, c.vaultSays, strings.Join(append([]string{c.rotorSays}, c.rotorProblems...), "\n    "), fieldDiffs, n)
		}
		cases = append(cases, c)
	}

	root, err := proc.ModuleRoot()
	if err != nil {
		t.Fatal(err)
	}
	table := renderFieldTable(cases)
	docPath := filepath.Join(root, fieldTable)
	if *updateField {
		if err := os.WriteFile(docPath, table, 0o644); err != nil {
			t.Fatal(err)
		}
		dropDifferences(t, settled)
		t.Logf("wrote %s; dropped %d settled differences", fieldTable, len(settled))
		return
	}
	got, err := os.ReadFile(docPath)
	if err != nil || !bytes.Equal(got, table) {
		t.Errorf("%s is not the table this run produces: run go test ./test/differential -run TestFieldCorpusVerdicts -update", fieldTable)
	}
	agree := 0
	for _, c := range cases {
		if c.vaultOK == c.rotorOK {
			agree++
		}
	}
	t.Logf("field corpus: %d configurations, rotor's verdict equals Vault Agent's on %d, %d listed differences", len(cases), agree, len(cases)-agree)
}

// verdicts runs both loaders on one configuration of the corpus.
func verdicts(t *testing.T, bin, name string) fieldCase {
	t.Helper()
	path := filepath.Join(fieldDir, name)
	c := fieldCase{name: name}

	var stdout, stderr bytes.Buffer
	cmd := exec.Command(bin, path)
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + t.TempDir()}
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	out := strings.TrimSpace(stdout.String())
	var ee *exec.ExitError
	switch {
	case err == nil && out == "ok":
		c.vaultOK, c.vaultSays = true, "accepts"
	case errors.As(err, &ee) && ee.ExitCode() == 1 && strings.HasPrefix(out, "error: "):
		c.vaultSays = "refuses: " + vaultMessage(out, path)
	default:
		t.Fatalf("agentcheck %s: %v: %s %s", path, err, out, stderr.String())
	}

	// rotor validate: the loader, then the checks it adds (templates parse,
	// wrapped sinks); Vault Agent logs in with VAULT_TOKEN when there is no
	// auto_auth, and rotor wants one at load time, so it is given one.
	env := func(k string) (string, bool) {
		if k == "VAULT_TOKEN" {
			return "field-corpus-token", true
		}
		return "", false
	}
	cfg, err := config.Load([]string{path}, env)
	var problems []string
	if err != nil {
		var ce *config.Error
		if errors.As(err, &ce) {
			problems = ce.Problems()
		} else {
			problems = []string{err.Error()}
		}
	} else {
		problems, _ = agent.Validate(cfg)
	}
	c.rotorProblems = problems
	if len(problems) == 0 {
		c.rotorOK, c.rotorSays = true, "accepts"
	} else {
		more := ""
		if len(problems) > 1 {
			more = fmt.Sprintf(" (+%d more)", len(problems)-1)
		}
		c.rotorSays = "refuses: " + strings.TrimPrefix(problems[0], path+":") + more
	}
	return c
}

// vaultMessage shortens agentcheck's message: the file name is the row's.
func vaultMessage(out, path string) string {
	m := strings.TrimPrefix(out, "error: ")
	m = strings.TrimPrefix(m, "error loading configuration from "+path+": ")
	return strings.TrimPrefix(m, "error validating configuration: ")
}

// fieldNames lists the corpus's configuration files, sorted.
func fieldNames(t *testing.T) []string {
	t.Helper()
	entries, err := os.ReadDir(fieldDir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		if n := e.Name(); !e.IsDir() && (strings.HasSuffix(n, ".hcl") || strings.HasSuffix(n, ".json")) {
			names = append(names, n)
		}
	}
	sort.Strings(names)
	if len(names) < fieldMinCases {
		t.Fatalf("only %d configurations in %s", len(names), fieldDir)
	}
	return names
}

// readSources reads SOURCES.md's table: first cell the file (in
// backquotes), second its kind, third its source.
func readSources(t *testing.T) map[string]string {
	t.Helper()
	b, err := os.ReadFile(fieldSources)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for _, line := range strings.Split(string(b), "\n") {
		if !strings.HasPrefix(line, "| `") {
			continue
		}
		cells := strings.Split(line, " | ")
		if len(cells) < 3 {
			t.Fatalf("%s: a row with fewer than 3 cells: %s", fieldSources, line)
		}
		name := strings.Trim(strings.TrimPrefix(cells[0], "| "), "`")
		if _, dup := out[name]; dup {
			t.Errorf("%s: %s has two rows", fieldSources, name)
		}
		out[name] = strings.TrimSpace(cells[2])
	}
	return out
}

// readDifferences reads differences.txt: "file: reason" lines; # comments.
func readDifferences(t *testing.T) map[string]string {
	t.Helper()
	f, err := os.Open(fieldDiffs)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	out := map[string]string{}
	s := bufio.NewScanner(f)
	for line := 1; s.Scan(); line++ {
		text := strings.TrimSpace(s.Text())
		if text == "" || strings.HasPrefix(text, "#") {
			continue
		}
		name, why, ok := strings.Cut(text, ": ")
		if !ok || strings.TrimSpace(why) == "" {
			t.Fatalf("%s:%d: want \"file: reason\", got %q", fieldDiffs, line, text)
		}
		if _, dup := out[name]; dup {
			t.Errorf("%s:%d: %s listed twice", fieldDiffs, line, name)
		}
		out[name] = strings.TrimSpace(why)
	}
	if err := s.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// dropDifferences removes the lines of settled differences (-update).
func dropDifferences(t *testing.T, settled []string) {
	t.Helper()
	if len(settled) == 0 {
		return
	}
	b, err := os.ReadFile(fieldDiffs)
	if err != nil {
		t.Fatal(err)
	}
	var kept []string
	for _, line := range strings.SplitAfter(string(b), "\n") {
		name, _, _ := strings.Cut(strings.TrimSpace(line), ": ")
		if !contains(settled, name) {
			kept = append(kept, line)
		}
	}
	if err := os.WriteFile(fieldDiffs, []byte(strings.Join(kept, "")), 0o644); err != nil {
		t.Fatal(err)
	}
}

// renderFieldTable writes the verdict table of docs/field-corpus.md.
func renderFieldTable(cases []fieldCase) []byte {
	var b bytes.Buffer
	agree, vaultOK := 0, 0
	for _, c := range cases {
		if c.vaultOK == c.rotorOK {
			agree++
		}
		if c.vaultOK {
			vaultOK++
		}
	}
	fmt.Fprintf(&b, `# Field corpus: rotor's verdict and Vault Agent's

<!-- Generated by TestFieldCorpusVerdicts (test/differential/field_test.go); do not edit.
     Regenerate: go test ./test/differential -run TestFieldCorpusVerdicts -update -->

Agent configurations as they are written in the field (public repositories, Helm charts, Terraform
modules, tutorials, Vault's documentation) and as the vault-k8s injector generates them, re-typed with
neutral values in [test/differential/testdata/field](../test/differential/testdata/field/SOURCES.md),
which says where each one comes from and what it shows. Each is given to Vault Agent 1.21's loader
(`+"`test/vault/agentcheck`"+`: what `+"`vault agent`"+` checks before it starts anything) and to
`+"`rotor validate`"+`. A difference is allowed only where
[differences.txt](../test/differential/testdata/field/differences.txt) gives its reason; see
[compatibility](compatibility.md#field-corpus).

%d configurations; Vault Agent accepts %d; rotor's verdict equals Vault Agent's on %d.

| config | source | Vault Agent 1.21 | rotor | reason for the difference |
|---|---|---|---|---|
`, len(cases), vaultOK, agree)
	for _, c := range cases {
		fmt.Fprintf(&b, "| `%s` | %s | %s | %s | %s |\n", c.name, c.source,
			cell(c.vaultSays), cell(c.rotorSays), cell(c.reason))
	}
	return b.Bytes()
}

// cell makes a message fit one table cell.
func cell(s string) string {
	s = strings.Join(strings.Fields(s), " ")
	if r := []rune(s); len(r) > fieldVerdictMax {
		s = string(r[:fieldVerdictMax]) + "…"
	}
	s = strings.ReplaceAll(s, "|", `\|`)
	return strings.ReplaceAll(s, "`", "'")
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
