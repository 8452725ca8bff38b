//go:build !linux

package template

import (
	"os"
	"syscall"
)

const nonblock = syscall.O_NONBLOCK

// openInSandbox opens p only if it lies below sandbox once every symlink
// is resolved. (Linux also closes the race between check and open.)
func openInSandbox(sandbox, p string) (*os.File, error) {
	real, err := resolveInSandbox(sandbox, p)
	if err != nil {
		return nil, err
	}
	return openRegular(real)
}
