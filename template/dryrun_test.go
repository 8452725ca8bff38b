package template

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/rotorproject/rotor/lease"
)

// dryResolver serves kv/app for real (its keys are known) and every
// database/ secret as a placeholder; anything else is denied.
func dryResolver(asked *[]string) DryOptions {
	return DryOptions{Resolve: func(_ context.Context, ref lease.Ref) DryAnswer {
		*asked = append(*asked, ref.Key())
		switch {
		case ref.Path == "kv/app":
			return DryAnswer{Value: lease.Value{Secret: &lease.Secret{Data: map[string]any{"user": "alice", "pass": "s3cret-value"}}}}
		case strings.HasPrefix(ref.Path, "database/"):
			return DryAnswer{Value: lease.Value{Secret: &lease.Secret{Data: map[string]any{}}}, Placeholder: true}
		}
		return DryAnswer{Err: errors.New("denied: " + ref.Path)}
	}}
}

func TestDryRunVerdicts(t *testing.T) {
	dir := t.TempDir()
	marker := filepath.Join(dir, "plugin-ran")
	side := filepath.Join(dir, "side-file")
	for _, tc := range []struct {
		name, text  string
		strict      bool
		wantErr     bool
		missingKey  string
		unsetKey    string
		uncertain   bool
		secretErr   string // key of the resolver error
		placeholder string
		notRun      bool
	}{
		{name: "ok", text: `{{ with secret "kv/app" }}{{ .Data.user }}{{ end }}`, strict: true},
		{name: "missing key on a real secret", text: `{{ with secret "kv/app" }}{{ .Data.nokey }}{{ end }}`, strict: true,
			wantErr: true, missingKey: "nokey"},
		{name: "placeholder answers any key", text: `{{ with secret "database/creds/ro" }}{{ .Data.username }}:{{ .Data.anything }}{{ end }}`,
			strict: true, placeholder: "read:database/creds/ro"},
		{name: "real key missing next to a placeholder", strict: true, wantErr: true, missingKey: "nokey", placeholder: "read:database/creds/ro",
			text: `{{ with secret "database/creds/ro" }}{{ .Data.username }}{{ end }}{{ with secret "kv/app" }}{{ .Data.nokey }}{{ end }}`},
		{name: "unset key without error_on_missing_key", text: `{{ with secret "kv/app" }}{{ .Data.nokey }}{{ end }}`, unsetKey: "nokey"},
		{name: "denied", text: `{{ with secret "kv/other" }}{{ .Data.x }}{{ end }}`, secretErr: "read:kv/other"},
		{name: "path from another secret", text: `{{ with secret "kv/app" }}{{ with secret (print "kv/" .Data.user) }}{{ .Data.x }}{{ end }}{{ end }}`,
			secretErr: "read:kv/alice"},
		{name: "placeholder value fails a function", text: `{{ with secret "database/creds/ro" }}{{ .Data.username | base64Decode }}{{ end }}`,
			strict: true, wantErr: true, uncertain: true, placeholder: "read:database/creds/ro"},
		{name: "template error", text: `{{ with secret "kv/app" }}{{ .Data.user | parseInt }}{{ end }}`, wantErr: true},
		{name: "plugin and side effects do not run", notRun: true,
			text: `{{ plugin "touch" "` + marker + `" }}{{ writeToFile "` + side + `" "" "" "0600" "x" }}{{ spew_dump "x" }}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var asked []string
			res := DryRun(t.Context(), Spec{Contents: tc.text, Destination: filepath.Join(dir, "out"), ErrorOnMissingKey: tc.strict}, dryResolver(&asked))
			if (res.Err != nil) != tc.wantErr {
				t.Fatalf("Err = %v, want error %v", res.Err, tc.wantErr)
			}
			if res.MissingKey != tc.missingKey || res.UnsetKey != tc.unsetKey || res.Uncertain != tc.uncertain {
				t.Errorf("MissingKey %q UnsetKey %q Uncertain %v; want %q %q %v (err %v)", res.MissingKey, res.UnsetKey, res.Uncertain,
					tc.missingKey, tc.unsetKey, tc.uncertain, res.Err)
			}
			if tc.secretErr != "" && res.SecretErrs[tc.secretErr] == nil || tc.secretErr == "" && len(res.SecretErrs) > 0 {
				t.Errorf("SecretErrs = %v, want one for %q", res.SecretErrs, tc.secretErr)
			}
			if tc.placeholder != "" && !slices.Contains(res.Placeholders, tc.placeholder) || tc.placeholder == "" && len(res.Placeholders) > 0 {
				t.Errorf("Placeholders = %v, want %q", res.Placeholders, tc.placeholder)
			}
			if tc.notRun && len(res.NotRun) != 1 {
				t.Errorf("NotRun = %v, want the plugin call", res.NotRun)
			}
			for _, k := range asked {
				if n := strings.Count(strings.Join(asked, "\n"), k); n != 1 {
					t.Errorf("%s resolved %d times, want once", k, n)
				}
			}
		})
	}
	for _, p := range []string{marker, side, filepath.Join(dir, "out")} {
		if _, err := os.Lstat(p); err == nil {
			t.Errorf("%s exists: a dry run must write nothing and run nothing", p)
		}
	}
}
