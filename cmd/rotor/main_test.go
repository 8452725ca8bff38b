package main

import (
	"bytes"
	"strings"
	"testing"
)

func TestValidate(t *testing.T) {
	cases := []struct {
		args []string
		code int
		want string
	}{
		{[]string{"validate", "-config", "../../agent/config/testdata/seed.hcl"}, exitOK, "configuration is valid"},
		{[]string{"validate", "-config", "../../agent/config/testdata/typo.hcl"}, exitFailed, `typo.hcl:2:3: Unsupported argument: vault: "adress" is not a known key. Did you mean "address"?`},
		{[]string{"validate"}, exitFailed, "no configuration given"},
		{[]string{"frobnicate"}, exitUsage, `unknown command "frobnicate"`},
		{[]string{"version"}, exitOK, "rotor dev"},
		{[]string{"agent", "-log-format", "xml", "-config", "x"}, exitUsage, "-log-format"},
	}
	for _, c := range cases {
		var out, errb bytes.Buffer
		code := run(c.args, &out, &errb)
		all := out.String() + errb.String()
		if code != c.code || !strings.Contains(all, c.want) {
			t.Errorf("%v: code %d, output:\n%s\nwant code %d and %q", c.args, code, all, c.code, c.want)
		}
	}
}
