package template

import (
	"time"

	"github.com/rotorproject/rotor/internal/atomicfile"
)

// Watcher is what the runner needs of a file watcher (internal/watch):
// the runner sets the files it depends on, and marks its own writes as
// seen so they are not reported back.
type Watcher interface {
	Set(group string, paths map[string]func())
	Seen(path string)
}

// watchGroup is the runner's group of files in the Watcher.
const watchGroup = "templates"

// fileEvents are changes the Watcher reported, for the runner's
// goroutine. Guarded by Runner.mu.
type fileEvents struct {
	inputs  map[string]bool // files read by the file function
	sources map[*tmpl]bool  // template source files
	drifted map[*tmpl]bool  // destinations someone else changed or removed
}

// watchFiles tells the Watcher the files the templates depend on now:
// every file a render read, every template source, every destination. It
// calls Set only when that set changed. Runner goroutine only.
//
// The set changes only when a render reads other files than before or a
// template is written for the first time (watchDirty), so other passes
// skip it: with thousands of templates, rebuilding it on every pass cost
// a map, a closure per file and a sort each time.
func (r *Runner) watchFiles() {
	if r.o.Watch == nil || !r.watchDirty.Swap(false) {
		return
	}
	paths := map[string]func(){}
	for _, t := range r.tmpls {
		t := t
		for p := range t.files {
			paths[p] = func() { r.fileEvent(func(e *fileEvents) { e.inputs[p] = true }) }
		}
		if t.cfg.Source != "" {
			paths[t.cfg.Source] = func() { r.fileEvent(func(e *fileEvents) { e.sources[t] = true }) }
		}
		if t.envName == "" && t.rendered {
			paths[t.cfg.Destination] = func() { r.fileEvent(func(e *fileEvents) { e.drifted[t] = true }) }
		}
	}
	same := len(paths) == len(r.watched)
	for p := range paths {
		same = same && r.watched[p]
	}
	if same {
		return
	}
	r.watched = make(map[string]bool, len(paths))
	for p := range paths {
		r.watched[p] = true
	}
	r.o.Watch.Set(watchGroup, paths)
}

// fileEvent records a change the Watcher reported and wakes Run. It is
// called from the Watcher's goroutine and never blocks.
func (r *Runner) fileEvent(add func(*fileEvents)) {
	r.mu.Lock()
	if r.files.inputs == nil {
		r.files = fileEvents{inputs: map[string]bool{}, sources: map[*tmpl]bool{}, drifted: map[*tmpl]bool{}}
	}
	add(&r.files)
	r.mu.Unlock()
	r.poke()
}

// takeFileEvents returns and clears the recorded changes.
func (r *Runner) takeFileEvents() fileEvents {
	r.mu.Lock()
	defer r.mu.Unlock()
	ev := r.files
	r.files = fileEvents{}
	return ev
}

// applyFileEvents acts on changed files: a template reading a changed
// input renders again (consul-template re-reads file inputs); a template
// whose source changed is parsed again (kept as it was if the new text
// does not parse) and renders again; a destination changed or removed by
// someone else is written again (drift repair). Runner goroutine only.
func (r *Runner) applyFileEvents(now time.Time) {
	ev := r.takeFileEvents()
	for _, t := range r.tmpls {
		for p := range t.files {
			if ev.inputs[p] {
				r.log.Info("a file the template reads changed; rendering it again", "template", t.name, "file", p)
				r.markDirty(t, now)
				break
			}
		}
		if ev.sources[t] {
			r.reloadSource(t, now)
		}
		if ev.drifted[t] {
			r.repair(t)
		}
	}
}

// markDirty schedules t's render, honouring its wait { min, max }.
func (r *Runner) markDirty(t *tmpl, now time.Time) {
	if !t.dirty {
		t.dirty, t.firstDue = true, now
	}
	t.dueAt = now.Add(t.cfg.WaitMin)
	if t.cfg.WaitMax > 0 && t.dueAt.After(t.firstDue.Add(t.cfg.WaitMax)) {
		t.dueAt = t.firstDue.Add(t.cfg.WaitMax)
	}
}

// reloadSource parses t's source file again.
func (r *Runner) reloadSource(t *tmpl, now time.Time) {
	text, err := readLocal(t.cfg.Source, "", t.cfg.MaxBytes)
	if err == nil {
		var p parsed
		if p, err = t.parse(text, true); err == nil {
			t.parsed = p
			r.log.Info("template source changed; rendering it again", "template", t.name, "source", t.cfg.Source)
			r.markDirty(t, now)
			return
		}
	}
	r.log.Error("template source changed but cannot be used; the previous version stays", "template", t.name,
		"source", t.cfg.Source, "error", r.secrets().Redact(err.Error()), "error_class", KindParse.String())
}

// repair writes t's last rendered content again if its destination no
// longer holds it with its mode and owner (deleted, edited, chmodded or
// chowned by someone else). The reload command does not run: the file is
// back to what the application last reloaded.
//
// The destination is read once: atomicfile.Write compares its bytes, mode
// and owner with what it would write, and writes only when one differs.
func (r *Runner) repair(t *tmpl) {
	if !t.rendered || t.output == nil {
		return
	}
	o := r.writeOptions(t)
	r.writeSem <- struct{}{}
	changed, err := atomicfile.Write(t.cfg.Destination, t.output, o)
	<-r.writeSem
	if err != nil {
		r.log.Error("destination changed by someone else and cannot be written again", "template", t.name, "error", err,
			"error_class", KindPublish.String())
		return
	}
	if !changed {
		return // it holds t's output, mode and owner: nothing drifted
	}
	r.seen(t.cfg.Destination)
	r.log.Warn("destination changed or removed by someone else; written again", "template", t.name)
	// Seen records the file as it is now: a change landing between the
	// write and Seen would go unnoticed. Its metadata tells most of them
	// without reading it again; only an edit keeping its size, mode and
	// owner in that instant is missed, as after any write rotor makes.
	if !atomicfile.Matches(t.cfg.Destination, int64(len(t.output)), o) {
		r.fileEvent(func(e *fileEvents) { e.drifted[t] = true })
	}
}

// seen tells the Watcher that rotor itself just wrote path.
func (r *Runner) seen(path string) {
	if r.o.Watch != nil {
		r.o.Watch.Seen(path)
	}
}

// writeOptions are how t's destination is written. An existing
// destination keeps its owner where user and group are not set, and its
// mode where perms is not set: consul-template's renderer does so, and an
// application's own 0600 file must not become a root-owned 0644 one.
func (r *Runner) writeOptions(t *tmpl) atomicfile.Options {
	return atomicfile.Options{Mode: t.cfg.Perms, UID: t.uid, GID: t.gid, CreateDirs: t.cfg.CreateDestDirs,
		Backup: t.cfg.Backup, Dirs: &r.dirs, Owner: t.cfg.Owner,
		KeepMode: t.cfg.PermsUnset, KeepOwner: true,
		Warn: func(err error) {
			r.log.Warn("destination written with rotor's owner; set user and group, or run rotor as root", "template", t.name, "error", err)
		}}
}
