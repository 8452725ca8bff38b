package ops

import (
	"encoding/json"
	"strings"
	"testing"
)

func TestClassifyError(t *testing.T) {
	cases := []struct {
		text string
		want ErrorInfo
	}{
		{`template: /t.tpl:3:14: executing "/t.tpl" at <secret "kv/x">: error calling secret: Code: 403. Errors: * permission denied`, ErrorInfo{Class: ClassVaultDenied, Line: 3, Col: 14, Function: "secret"}},
		{`template: /t.tpl:2:9: executing "/t.tpl" at <.Data.password>: map has no entry for key "password"`, ErrorInfo{Class: ClassTemplate, Line: 2, Col: 9}},
		{`template: /t.tpl:2: function "nosuch" not defined`, ErrorInfo{Class: ClassTemplate, Line: 2}},
		{`template: x:1:2: executing "x" at <toJSON .>: error calling toJSON: json: unsupported value`, ErrorInfo{Class: ClassTemplate, Line: 1, Col: 2, Function: "toJSON"}},
		{`template: x:1:2: executing "x" at <sprig_b64dec .>: error calling sprig_b64dec: illegal base64`, ErrorInfo{Class: ClassTemplate, Line: 1, Col: 2, Function: "sprig_b64dec"}},
		// A function name that is not a known one is not echoed.
		{`template: x:1:2: executing "x" at <hunter2 .>: error calling hunter2: boom`, ErrorInfo{Class: ClassTemplate, Line: 1, Col: 2}},
		{"database/creds/app: Error making API request.\n\nURL: GET http://v:8200/v1/database/creds/app\nCode: 403. Errors:\n\n* permission denied", ErrorInfo{Class: ClassVaultDenied}},
		{"secret/app: Code: 404. Errors:", ErrorInfo{Class: ClassSecretNotFound}},
		{"secret/app: no secret at this path", ErrorInfo{Class: ClassSecretNotFound}},
		{"kv/x: Code: 503. Errors: * Vault is sealed", ErrorInfo{Class: ClassVaultUnavailable}},
		{`kv/x: Get "http://127.0.0.1:8200/v1/kv/x": dial tcp 127.0.0.1:8200: connect: connection refused`, ErrorInfo{Class: ClassVaultUnavailable}},
		{"no Vault token yet", ErrorInfo{Class: ClassNotAuthenticated}},
		{"not published, previous files kept: the private key does not match the certificate", ErrorInfo{Class: ClassPublishFailed}},
		{"write /etc/app/x: permission denied", ErrorInfo{Class: ClassPublishFailed}},
		{"secrets still missing after 10 rounds (a secret path built from another secret that keeps changing?)", ErrorInfo{Class: ClassTemplate}},
		// Unknown: no detail, even if it looks like a position.
		{"weird: 1:2: something", ErrorInfo{Class: ClassUnknown}},
	}
	for _, c := range cases {
		got := classifyError(c.text)
		if got == nil || *got != c.want {
			t.Errorf("classifyError(%q) = %+v, want %+v", c.text, got, c.want)
		}
	}
	if classifyError("") != nil {
		t.Error("no error must give no ErrorInfo")
	}
}

func TestErrorInfoString(t *testing.T) {
	for e, want := range map[ErrorInfo]string{
		{Class: ClassTemplate, Line: 3, Col: 14, Function: "secret"}: "template_error at 3:14 in secret",
		{Class: ClassTemplate, Line: 2}:                              "template_error at line 2",
		{Class: ClassVaultDenied}:                                    "vault_denied",
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
}
