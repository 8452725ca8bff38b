//go:build unix

package agent

import "golang.org/x/sys/unix"

// mayWriteIn reports whether this process may create files in the
// directory dir (write and search permission), as access(2) answers: the
// check writes nothing.
func mayWriteIn(dir string) error {
	return unix.Access(dir, unix.W_OK|unix.X_OK)
}
