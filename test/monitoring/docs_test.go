package monitoring

import (
	"os"
	"strings"
	"testing"
)

func readFile(p string) (string, error) {
	b, err := os.ReadFile(p)
	return string(b), err
}

// README's monitoring section names every panel and every alert (with
// what it means and what to do), so they cannot drift apart.
func TestReadmeListsEveryPanelAndAlert(t *testing.T) {
	readme, err := readFile(readmeFile)
	if err != nil {
		t.Fatal(err)
	}
	i := strings.Index(readme, "### Monitoring")
	if i < 0 {
		t.Fatal("README.md has no \"### Monitoring\" section")
	}
	section := readme[i:]
	if j := strings.Index(section[4:], "\n## "); j >= 0 {
		section = section[:j+4]
	}
	for _, r := range loadRules(t) {
		if !strings.Contains(section, "`"+r.name+"`") {
			t.Errorf("README's Monitoring section does not list the alert `%s`", r.name)
		}
	}
	for _, p := range loadDashboard(t).Panels {
		if p.Type != "row" && !strings.Contains(section, "**"+p.Title+"**") {
			t.Errorf("README's Monitoring section does not list the panel **%s**", p.Title)
		}
	}
}
