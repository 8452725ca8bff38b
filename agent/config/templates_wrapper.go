package config

import (
	"strconv"
	"strings"
	"time"

	"github.com/hashicorp/hcl/hcl/ast"
	"github.com/hashicorp/hcl/hcl/token"
)

// wrappedTemplateSpec is consul-template's TemplateConfig as HCL 1 decodes
// it inside templates { }: by its Go field names (HCL 1 matches them
// without regard to case), not by the names a template block takes. So
// Vault Agent reads destination and contents there, and skips
// create_dest_dirs (it reads createdestdirs) or left_delimiter
// (leftdelim).
var wrappedTemplateSpec = spec{
	known: []string{"source", "contents", "destination", "backup", "command", "commandtimeout", "createdestdirs",
		"errmissingkey", "errfatal", "exec", "perms", "user", "uid", "group", "gid", "wait", "leftdelim", "rightdelim",
		"functiondenylist", "functiondenylistdeprecated", "sandboxpath"},
	moved: func() map[string]string {
		m := map[string]string{}
		for _, k := range templateSpec.known {
			if !contains([]string{"source", "contents", "destination", "backup", "command", "exec", "perms", "user",
				"uid", "group", "gid", "wait"}, k) {
				m[k] = "a template block (outside templates { })"
			}
		}
		return m
	}(),
}

// decodeTemplatesWrapper reads the top-level templates { template { ... } }
// form into cfg.Templates. As in Vault Agent, a file's template blocks
// replace the templates its wrapper gave.
func (d *decoder) decodeTemplatesWrapper(b *block, cfg *Config) {
	ws := b.all("templates")
	if len(ws) == 0 {
		return
	}
	if b.has("template") {
		d.ds.warnf(ws[0].pos, "Ignored", "templates: the templates block is ignored: this file also has template blocks, and Vault Agent then uses only those; rotor does the same. Move these templates out of templates { } as template blocks.")
		return
	}
	const where = "templates"
	for _, w := range wrapperItems(ws) {
		els, ok := d.wrapperElements(w, where, "template")
		if !ok {
			continue
		}
		for _, el := range els {
			tb := d.newBlock(el.list, el.pos, where+" template", wrappedTemplateSpec)
			it := &item{name: "template", key: w.key, pos: el.pos, vpos: el.pos}
			cfg.Templates = append(cfg.Templates, d.decodeWrappedTemplate(tb, it))
		}
	}
}

// decodeWrappedTemplate reads one template of templates { } with HCL 1's
// value rules for its Go fields: strings take numbers too, bools only
// true/false, durations are whole numbers of nanoseconds, lists only
// lists, and perms (an os.FileMode) cannot be decoded at all.
func (d *decoder) decodeWrappedTemplate(b *block, it *item) *Template {
	t := &Template{Range: it.pos, CreateDestDirs: true}
	w := b.where
	for _, k := range []struct {
		name string
		dst  *string
	}{{"source", &t.Source}, {"contents", &t.Contents}, {"destination", &t.Destination}, {"user", &t.Owner.User},
		{"group", &t.Owner.Group}, {"leftdelim", &t.LeftDelim}, {"rightdelim", &t.RightDelim}, {"sandboxpath", &t.SandboxPath}} {
		if a := b.one(k.name); a != nil {
			d.str(a, w, k.name, k.dst)
		}
	}
	for _, k := range []struct {
		name string
		dst  *bool
	}{{"backup", &t.Backup}, {"createdestdirs", &t.CreateDestDirs}, {"errmissingkey", &t.ErrorOnMissingKey}} {
		if a := b.one(k.name); a != nil {
			d.strictBool(a, w, k.name, k.dst)
		}
	}
	if a := b.one("errfatal"); a != nil {
		var v bool
		if d.strictBool(a, w, "errfatal", &v) {
			t.ErrorFatal = &v
			d.ds.warnf(a.pos, "Ignored by rotor", "%s: errfatal: consul-template stops on a template error when it is true; rotor logs a failing template and retries it with backoff, and ignores it.", w)
		}
	}
	for _, k := range []struct {
		name string
		dst  **int
	}{{"uid", &t.Owner.UID}, {"gid", &t.Owner.GID}} {
		if a := b.one(k.name); a != nil {
			var n int
			if d.strictInt(a, w, k.name, &n) {
				*k.dst = &n
			}
		}
	}
	if t.Owner.UID != nil && t.Owner.User != "" {
		t.Owner.User = ""
	}
	if t.Owner.GID != nil && t.Owner.Group != "" {
		t.Owner.Group = ""
	}
	if a := b.one("perms"); a != nil {
		d.ds.errorf(a.vpos, "Unsupported argument", "%s: Vault Agent refuses perms inside templates { } (root.templates.Perms: unknown kind to decode into: uint32): move the template out of templates { } into a template block.", w)
	}
	if a := b.one("commandtimeout"); a != nil {
		d.nanos(a, w, "commandtimeout", &t.CommandTimeout)
	}
	if a := b.one("command"); a != nil {
		d.wrappedCommand(a, w, "command", &t.Command)
	}
	if a := b.one("exec"); a != nil {
		eb := b.body(a, w+" exec", spec{known: []string{"command", "timeout"}})
		if c := eb.one("command"); c != nil {
			d.wrappedCommand(c, eb.where, "command", &t.Command)
		}
		if c := eb.one("timeout"); c != nil {
			d.nanos(c, eb.where, "timeout", &t.CommandTimeout)
		}
	}
	if a := b.one("wait"); a != nil {
		if _, ok := a.val.(*ast.ObjectType); ok {
			wb := b.body(a, w+" wait", spec{known: []string{"min", "max", "enabled"}})
			if c := wb.one("min"); c != nil {
				d.nanos(c, wb.where, "min", &t.WaitMin)
			}
			if c := wb.one("max"); c != nil {
				d.nanos(c, wb.where, "max", &t.WaitMax)
			}
		} else {
			d.ds.warnf(a.pos, "Ignored", "%s: wait = ... is ignored: inside templates { } Vault Agent reads only a wait { min = ... max = ... } block; rotor does not act on it either.", w)
		}
	}
	for _, k := range []string{"functiondenylist", "functiondenylistdeprecated"} {
		if a := b.one(k); a != nil {
			var v []string
			if _, ok := a.val.(*ast.ListType); !ok {
				d.ds.errorf(a.vpos, "Incorrect attribute value type", "%s: %s must be a list; Vault Agent refuses it: unknown slice type.", w, k)
			} else if d.strList(a, w, k, false, &v) {
				t.FunctionDenylist = append(t.FunctionDenylist, v...)
			}
		}
	}
	checkTemplate(d, t, it, w)
	return t
}

// wrappedCommand is consul-template's command list as HCL 1 decodes it:
// only a list (a string is refused); an empty list is no command.
func (d *decoder) wrappedCommand(a *item, where, name string, dst *Command) {
	lt, ok := a.val.(*ast.ListType)
	if !ok {
		d.ds.errorf(a.vpos, "Incorrect attribute value type", "%s: %s must be a list such as [\"systemctl\", \"reload\", \"nginx\"] inside templates { }; Vault Agent refuses a string there (unknown slice type).", where, name)
		return
	}
	if len(lt.List) == 0 {
		*dst = Command{}
		return
	}
	d.command(a, where, name, dst)
}

// nanos is a time.Duration field as HCL 1 decodes it: a whole number of
// nanoseconds (a string holding one too). A unit such as "5s" is refused,
// as Vault Agent refuses it.
func (d *decoder) nanos(a *item, where, name string, dst *time.Duration) {
	l, ok := d.lit(a)
	if ok && (l.Token.Type == token.NUMBER || l.Token.Type == token.STRING) {
		s := l.Token.Text
		if l.Token.Type == token.STRING {
			s, _ = tokValue(l.Token).(string)
		}
		n, err := strconv.ParseInt(strings.TrimSpace(s), 0, 64)
		if err == nil && n >= 0 {
			*dst = time.Duration(n)
			if n > 0 && n < int64(time.Millisecond) {
				d.ds.warnf(a.vpos, "Nanoseconds", "%s: %s = %d is %s: inside templates { } Vault Agent reads a duration as a number of nanoseconds, and so does rotor. Write the template as a template block to use \"5s\".", where, name, n, time.Duration(n))
			}
			return
		}
		d.ds.errorf(a.vpos, "Invalid duration", "%s: %s: Vault Agent refuses it inside templates { } (strconv.ParseInt: parsing %q: invalid syntax): it takes only a number of nanoseconds there. Write the template as a template block to use \"5s\".", where, name, s)
		return
	}
	d.typeErr(a, where, name, "a whole number (of nanoseconds)")
}
