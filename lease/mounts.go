package lease

import (
	"context"
	"fmt"
	"path"
	"strings"
	"sync"
	"time"

	"github.com/hashicorp/vault/api"
	"github.com/rotorproject/rotor/internal/vaulterr"
)

// mountCache remembers each mount's path and KV version, so a mount is
// looked up once, not once per secret (Vault Agent does the latter: half
// its requests for 500 KV templates are mount lookups).
type mountCache struct {
	mu     sync.Mutex
	mounts map[string]int // mount path ("secret/") -> KV version (0: not KV v2)
}

func (m *mountCache) find(p string) (string, int, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	best, ver, ok := "", 0, false
	for mp, v := range m.mounts {
		if strings.HasPrefix(p+"/", mp) && len(mp) > len(best) {
			best, ver, ok = mp, v, true
		}
	}
	return best, ver, ok
}

func (m *mountCache) add(mp string, v int) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.mounts == nil {
		m.mounts = map[string]int{}
	}
	m.mounts[mp] = v
}

// kvPath returns the path to read for p: KV v2 secrets are read under
// <mount>/data/ as consul-template does, so templates stay unchanged.
// prio is the lookup's place in the slot queue: that of the read it
// serves.
func (s *Store) kvPath(ctx context.Context, c *api.Client, p string, kind Kind, prio time.Time) (string, error) {
	mp, ver, ok := s.mounts.find(p)
	if !ok {
		// Concurrent reads under one top-level path share one lookup.
		first, _, _ := strings.Cut(p, "/")
		v, err, _ := s.flight.Do("mount:"+first, func() (any, error) {
			return s.lookupMount(ctx, c, p, prio)
		})
		if err != nil {
			return "", err
		}
		mi := v.(mountInfo)
		if !strings.HasPrefix(p+"/", mi.path) {
			// Another mount under the same top level: look up this one.
			if mi, err = s.lookupMount(ctx, c, p, prio); err != nil {
				return "", err
			}
		}
		mp, ver = mi.path, mi.version
	}
	return KVPath(mp, ver, p, kind), nil
}

// KVPath returns the path Vault is asked for when a template names p
// (kind: a read or a list) on the mount at mount (e.g. "secret/") of KV
// version ver: KV v2 secrets are read under <mount>/data/ and listed
// under <mount>/metadata/, as consul-template does, so templates stay
// unchanged; any other mount (ver != 2) is asked for p as is. It is pure:
// the mount is looked up by the caller.
func KVPath(mount string, ver int, p string, kind Kind) string {
	if ver != 2 {
		return p
	}
	mp := mount
	rest := strings.TrimPrefix(p+"/", mp)
	rest = strings.TrimSuffix(rest, "/")
	if kind == KindList {
		// A list of a KV v2 mount lists its metadata, as consul-template
		// (and so Vault Agent) does: `secrets "secret/app"` names the keys
		// under secret/metadata/app.
		switch {
		case strings.HasPrefix(rest, "metadata/") || rest == "metadata":
			return p
		case strings.HasPrefix(rest, "data/"):
			rest = strings.TrimPrefix(rest, "data/")
		}
		return path.Join(mp, "metadata", rest)
	}
	if rest == "" {
		return path.Join(mp, "data")
	}
	if strings.HasPrefix(rest, "data/") || strings.HasPrefix(rest, "metadata/") || strings.HasPrefix(rest, "subkeys/") {
		return p
	}
	return path.Join(mp, "data", rest)
}

type mountInfo struct {
	path    string
	version int
}

// lookupMount asks sys/internal/ui/mounts (allowed by Vault's default
// policy) for the mount holding p. A refusal is not fatal: the path is
// then read as is, like a KV v1 or non-KV secret. A Vault that does not
// answer (down, busy, too slow) fails the read, to be retried: guessing
// would read a KV v2 secret at the wrong path.
func (s *Store) lookupMount(ctx context.Context, c *api.Client, p string, prio time.Time) (mountInfo, error) {
	if err := s.slots.acquire(ctx, prio); err != nil {
		return mountInfo{}, err
	}
	sec, err := c.Logical().ReadWithContext(ctx, "sys/internal/ui/mounts/"+p)
	s.slots.release()
	if c := vaulterr.Classify(err); c.Transient() || c == vaulterr.Canceled {
		return mountInfo{}, fmt.Errorf("look up the mount of %s: %w", p, err)
	}
	if err != nil || sec == nil {
		s.o.Logger.Debug("mount lookup failed; reading the path as is", "path", p, "error", err)
		first, _, _ := strings.Cut(p, "/")
		mi := mountInfo{path: first + "/"}
		return mi, nil
	}
	mi := mountInfo{}
	mi.path, _ = sec.Data["path"].(string)
	if typ, _ := sec.Data["type"].(string); typ == "kv" {
		if opts, ok := sec.Data["options"].(map[string]any); ok && opts["version"] == "2" {
			mi.version = 2
		}
	}
	if mi.path == "" {
		first, _, _ := strings.Cut(p, "/")
		mi.path = first + "/"
	}
	s.mounts.add(mi.path, mi.version)
	return mi, nil
}
