package template

import (
	"strings"
	"testing"
)

// function_denylist (from the config) reaches the execution: a denied
// function fails instead of running.
func TestFunctionDenylist(t *testing.T) {
	c := &Spec{Contents: `{{ env "HOME" }}`, Destination: "/dev/null", FunctionDenylist: []string{"env"}}
	tm, err := newTmpl(c, "t")
	if err != nil {
		t.Fatal(err)
	}
	err = tm.execute(nil).err
	if err == nil || !strings.Contains(err.Error(), "env") {
		t.Fatalf("a denied function ran: %v", err)
	}
	c.FunctionDenylist = nil
	if tm, err = newTmpl(c, "t"); err != nil {
		t.Fatal(err)
	}
	if err := tm.execute(nil).err; err != nil {
		t.Fatalf("allowed function failed: %v", err)
	}
}
