package command

// shellArgv is how a string command runs on goos: through /bin/sh -c on
// Unix, as Vault Agent does, and through cmd.exe on Windows, which has no
// /bin/sh. The argv is what logs and status show; on Windows the process
// gets windowsCmdLine instead (see there).
func shellArgv(goos, s string) []string {
	if goos == "windows" {
		return []string{"cmd.exe", "/S", "/C", s}
	}
	return []string{"/bin/sh", "-c", s}
}

// windowsCmdLine is the command line a string command is started with on
// Windows. Windows passes a program one string, not an argv, and Go
// builds it with the quoting rules of CommandLineToArgvW (a quote inside
// becomes \"), which cmd.exe does not follow: "C:\Program Files\x.exe"
// -reload would reach it mangled. So rotor hands cmd.exe the line itself:
// with /S, cmd.exe removes exactly the first and the last quote and runs
// what is between as typed, quotes, pipes and %VARIABLES% included.
func windowsCmdLine(s string) string { return `cmd.exe /S /C "` + s + `"` }
