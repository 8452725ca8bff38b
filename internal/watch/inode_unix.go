//go:build unix

package watch

import (
	"os"
	"syscall"
)

func inode(st os.FileInfo) uint64 {
	if s, ok := st.Sys().(*syscall.Stat_t); ok {
		return uint64(s.Ino)
	}
	return 0
}

// owner is the file's uid and gid: a chown alone changes neither its
// size, mtime nor mode, and a destination given away is drift to repair.
func owner(st os.FileInfo) [2]uint32 {
	if s, ok := st.Sys().(*syscall.Stat_t); ok {
		return [2]uint32{s.Uid, s.Gid}
	}
	return [2]uint32{}
}
