package lease

import "testing"

func TestKVPath(t *testing.T) {
	for _, c := range []struct {
		mount string
		ver   int
		p     string
		kind  Kind
		want  string
	}{
		{"secret/", 2, "secret/app", KindRead, "secret/data/app"},
		{"secret/", 2, "secret/data/app", KindRead, "secret/data/app"},
		{"secret/", 2, "secret/metadata/app", KindRead, "secret/metadata/app"},
		{"secret/", 2, "secret", KindRead, "secret/data"},
		{"secret/", 2, "secret/app", KindList, "secret/metadata/app"},
		{"secret/", 2, "secret/data/app", KindList, "secret/metadata/app"},
		{"secret/", 2, "secret/metadata/app", KindList, "secret/metadata/app"},
		{"team/kv/", 2, "team/kv/app/db", KindRead, "team/kv/data/app/db"},
		{"kv1/", 0, "kv1/app", KindRead, "kv1/app"},
		{"database/", 0, "database/creds/ro", KindRead, "database/creds/ro"},
	} {
		if got := KVPath(c.mount, c.ver, c.p, c.kind); got != c.want {
			t.Errorf("KVPath(%q, %d, %q, %d) = %q, want %q", c.mount, c.ver, c.p, c.kind, got, c.want)
		}
	}
}
