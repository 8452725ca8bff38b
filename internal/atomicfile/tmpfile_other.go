//go:build !linux || rotor_portable

package atomicfile

// linkedWrites: new files take the temporary file + rename path too.
const linkedWrites = false

// createLinked is Linux's O_TMPFILE + linkat path. Elsewhere every write
// takes the portable path: a named temporary file renamed over the
// destination. The rotor_portable build tag forces that path on Linux
// too, so the tests run through it there (make test-portable).
func createLinked(path, dir string, data []byte, o Options) (bool, error) { return false, nil }
