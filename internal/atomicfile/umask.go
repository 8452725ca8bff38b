package atomicfile

import (
	"bufio"
	"os"
	"strconv"
	"strings"
	"sync"
)

var (
	umaskOnce sync.Once
	umask     os.FileMode
)

// Umask returns the process's umask (systemd's UMask=, the shell's umask),
// read once.
//
// It is read from /proc/self/status, which changes nothing. Without /proc
// (kernels before 4.7, other systems) it is read the only other way: set
// to 0 and restored at once. Files another goroutine creates in between
// would miss the umask, so the first call must come before goroutines
// start: the agent makes it while translating its configuration.
func Umask() os.FileMode {
	umaskOnce.Do(func() {
		if m, ok := procUmask(); ok {
			umask = m
			return
		}
		umask = swapUmask() & os.ModePerm
	})
	return umask
}

// Masked returns m without the umask's bits: the mode a file created with
// m would get. Write sets modes exactly, so a caller whose mode is a
// default rather than a choice (a template without perms) passes it
// through Masked first.
func Masked(m os.FileMode) os.FileMode { return m &^ Umask() }

// procUmask reads the "Umask:" line of /proc/self/status.
func procUmask() (os.FileMode, bool) {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		return 0, false
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "Umask:"); ok {
			n, err := strconv.ParseUint(strings.TrimSpace(v), 8, 32)
			if err != nil {
				return 0, false
			}
			return os.FileMode(n) & os.ModePerm, true
		}
	}
	return 0, false
}
