// Package watch tells rotor when files it depends on change: template
// inputs read by the file function, template sources, credential files,
// and rendered destinations that someone else edited or deleted.
//
// It watches each file's directory, not the file: files are usually
// replaced by a rename (rotor's own writes, editors, Kubernetes projected
// volumes swapping a "..data" symlink), and a watch on the old inode would
// go silent. Events are only hints: after a quiet period (Debounce), each
// watched file in a directory with events is stat'ed and its callback runs
// only if what stat reports (existence, size, mtime, inode, mode) changed.
package watch

import (
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/fsnotify/fsnotify"
)

// Debounce is the quiet period after the last event before callbacks run:
// a burst (a write, then a rename, then a chmod) gives one callback.
const Debounce = 200 * time.Millisecond

// Watcher watches files and calls their callbacks when they change. Set
// may be called from any goroutine; callbacks run on Run's goroutine and
// must not block.
type Watcher struct {
	log *slog.Logger

	mu     sync.Mutex
	groups map[string]map[string]*file // owner -> absolute path -> state
	kick   chan struct{}               // Set changed the set of directories
}

type file struct {
	onChange func()
	seen     stamp
}

// stamp is what stat tells about a file; a change in it is a change.
type stamp struct {
	exists bool
	size   int64
	mtime  time.Time
	mode   os.FileMode
	ino    uint64
	owner  [2]uint32 // uid, gid
}

func stat(p string) stamp {
	st, err := os.Stat(p)
	if err != nil {
		return stamp{}
	}
	return stamp{exists: true, size: st.Size(), mtime: st.ModTime(), mode: st.Mode(), ino: inode(st), owner: owner(st)}
}

// New returns a watcher; it starts nothing until Run.
func New(log *slog.Logger) *Watcher {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Watcher{log: log, groups: map[string]map[string]*file{}, kick: make(chan struct{}, 1)}
}

// Set replaces the files one owner (group) watches: path -> the callback
// to run when the file changes. Owners (the templates, the auth method)
// set their own files without knowing each other's. A file kept from the
// previous set keeps its last known state, so re-registering it does not
// fire its callback.
func (w *Watcher) Set(group string, paths map[string]func()) {
	w.mu.Lock()
	prev := w.groups[group]
	next := make(map[string]*file, len(paths))
	for p, f := range paths {
		abs, err := filepath.Abs(p)
		if err != nil {
			continue
		}
		if old, ok := prev[abs]; ok {
			old.onChange = f
			next[abs] = old
			continue
		}
		next[abs] = &file{onChange: f, seen: stat(abs)}
	}
	w.groups[group] = next
	w.mu.Unlock()
	select {
	case w.kick <- struct{}{}:
	default:
	}
}

// Seen records a file's current state without calling its callback: the
// owner calls it after writing the file itself, so that its own write is
// not reported back as a change.
func (w *Watcher) Seen(p string) {
	abs, err := filepath.Abs(p)
	if err != nil {
		return
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	for _, files := range w.groups {
		if f, ok := files[abs]; ok {
			f.seen = stat(abs)
		}
	}
}

// dirs returns the directories holding watched files.
func (w *Watcher) dirs() map[string]bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	out := map[string]bool{}
	for _, files := range w.groups {
		for p := range files {
			out[filepath.Dir(p)] = true
		}
	}
	return out
}

// Run watches until ctx is done. A directory that cannot be watched (it
// does not exist yet) is retried when the set changes and every few
// seconds; its files are polled meanwhile.
func (w *Watcher) Run(ctx context.Context) error {
	fw, err := fsnotify.NewWatcher()
	if err != nil {
		// No inotify (a container without it, a limit reached): poll.
		w.log.Warn("file watching unavailable; polling every 5s instead", "error", err)
		return w.poll(ctx)
	}
	defer fw.Close()
	watched := map[string]bool{}
	pending := map[string]bool{} // directories with events since the last check
	var quiet <-chan time.Time
	// update adds and removes directory watches to match the set. A
	// directory watched for the first time is checked at once: its files
	// may have changed while nothing watched them (it did not exist yet).
	update := func() {
		want := w.dirs()
		for d := range watched {
			if !want[d] {
				fw.Remove(d)
				delete(watched, d)
			}
		}
		for d := range want {
			if !watched[d] {
				if err := fw.Add(d); err == nil {
					watched[d] = true
					pending[d] = true
					quiet = time.After(Debounce)
				}
			}
		}
	}
	update()
	retry := time.NewTicker(5 * time.Second)
	defer retry.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-w.kick:
			update()
		case <-retry.C:
			// Directories that did not exist yet may exist now.
			update()
		case ev, ok := <-fw.Events:
			if !ok {
				return nil
			}
			pending[filepath.Dir(ev.Name)] = true
			quiet = time.After(Debounce)
		case err, ok := <-fw.Errors:
			if !ok {
				return nil
			}
			// An overflow loses events: check everything.
			w.log.Warn("file watch error; checking every watched file", "error", err)
			for d := range watched {
				pending[d] = true
			}
			quiet = time.After(Debounce)
		case <-quiet:
			quiet = nil
			w.check(pending)
			pending = map[string]bool{}
		}
	}
}

// check runs the callbacks of changed files in the given directories.
func (w *Watcher) check(dirs map[string]bool) {
	var fire []func()
	w.mu.Lock()
	for _, files := range w.groups {
		for p, f := range files {
			if !dirs[filepath.Dir(p)] {
				continue
			}
			if now := stat(p); now != f.seen {
				f.seen = now
				fire = append(fire, f.onChange)
			}
		}
	}
	w.mu.Unlock()
	for _, f := range fire {
		f()
	}
}

// poll checks every watched file every 5 seconds, for systems without
// inotify.
func (w *Watcher) poll(ctx context.Context) error {
	t := time.NewTicker(5 * time.Second)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
			w.check(w.dirs())
		}
	}
}
