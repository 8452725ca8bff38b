package command

import (
	"runtime"
	"slices"
	"testing"
)

func TestResolveAndKey(t *testing.T) {
	argv := Command{Argv: []string{"nginx", "-s", "reload"}}
	if got := argv.Resolve(); !slices.Equal(got, []string{"nginx", "-s", "reload"}) {
		t.Fatalf("argv resolved to %q", got)
	}
	sh := Command{Shell: "echo a | tee b"}
	want := []string{"/bin/sh", "-c", "echo a | tee b"}
	if runtime.GOOS == "windows" {
		want = []string{"cmd.exe", "/C", "echo a | tee b"}
	}
	if got := sh.Resolve(); !slices.Equal(got, want) {
		t.Fatalf("shell resolved to %q", got)
	}
	// The same words as argv and as a shell string are different commands.
	if (Command{Argv: []string{"a b"}}).Key() == (Command{Shell: "a b"}).Key() {
		t.Fatal("argv and shell commands share a key")
	}
	if !argv.Equal(Command{Argv: []string{"nginx", "-s", "reload"}}) || argv.Equal(sh) {
		t.Fatal("Equal is wrong")
	}
	if !(Command{}).IsZero() || argv.IsZero() {
		t.Fatal("IsZero is wrong")
	}
}

func TestEnvironDropsCredentials(t *testing.T) {
	got := Environ([]string{"PATH=/bin", "VAULT_TOKEN=hvs.x", "KEY=1", "VAULT_TOKEN_X=ok"}, "VAULT_TOKEN", "KEY")
	if !slices.Equal(got, []string{"PATH=/bin", "VAULT_TOKEN_X=ok"}) {
		t.Fatalf("got %q", got)
	}
}
