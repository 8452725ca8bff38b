//go:build unix

package atomicfile

import (
	"os"

	"golang.org/x/sys/unix"
)

// swapUmask reads the umask the only way Unix offers besides /proc: set
// it to 0 and restore it at once (see Umask for why that is early).
func swapUmask() os.FileMode {
	old := unix.Umask(0)
	unix.Umask(old)
	return os.FileMode(old)
}
