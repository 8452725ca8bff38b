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
		want = []string{"cmd.exe", "/S", "/C", "echo a | tee b"}
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

// On Windows a string command runs through cmd.exe with its command line
// as written: /S makes cmd.exe strip only the outer quotes, so quoted
// paths and arguments inside reach it intact (Go's argv quoting would
// turn them into \", which cmd.exe does not understand).
func TestWindowsShell(t *testing.T) {
	if got := shellArgv("windows", "iisreset /restart"); !slices.Equal(got, []string{"cmd.exe", "/S", "/C", "iisreset /restart"}) {
		t.Fatalf("windows argv %q", got)
	}
	if got := shellArgv("darwin", "x"); !slices.Equal(got, []string{"/bin/sh", "-c", "x"}) {
		t.Fatalf("darwin argv %q", got)
	}
	for in, want := range map[string]string{
		`iisreset /restart`:                            `cmd.exe /S /C "iisreset /restart"`,
		`"C:\Program Files\app\app.exe" -reload "a b"`: `cmd.exe /S /C ""C:\Program Files\app\app.exe" -reload "a b""`,
		`echo %PATH% | findstr rotor & exit /b 3`:      `cmd.exe /S /C "echo %PATH% | findstr rotor & exit /b 3"`,
	} {
		if got := windowsCmdLine(in); got != want {
			t.Errorf("windowsCmdLine(%s) = %s, want %s", in, got, want)
		}
	}
}
