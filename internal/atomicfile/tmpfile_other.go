//go:build !linux

package atomicfile

func createLinked(path, dir string, data []byte, o Options) (bool, error) { return false, nil }
