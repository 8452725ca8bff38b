package template

import (
	"strings"
	"testing"

	ctemplate "github.com/hashicorp/consul-template/template"
)

// function_denylist (from the config) reaches consul-template: a denied
// function fails instead of running.
func TestFunctionDenylist(t *testing.T) {
	c := &Spec{Contents: `{{ env "HOME" }}`, Destination: "/dev/null", FunctionDenylist: []string{"env"}}
	tm, err := newTmpl(c, "t")
	if err != nil {
		t.Fatal(err)
	}
	_, err = tm.ct.Execute(&ctemplate.ExecuteInput{Brain: ctemplate.NewBrain()})
	if err == nil || !strings.Contains(err.Error(), "env") {
		t.Fatalf("a denied function ran: %v", err)
	}
	c.FunctionDenylist = nil
	if tm, err = newTmpl(c, "t"); err != nil {
		t.Fatal(err)
	}
	if _, err := tm.ct.Execute(&ctemplate.ExecuteInput{Brain: ctemplate.NewBrain()}); err != nil {
		t.Fatalf("allowed function failed: %v", err)
	}
}
