package atomicfile

import "os"

// Matches reports whether path holds a regular file of exactly size
// bytes with the mode and owner Write would give it under o, from its
// metadata alone (it reads no content; Write compares the bytes). A
// caller that has just written path uses it to notice, without reading
// the file again, that someone changed it meanwhile.
func Matches(path string, size int64, o Options) bool {
	if o.Mode == 0 {
		o.Mode = 0o600
	}
	st, err := os.Lstat(path)
	if err != nil || !st.Mode().IsRegular() {
		return false
	}
	// What the file has and KeepMode/KeepOwner would keep matches too.
	return st.Size() == size && modeOwnerOK(path, st, o.keep(st))
}
