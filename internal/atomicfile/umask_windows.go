//go:build windows

package atomicfile

import "os"

// swapUmask: Windows has no umask; a new file's access comes from its
// ACL (Write sets a whole one, see acl.go).
func swapUmask() os.FileMode { return 0 }
