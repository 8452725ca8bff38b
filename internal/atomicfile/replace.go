package atomicfile

import (
	"errors"
	"fmt"
	"time"
)

// ErrInUse is wrapped by Write's error when the destination stayed open,
// by a program that does not let others replace it, through every retry.
// It happens on Windows only: Unix's rename never waits for readers.
var ErrInUse = errors.New("the file is in use by another program")

// replaceDelays are the waits between attempts to replace a destination
// that another program holds open (about 1.3 s in all). A reader of a
// small file closes it within milliseconds; one that keeps it open longer
// (a log tailer, an editor) is not going to let go, and the render is
// better failed, logged and retried later than blocked.
var replaceDelays = []time.Duration{
	10 * time.Millisecond, 20 * time.Millisecond, 40 * time.Millisecond, 80 * time.Millisecond,
	160 * time.Millisecond, 320 * time.Millisecond, 640 * time.Millisecond,
}

// retryReplace calls move until it succeeds, fails with an error busy does
// not recognise, or the delays run out (sleeping each in between). The
// last error is wrapped with ErrInUse then.
func retryReplace(move func() error, busy func(error) bool, sleep func(time.Duration), delays []time.Duration) error {
	var waited time.Duration
	for i := 0; ; i++ {
		err := move()
		if err == nil || !busy(err) {
			return err
		}
		if i == len(delays) {
			return fmt.Errorf("%w (still open after %d attempts over %v; a reader must open it with FILE_SHARE_DELETE, or close it sooner): %w",
				ErrInUse, i+1, waited, err)
		}
		sleep(delays[i])
		waited += delays[i]
	}
}
