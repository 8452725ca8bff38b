package atomicfile

import (
	"os"
	"sync"
)

// DirSyncer makes renames durable by syncing their directory, with group
// commit: a writer whose rename is already covered by an fsync that
// started after it returns without another one. Hundreds of templates
// written into one directory then cost a handful of directory fsyncs, not
// one each. The zero value is ready; a nil *DirSyncer syncs every time.
type DirSyncer struct {
	mu   sync.Mutex
	dirs map[string]*dirState
}

type dirState struct {
	mu        sync.Mutex // held during the fsync
	requested uint64     // renames made, counted (under DirSyncer.mu)
	covered   uint64     // renames known durable
}

// Sync returns once every rename made in dir before the call is durable.
// Errors are ignored: some filesystems cannot sync directories.
func (s *DirSyncer) Sync(dir string) {
	if s == nil {
		syncDir(dir)
		return
	}
	s.mu.Lock()
	if s.dirs == nil {
		s.dirs = map[string]*dirState{}
	}
	d := s.dirs[dir]
	if d == nil {
		d = &dirState{}
		s.dirs[dir] = d
	}
	d.requested++
	mine := d.requested
	s.mu.Unlock()

	d.mu.Lock()
	defer d.mu.Unlock()
	if d.covered >= mine {
		return // an fsync that started after our rename has finished
	}
	s.mu.Lock()
	upTo := d.requested // this fsync covers every rename counted so far
	s.mu.Unlock()
	syncDir(dir)
	d.covered = upTo
}

func syncDir(dir string) {
	if f, err := os.Open(dir); err == nil {
		f.Sync()
		f.Close()
	}
}
