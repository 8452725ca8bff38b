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

// docs/operations.md's monitoring section names every panel and every
// alert (with what it means and what to do), so they cannot drift apart.
func TestDocsListEveryPanelAndAlert(t *testing.T) {
	doc, err := readFile(opsDocFile)
	if err != nil {
		t.Fatal(err)
	}
	i := strings.Index(doc, "\n## Monitoring")
	if i < 0 {
		t.Fatalf("%s has no \"## Monitoring\" section", opsDocFile)
	}
	section := doc[i+1:]
	if j := strings.Index(section, "\n## "); j >= 0 {
		section = section[:j]
	}
	for _, r := range loadRules(t) {
		if !strings.Contains(section, "`"+r.name+"`") {
			t.Errorf("the Monitoring section of %s does not list the alert `%s`", opsDocFile, r.name)
		}
	}
	for _, p := range loadDashboard(t).Panels {
		if p.Type != "row" && !strings.Contains(section, "**"+p.Title+"**") {
			t.Errorf("the Monitoring section of %s does not list the panel **%s**", opsDocFile, p.Title)
		}
	}
}
