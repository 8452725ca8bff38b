package config

import (
	"fmt"
	"math"
	"os"
	"strconv"
	"strings"

	"github.com/hashicorp/hcl/hcl/token"
)

var sinkSpec = spec{known: []string{"type", "wrap_ttl", "dh_type", "dh_path", "derive_key", "aad", "aad_env_var", "config"}}

// sinkConfigSpec: path and mode are Vault Agent's; owner and group are
// Vault Agent's numeric ids, which rotor also takes as names; uid and gid
// are rotor's.
var sinkConfigSpec = spec{known: []string{"path", "mode", "owner", "group", "uid", "gid"}}

func (d *decoder) decodeSink(parent *block, it *item) *Sink {
	b := parent.typedBody(it, "sink", sinkSpec)
	typ, ok := parent.typeOf(it, b, "sink")
	if !ok {
		return nil
	}
	s := &Sink{Type: typ, Range: it.pos}
	where := fmt.Sprintf("sink %q", typ)
	b.where = where
	if typ != "file" {
		d.ds.errorf(it.pos, "Unknown sink type", "sink %q: the only sink type is \"file\".", typ)
	}
	if a := b.one("wrap_ttl"); a != nil {
		if d.negDuration(a, where, "wrap_ttl", &s.WrapTTL) && s.WrapTTL < 0 {
			// Vault Agent wraps for a sink whose wrap_ttl is not zero, and
			// Vault refuses a negative one: the sink is never written.
			d.ds.warnf(a.vpos, "Sink never written", "%s: wrap_ttl %s is negative: Vault Agent asks Vault to wrap the token with it, Vault refuses (requested wrap ttl cannot be negative), and the sink is never written; rotor does the same. Write a positive duration, or remove wrap_ttl to write the token itself.", where, s.WrapTTL)
		}
	}
	if a := b.one("dh_type"); a != nil && d.str(a, where, "dh_type", &s.DHType) {
		if s.DHType != "" && s.DHType != "curve25519" {
			d.ds.errorf(a.vpos, "Invalid value", "%s: dh_type %q: the only type is \"curve25519\".", where, s.DHType)
		}
	}
	if a := b.one("dh_path"); a != nil {
		d.str(a, where, "dh_path", &s.DHPath)
	}
	if a := b.one("derive_key"); a != nil {
		d.strictBool(a, where, "derive_key", &s.DeriveKey)
	}
	if a := b.one("aad"); a != nil {
		var v string
		if d.str(a, where, "aad", &v) {
			s.AAD = Secret(v)
		}
	}
	if a := b.one("aad_env_var"); a != nil {
		d.str(a, where, "aad_env_var", &s.AADEnvVar)
	}
	cw := where + " config"
	c := b.bodies("config", cw, sinkConfigSpec)
	if p := c.one("path"); p == nil {
		d.ds.errorf(it.pos, "Missing required argument", "%s: \"path\" is required.", cw)
	} else if d.mapStr(p, cw, "path", &s.Path) && s.Path == "" {
		d.ds.errorf(p.vpos, "Invalid value", "%s: \"path\" is empty.", cw)
	}
	if m := c.one("mode"); m != nil {
		d.sinkMode(m, cw, &s.Mode)
	}
	d.decodeOwner(c, "owner", "group", true, &s.Owner)
	return s
}

// sinkMode: Vault Agent takes only a number (0640 octal, 640 decimal);
// rotor also takes an octal string, and says Vault Agent would not.
func (d *decoder) sinkMode(it *item, where string, dst *os.FileMode) {
	l, ok := d.lit(it)
	if !ok {
		d.typeErr(it, where, "mode", "a file mode such as 0640")
		return
	}
	// Vault Agent's loader keeps the value as it is; its file sink, made
	// before anything runs, refuses what is not an int, and a negative
	// int (a file type bit once converted): Vault Agent exits at start.
	switch l.Token.Type {
	case token.NUMBER:
		if n, err := strconv.ParseInt(l.Token.Text, 0, 64); err == nil && n < 0 {
			d.ds.errorf(it.vpos, "Invalid file mode", "%s: mode = %s: Vault Agent exits when it creates this sink (error creating file sink: file mode does not represent a regular file); write the mode in octal, such as 0640.", where, l.Token.Text)
			return
		}
		d.modeNumber(it, l, where, "mode", dst)
	case token.STRING:
		s, _ := tokValue(l.Token).(string)
		if _, err := strconv.ParseUint(strings.TrimSpace(s), 8, 12); err != nil {
			d.ds.errorf(it.vpos, "Invalid file mode", "%s: mode = %q: Vault Agent exits when it creates this sink (error creating file sink: could not parse 'mode' as integer); write the mode as an octal number, such as 0640.", where, s)
			return
		}
		if d.octalString(it, where, "mode", s, dst) {
			d.ds.warnf(it.vpos, "Not portable", "%s: mode = %q: Vault Agent refuses a quoted mode here (it wants the number %s).", where, s, s)
		}
	default:
		d.typeErr(it, where, "mode", "a file mode such as 0640")
	}
}

// decodeOwner reads owner/group (names or numbers) and uid/gid. In a sink
// (strict) naming both forms for one thing is an error; in a template
// (Vault Agent accepts both) it is a warning and the number wins.
func (d *decoder) decodeOwner(b *block, userKey, groupKey string, strict bool, o *Owner) {
	for _, k := range []struct {
		name string
		dst  *string
	}{{userKey, &o.User}, {groupKey, &o.Group}} {
		if a := b.one(k.name); a != nil {
			if strict {
				d.str(a, b.where, k.name, k.dst)
			} else {
				// Vault Agent decodes a template with mapstructure,
				// not weakly typed: a name must be a string.
				d.mapStr(a, b.where, k.name, k.dst)
			}
		}
	}
	num := func(key string, dst **int) {
		a := b.one(key)
		if a == nil {
			return
		}
		var n int
		if !strict {
			// mapstructure takes a number (a float is truncated), not a
			// string; consul-template leaves a negative id unchanged.
			if d.templateID(a, b.where, key, &n) {
				*dst = &n
			}
			return
		}
		if d.strictInt(a, b.where, key, &n) {
			if n < 0 {
				d.ds.errorf(a.vpos, "Invalid value", "%s: %s must not be negative.", b.where, key)
			}
			*dst = &n
		}
	}
	num("uid", &o.UID)
	num("gid", &o.GID)
	for _, p := range []struct {
		named string
		set   bool
		id    string
		num   *int
	}{{userKey, o.User != "", "uid", o.UID}, {groupKey, o.Group != "", "gid", o.GID}} {
		if !p.set || p.num == nil {
			continue
		}
		at := b.one(p.id).pos
		if strict {
			d.ds.errorf(at, "Conflicting options", "%s: set %s or %s, not both.", b.where, p.named, p.id)
		} else {
			d.ds.warnf(at, "Conflicting options", "%s: both %s and %s are set; rotor uses %s.", b.where, p.named, p.id, p.id)
			if p.id == "uid" {
				o.User = ""
			} else {
				o.Group = ""
			}
		}
	}
}

// templateID reads a template's uid or gid as Vault Agent's mapstructure
// decoding does: a number, a fraction truncated. A negative id is what
// chown takes for "leave it": it is dropped with a warning.
func (d *decoder) templateID(it *item, where, name string, dst *int) bool {
	l, ok := d.lit(it)
	if !ok || (l.Token.Type != token.NUMBER && l.Token.Type != token.FLOAT) {
		return d.typeErr(it, where, name, "a number (unquoted)")
	}
	f, err := strconv.ParseFloat(numText(l.Token.Text), 64)
	if err != nil || f > math.MaxInt32 || f < math.MinInt32 {
		return d.typeErr(it, where, name, "a number (unquoted)")
	}
	if f < 0 {
		d.ds.warnf(it.vpos, "Owner unchanged", "%s: %s = %s: a negative id leaves the file's owner as it is, in Vault Agent and in rotor; remove it.", where, name, l.Token.Text)
		return false
	}
	if f != math.Trunc(f) {
		d.ds.warnf(it.vpos, "Fraction dropped", "%s: %s = %s: Vault Agent drops the fraction, and so does rotor (%d).", where, name, l.Token.Text, int(f))
	}
	*dst = int(f)
	return true
}
