//go:build !unix

package phases

import "time"

// cpuTime is not measured here: the report says 0.
func cpuTime() (user, sys time.Duration) { return 0, 0 }
