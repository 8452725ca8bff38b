package main

import (
	"strings"
	"testing"
)

func TestVersionText(t *testing.T) {
	full := buildInfo{module: "(devel)", revision: "0123456789abcdef0123456789abcdef01234567", time: "2025-03-01T10:00:00Z",
		goVer: "go1.26.8", platform: "windows/amd64"}
	for _, tc := range []struct {
		name, version string
		bi            buildInfo
		want          []string
	}{
		{"release", "1.4.0", full, []string{"rotor 1.4.0\n", "commit: 0123456789abcdef0123456789abcdef01234567\n",
			"date:   2025-03-01T10:00:00Z\n", "go:     go1.26.8 windows/amd64\n"}},
		{"modified tree", "dev", buildInfo{revision: "abc", modified: true, goVer: "go1.26.8", platform: "linux/arm"},
			[]string{"rotor dev\n", "commit: abc (modified: uncommitted changes)\n", "date:   unknown\n"}},
		{"no vcs", "dev", buildInfo{goVer: "go1.26.8", platform: "linux/amd64"},
			[]string{"rotor dev\n", "commit: unknown (built without version control information)\n"}},
		{"go install at a version", "dev", buildInfo{module: "v1.2.3", goVer: "go1.26.8"}, []string{"rotor v1.2.3\n"}},
		{"ldflags win over the module", "1.0.0", buildInfo{module: "v1.2.3"}, []string{"rotor 1.0.0\n"}},
	} {
		got := versionText(tc.version, tc.bi)
		if !strings.HasPrefix(got, tc.want[0]) {
			t.Errorf("%s: first line of %q is not %q", tc.name, got, tc.want[0])
		}
		for _, w := range tc.want[1:] {
			if !strings.Contains(got, w) {
				t.Errorf("%s: %q lacks %q", tc.name, got, w)
			}
		}
	}
}
