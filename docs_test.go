// Package rotor holds no code: the module's packages are below. This file's
// tests keep the front door and the documentation honest: README.md stays
// short with the two commands on its first screen, and no relative link in
// the Markdown files points to a file or a heading that is not there.
package rotor

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"unicode"
)

const (
	readmeMaxLines  = 300
	firstScreenRows = 60
)

// TestReadmeIsAFrontDoor: README.md is at most 300 lines, and `make demo`
// and `make test` are given as commands within its first 60 lines.
func TestReadmeIsAFrontDoor(t *testing.T) {
	lines := readLines(t, "README.md")
	if len(lines) > readmeMaxLines {
		t.Errorf("README.md has %d lines; the front door has at most %d (reference goes to docs/)", len(lines), readmeMaxLines)
	}
	for _, cmd := range []string{"make demo", "make test"} {
		found := false
		for i, l := range lines {
			if i >= firstScreenRows {
				break
			}
			if strings.HasPrefix(strings.TrimSpace(l), cmd) {
				found = true
				break
			}
		}
		if !found {
			t.Errorf("README.md does not give %q as a command in its first %d lines", cmd, firstScreenRows)
		}
	}
}

// TestMarkdownLinksResolve: every relative link in README.md, the
// community files, docs/ and the results beside the harnesses names an
// existing file, and a link to a heading names a heading that exists.
func TestMarkdownLinksResolve(t *testing.T) {
	files := markdownFiles(t)
	if len(files) < 10 {
		t.Fatalf("found only %d Markdown files: %v", len(files), files)
	}
	anchors := map[string]map[string]bool{}
	anchorsOf := func(path string) map[string]bool {
		if a, ok := anchors[path]; ok {
			return a
		}
		a := headingAnchors(readLines(t, path))
		anchors[path] = a
		return a
	}
	checked := 0
	for _, f := range files {
		for _, l := range markdownLinks(readLines(t, f)) {
			target, frag, _ := strings.Cut(l.target, "#")
			dest := f
			if target != "" {
				dest = filepath.Join(filepath.Dir(f), filepath.FromSlash(target))
				if _, err := os.Stat(dest); err != nil {
					t.Errorf("%s:%d: link to %s: %v", f, l.line, l.target, err)
					continue
				}
			}
			checked++
			if frag == "" || !strings.HasSuffix(dest, ".md") {
				continue
			}
			if !anchorsOf(dest)[frag] {
				t.Errorf("%s:%d: link to %s: %s has no heading with the anchor #%s", f, l.line, l.target, dest, frag)
			}
		}
	}
	if checked == 0 {
		t.Fatal("no relative link checked: the link parser is broken")
	}
}

// TestLinkCheckerCatchesBrokenLinks runs the parser and the anchor rule
// on text whose answers are known, so the checks above cannot pass by
// finding nothing.
func TestLinkCheckerCatchesBrokenLinks(t *testing.T) {
	doc := []string{
		"# Configuration reference",
		"## `auto_auth { method \"<type>\" {} }`",
		"## Listeners: the Vault API proxy and rotor's own API (`listener`, `api_proxy`, `cache`)",
		"## Writing",
		"## Writing",
		"see [a](docs/a.md#x), ![img](results/fleet.png) and [web](https://example.com)",
		"`[not](a-link.md)` in code",
		"```",
		"[inside](a-fence.md)",
		"```",
	}
	a := headingAnchors(doc)
	for _, want := range []string{"configuration-reference", "auto_auth--method-type--", "listeners-the-vault-api-proxy-and-rotors-own-api-listener-api_proxy-cache", "writing", "writing-1"} {
		if !a[want] {
			t.Errorf("anchor %q missing; have %v", want, a)
		}
	}
	var got []string
	for _, l := range markdownLinks(doc) {
		got = append(got, fmt.Sprintf("%d:%s", l.line, l.target))
	}
	if want := "6:docs/a.md#x 6:results/fleet.png"; strings.Join(got, " ") != want {
		t.Errorf("links %q, want %q", strings.Join(got, " "), want)
	}
}

// markdownFiles lists the Markdown files of the repository, less build
// output and test data.
func markdownFiles(t *testing.T) []string {
	t.Helper()
	var out []string
	err := filepath.WalkDir(".", func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			switch d.Name() {
			case ".git", "bin", "dist", "testdata", "node_modules":
				return filepath.SkipDir
			}
			return nil
		}
		if strings.HasSuffix(p, ".md") {
			out = append(out, p)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func readLines(t *testing.T, path string) []string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var lines []string
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 0, 64*1024), 1<<20)
	for sc.Scan() {
		lines = append(lines, sc.Text())
	}
	if err := sc.Err(); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return lines
}

type link struct {
	line   int
	target string
}

var (
	linkRE     = regexp.MustCompile(`!?\[[^\]]*\]\(([^)\s]+)(?:\s+"[^"]*")?\)`)
	codeSpanRE = regexp.MustCompile("`[^`]*`")
	schemeRE   = regexp.MustCompile(`^[a-zA-Z][a-zA-Z0-9+.-]*:`)
)

// markdownLinks returns the relative inline links and images outside code
// blocks and code spans.
func markdownLinks(lines []string) []link {
	var out []link
	fence := false
	for i, l := range lines {
		if strings.HasPrefix(strings.TrimSpace(l), "```") {
			fence = !fence
			continue
		}
		if fence {
			continue
		}
		l = codeSpanRE.ReplaceAllString(l, "")
		for _, m := range linkRE.FindAllStringSubmatch(l, -1) {
			if schemeRE.MatchString(m[1]) {
				continue
			}
			out = append(out, link{line: i + 1, target: m[1]})
		}
	}
	return out
}

// headingAnchors returns the anchors GitHub gives a file's headings: the
// text lower-cased, every character but letters, digits, spaces, hyphens
// and underscores dropped, spaces turned into hyphens, and -1, -2, ...
// appended to repeats.
func headingAnchors(lines []string) map[string]bool {
	out := map[string]bool{}
	seen := map[string]int{}
	fence := false
	for _, l := range lines {
		if strings.HasPrefix(strings.TrimSpace(l), "```") {
			fence = !fence
			continue
		}
		if fence || !strings.HasPrefix(l, "#") {
			continue
		}
		text := strings.TrimLeft(l, "#")
		if len(l)-len(text) > 6 || !strings.HasPrefix(text, " ") {
			continue
		}
		var b strings.Builder
		for _, r := range strings.ToLower(strings.TrimSpace(text)) {
			switch {
			case unicode.IsLetter(r), unicode.IsDigit(r), r == '-', r == '_':
				b.WriteRune(r)
			case r == ' ':
				b.WriteRune('-')
			}
		}
		slug := b.String()
		if n := seen[slug]; n > 0 {
			out[fmt.Sprintf("%s-%d", slug, n)] = true
		} else {
			out[slug] = true
		}
		seen[slug]++
	}
	return out
}
