package ops

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/rotorproject/rotor/internal/vaulterr"
	"github.com/rotorproject/rotor/lease"
	"github.com/rotorproject/rotor/template"
)

// The API shows the class each status carries, whatever the error's text
// says: text that reads like another class, or text redaction emptied,
// changes nothing. A failure without a class is "error", with no detail.
func TestErrorInfoComesFromTheStatusNotTheText(t *testing.T) {
	misleading := []string{
		"[redacted]",
		"Code: 503. Errors: * Vault is sealed", // reads as unavailable
		"write /etc/x: permission denied",      // reads as denied or publish
		`template: x:9:9: executing "x" at <secret>: error calling secret: Code: 404`,
	}
	for _, text := range misleading {
		for _, class := range []string{vaulterr.InvalidRequest.String(), vaulterr.BadToken.String(), vaulterr.RateLimited.String()} {
			l := lease.Status{Path: "p", LastError: text, ErrorClass: class}
			if got := leaseError(l); got == nil || *got != (ErrorInfo{Class: class}) {
				t.Errorf("lease %q/%s: %+v", text, class, got)
			}
			tm := template.Status{Name: "n", LastError: text, ErrorClass: class}
			if got := templateError(tm); got == nil || *got != (ErrorInfo{Class: class}) {
				t.Errorf("template %q/%s: %+v", text, class, got)
			}
		}
		if got := leaseError(lease.Status{LastError: text}); *got != (ErrorInfo{Class: ClassUnknown}) {
			t.Errorf("no class: %+v", got)
		}
	}
	if leaseError(lease.Status{ErrorClass: "vault_denied"}) != nil || templateError(template.Status{ErrorClass: "x"}) != nil {
		t.Error("no error must give no ErrorInfo")
	}
	tm := template.Status{LastError: "x", ErrorClass: "template_execute", ErrorLine: 3, ErrorCol: 14, ErrorFunction: "toJSON"}
	if got := *templateError(tm); got != (ErrorInfo{Class: "template_execute", Line: 3, Col: 14, Function: "toJSON"}) {
		t.Errorf("position lost: %+v", got)
	}
}

// ops's own class names are those of the errors they stand for.
func TestOpsClassesAreTheTaxonomys(t *testing.T) {
	if ClassNotAuthenticated != vaulterr.NoToken.String() || ClassCommandFailed != template.KindCommand.String() {
		t.Fatalf("%q %q", ClassNotAuthenticated, ClassCommandFailed)
	}
}

func TestErrorInfoString(t *testing.T) {
	for e, want := range map[ErrorInfo]string{
		{Class: "template_execute", Line: 3, Col: 14, Function: "toJSON"}: "template_execute at 3:14 in toJSON",
		{Class: "template_parse", Line: 2}:                                "template_parse at line 2",
		{Class: "vault_denied"}:                                           "vault_denied",
	} {
		if got := e.String(); got != want {
			t.Errorf("%+v: %q, want %q", e, got, want)
		}
	}
}

// Every field of Status's parts that can hold error text is replaced in
// the view: the view's JSON never holds the text.
func TestViewDropsErrorText(t *testing.T) {
	v := failingStatus().View()
	b, _ := json.Marshal(v)
	if strings.Contains(string(b), "hunter2") {
		t.Fatalf("view holds error text: %s", b)
	}
	// One error class per secret: the scheduler's retry is read from it.
	if strings.Contains(string(b), `"retry"`) || !strings.Contains(string(b), `"error":{"class":"vault_denied"}`) {
		t.Fatalf("lease error: %s", b)
	}
}

// rotor_failing counts what fails now by part and class.
func TestFailingByClassMetric(t *testing.T) {
	m := NewMetrics(func() Status {
		st := failingStatus()
		st.Leases = append(st.Leases, lease.Status{Path: "kv/a", Engine: "kv", LastError: "[redacted]", ErrorClass: "vault_denied"},
			lease.Status{Path: "kv/b", Engine: "kv", LastError: "[redacted]", ErrorClass: "rate_limited"})
		return st
	})
	out := scrape(m)
	for _, want := range []string{
		`rotor_failing{part="secret",error_class="vault_denied"} 2`,
		`rotor_failing{part="secret",error_class="rate_limited"} 1`,
		`rotor_failing{part="template",error_class="template_execute"} 1`,
		`rotor_failing{part="template",error_class="error"} 1`,
		`rotor_failing{part="command",error_class="command_failed"} 1`,
	} {
		if !strings.Contains(out, want) {
			t.Errorf("metrics lack %s\n%s", want, out)
		}
	}
	if strings.Contains(out, "hunter2") {
		t.Error("error text in a label")
	}
}
