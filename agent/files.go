package agent

import (
	"os"
	"path/filepath"

	"github.com/rotorproject/rotor/internal/atomicfile"
)

// defaultTemplatePerms is a template's mode when perms is not set, as in
// Vault Agent: sidecars whose app runs as another user depend on it.
const defaultTemplatePerms os.FileMode = 0o644

// templatePerms is the mode a template's file gets. perms, when set, is
// exact (the writer chmods it, the umask does not apply). Unset (0) is
// the default with the process umask applied, so systemd's UMask=0077 or
// a container's umask can tighten it. The config package must leave
// Perms 0 when perms is not set.
func templatePerms(perms os.FileMode) os.FileMode {
	if perms != 0 {
		return perms
	}
	return atomicfile.Masked(defaultTemplatePerms)
}

// pidFileMode is the pid file's mode: readable by all (rotor rotate and
// monitoring read it) unless the umask says otherwise.
func pidFileMode() os.FileMode { return atomicfile.Masked(0o644) }

// cleanupLeftovers removes the temporary files that a previous run,
// killed between creating and renaming one, left next to the files this
// one writes: templates, sinks, the pid file and the state file. It runs
// before anything is written; a failure is logged, not fatal.
func (a *Agent) cleanupLeftovers(s *settings) {
	var targets []atomicfile.Target
	add := func(path string, o atomicfile.Owner) {
		uid, _, err := o.Resolve()
		if err != nil {
			uid = -1 // New already refused unknown owners
		}
		targets = append(targets, atomicfile.Target{Path: path, UID: uid})
	}
	for _, t := range s.templates {
		add(t.Destination, t.Owner)
	}
	for _, sk := range s.sinks {
		add(sk.Path, sk.Owner)
	}
	add(s.pidFile, atomicfile.Owner{})
	if a.state != nil {
		add(a.state.Path(), atomicfile.Owner{})
	}
	log := a.log.With("component", "files")
	// Group writes a crash interrupted are finished first: their
	// temporary files are complete, and Cleanup would remove them.
	dirs := map[string]bool{}
	for _, t := range targets {
		if t.Path != "" {
			dirs[filepath.Dir(t.Path)] = true
		}
	}
	for dir := range dirs {
		renamed, err := atomicfile.Recover(dir)
		for _, p := range renamed {
			log.Info("finished a group write a crash interrupted", "path", p)
		}
		if err != nil {
			log.Warn("could not finish an interrupted group write", "dir", dir, "error", err)
		}
	}
	removed, err := atomicfile.Cleanup(targets)
	for _, p := range removed {
		log.Info("removed a temporary file left by an interrupted write", "path", p)
	}
	if err != nil {
		log.Warn("could not remove every leftover temporary file", "error", err)
	}
}
