//go:build !unix

package watch

import "os"

// inode is unknown here; size, mtime and mode still tell changes apart.
func inode(os.FileInfo) uint64 { return 0 }

// owner is not a pair of numbers here: a file's ACL is its owner.
func owner(os.FileInfo) [2]uint32 { return [2]uint32{} }
