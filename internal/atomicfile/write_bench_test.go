package atomicfile

import (
	"fmt"
	"path/filepath"
	"sync/atomic"
	"testing"
)

// BenchmarkWriteGroupNew writes new one-file groups into one directory,
// 8 at once with a shared DirSyncer, as the template runner does on its
// first render. It measures this machine's filesystem as much as rotor.
func BenchmarkWriteGroupNew(b *testing.B) {
	dir := b.TempDir()
	var ds DirSyncer
	b.SetParallelism(4) // 2 cores here: 8 writers
	var n atomic.Int64
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			i := n.Add(1)
			items := []Item{{Path: filepath.Join(dir, fmt.Sprintf("k%06d", i)), Data: []byte(fmt.Sprint("value-", i)),
				Options: Options{Mode: 0o600, UID: -1, GID: -1, Dirs: &ds}}}
			if _, err := WriteGroup(items); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkWriteGroupUnchanged rewrites a file with the bytes it holds:
// every re-render of a template whose secret did not change.
func BenchmarkWriteGroupUnchanged(b *testing.B) {
	items := []Item{{Path: filepath.Join(b.TempDir(), "k"), Data: []byte("value-1"), Options: Options{Mode: 0o600, UID: -1, GID: -1}}}
	if _, err := WriteGroup(items); err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		if c, err := WriteGroup(items); err != nil || c[0] {
			b.Fatalf("changed %v, %v", c, err)
		}
	}
}
