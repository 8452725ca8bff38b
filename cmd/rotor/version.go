package main

import (
	"fmt"
	"runtime"
	"runtime/debug"
)

// Where the source came from, set by make release with -ldflags "-X
// main.commit=..." for builds the toolchain cannot stamp itself: the go
// command reads vcs.* only from a checkout whose .git is a directory, not
// from a git worktree or an unpacked source archive.
var (
	commit         string
	commitDate     string
	commitModified string // "true" when built with uncommitted changes
)

// buildInfo is what a binary knows about where it came from.
type buildInfo struct {
	module   string // the main module's version: "(devel)" unless go install'ed at a version
	revision string // vcs.revision: the commit
	time     string // vcs.time: the commit's date (RFC 3339)
	modified bool   // vcs.modified: built from a tree with uncommitted changes
	goVer    string
	platform string // GOOS/GOARCH
}

// readBuildInfo reads the Go toolchain's record of this build. The vcs.*
// settings exist when the binary was built inside a git checkout with
// -buildvcs (make release passes it; the default "auto" does too).
func readBuildInfo() buildInfo {
	bi := buildInfo{goVer: runtime.Version(), platform: runtime.GOOS + "/" + runtime.GOARCH}
	if info, ok := debug.ReadBuildInfo(); ok {
		bi.module = info.Main.Version
		for _, s := range info.Settings {
			switch s.Key {
			case "vcs.revision":
				bi.revision = s.Value
			case "vcs.time":
				bi.time = s.Value
			case "vcs.modified":
				bi.modified = s.Value == "true"
			}
		}
	}
	if bi.revision == "" {
		bi.revision, bi.time, bi.modified = commit, commitDate, commitModified == "true"
	}
	return bi
}

// versionText is rotor version's output. Its first line is "rotor
// <version>" (scripts and the Dockerfile test read it); the others say
// which commit it was built from, that commit's date, and the Go release
// that built it, so a binary can be traced to its source.
func versionText(version string, bi buildInfo) string {
	if version == "dev" && bi.module != "" && bi.module != "(devel)" {
		version = bi.module // go install ...@v1.2.3
	}
	commit, date := "unknown (built without version control information)", "unknown"
	if bi.revision != "" {
		commit = bi.revision
		if bi.modified {
			commit += " (modified: uncommitted changes)"
		}
	}
	if bi.time != "" {
		date = bi.time
	}
	return fmt.Sprintf("rotor %s\ncommit: %s\ndate:   %s\ngo:     %s %s\n", version, commit, date, bi.goVer, bi.platform)
}
