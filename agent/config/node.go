package config

import (
	"fmt"
	"sort"
	"strings"

	"github.com/hashicorp/hcl/hcl/ast"
	"github.com/hashicorp/hcl/hcl/token"
)

// decoder walks one file's HCL 1 syntax tree. Every problem goes to ds with
// the position of the key or value at fault.
type decoder struct {
	file string
	ds   *diags
}

func (d *decoder) pos(p token.Pos) Pos {
	return Pos{Filename: d.file, Line: p.Line, Column: p.Column}
}

// item is one `key ... = value` or `key "label" { ... }` of an object. In
// HCL 1 both are the same thing: a list of keys and a value. The first key
// names the item; the others are labels (a JSON object whose members are all
// objects is read with its member names as labels, as Vault Agent does).
type item struct {
	name   string // lower case: HCL 1 matches keys case-insensitively
	key    *ast.ObjectKey
	labels []*ast.ObjectKey
	val    ast.Node
	pos    Pos // the key
	vpos   Pos // the value
	// shared is set when another item has the same key object: the JSON
	// parser split one object into several items.
	shared bool
}

// block is an object being decoded: the file's root or a block's body.
type block struct {
	d     *decoder
	pos   Pos    // the block's first key, for "missing" problems
	where string // human name, e.g. `method "approle"`
	items map[string][]*item
}

// spec lists the keys a block takes. ignored maps keys Vault Agent knows
// and rotor does not act on to what Vault Agent does with them. strict
// blocks are those Vault Agent decodes with mapstructure's ErrorUnused
// (template, exec, env_template): an unknown key there is an error, as in
// Vault Agent. Everywhere else Vault Agent's HCL decoding skips unknown
// keys, and rotor warns instead. moved maps keys Vault Agent reads one
// level down (a method's keys written beside its config) to that place.
type spec struct {
	known   []string
	ignored map[string]string
	strict  bool
	moved   map[string]string
}

func (s spec) all() []string {
	out := append([]string(nil), s.known...)
	for k := range s.ignored {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// newBlock sorts the items of list by name, reporting unknown keys (with a
// suggestion) and warning about keys rotor ignores.
func (d *decoder) newBlock(list *ast.ObjectList, at Pos, where string, sp spec) *block {
	b := &block{d: d, pos: at, where: where, items: map[string][]*item{}}
	if list == nil {
		return b
	}
	seenKey := map[*ast.ObjectKey]int{}
	for _, oi := range list.Items {
		if len(oi.Keys) > 0 {
			seenKey[oi.Keys[0]]++
		}
	}
	for _, oi := range list.Items {
		if len(oi.Keys) == 0 || oi.Val == nil {
			continue
		}
		it := &item{
			name:   strings.ToLower(keyName(oi.Keys[0])),
			key:    oi.Keys[0],
			labels: oi.Keys[1:],
			val:    oi.Val,
			pos:    d.pos(oi.Keys[0].Pos()),
			vpos:   d.pos(oi.Val.Pos()),
			shared: seenKey[oi.Keys[0]] > 1,
		}
		// The JSON parser keeps no position on keys and values, only on
		// the colon: use it for both.
		if it.pos.Line == 0 {
			it.pos = d.pos(oi.Assign)
		}
		if it.pos.Line == 0 {
			it.pos = Pos{Filename: d.file, Line: 1, Column: 1}
		}
		if it.vpos.Line == 0 {
			it.vpos = it.pos
		}
		switch {
		case contains(sp.known, it.name):
			b.items[it.name] = append(b.items[it.name], it)
		case sp.ignored[it.name] != "":
			d.ds.warnf(it.pos, "Ignored by rotor", "%s: %s: %s; rotor ignores it.", where, it.name, sp.ignored[it.name])
		default:
			d.unknownKey(it, where, sp)
		}
	}
	return b
}

// short cuts a name for a message.
func short(s string) string {
	if len(s) > 64 {
		return s[:61] + "..."
	}
	return s
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func (b *block) has(name string) bool { return len(b.items[name]) > 0 }

// all returns every item with that name, in file order.
func (b *block) all(name string) []*item { return b.items[name] }

// one returns the item that sets a plain value. HCL rejects a repeated
// attribute in one object; JSON does not, and there the last one wins, as
// in Vault Agent.
func (b *block) one(name string) *item {
	its := b.items[name]
	if len(its) == 0 {
		return nil
	}
	it := its[len(its)-1]
	if len(its) > 1 {
		b.d.ds.warnf(it.pos, "Repeated key", "%s: %s is set %d times; the last one is used, as in Vault Agent.", b.where, name, len(its))
	}
	if len(it.labels) > 0 {
		b.d.ds.errorf(it.pos, "Unexpected block", "%s: %s takes a value (%s = ...), not a block.", b.where, name, name)
		return nil
	}
	return it
}

// single returns the only block of that name, or reports that there are
// several (Vault Agent's "one and only one" rule within a file).
func (b *block) single(name string) *item {
	its := b.items[name]
	if len(its) == 0 {
		return nil
	}
	if len(its) > 1 {
		detail := fmt.Sprintf("%s: only one %s block is allowed; the first is at %s.", b.where, name, its[0].pos)
		if its[1].shared {
			detail += jsonSplitHint
		}
		b.d.ds.errorf(its[1].pos, "Duplicate block", "%s", detail)
	}
	return its[0]
}

// jsonSplitHint explains HCL 1's JSON reading that turns one object into
// several blocks.
const jsonSplitHint = " In JSON, an object whose members are all objects is read as one block per member (HCL 1, as Vault Agent reads it): give the block a plain member such as \"type\", or write the blocks as a list."

// body opens an item's value as a block. Labels on a block that takes none
// are nested keys: `vault "retry" {...}` (or JSON's {"vault": {"retry":
// {...}}}) is vault { retry {...} }.
func (b *block) body(it *item, where string, sp spec) *block {
	if len(it.labels) > 0 {
		inner := &ast.ObjectList{Items: []*ast.ObjectItem{{Keys: it.labels, Val: it.val, Assign: it.tokPos()}}}
		return b.d.newBlock(inner, it.pos, where, sp)
	}
	list, ok := objectList(it.val)
	if !ok {
		b.d.ds.errorf(it.vpos, "Incorrect attribute value type", "%s must be a block or an object such as { key = \"value\" }.", where)
		return b.d.newBlock(nil, it.pos, where, sp)
	}
	return b.d.newBlock(list, it.pos, where, sp)
}

// bodies merges the values of every item of that name into one block, as
// HCL 1 decodes a repeated map (`config { a = 1 } config { b = 2 }`).
func (b *block) bodies(name, where string, sp spec) *block {
	merged := &ast.ObjectList{}
	at := b.pos
	for i, it := range b.items[name] {
		if i == 0 {
			at = it.pos
		}
		if len(it.labels) > 0 {
			merged.Items = append(merged.Items, &ast.ObjectItem{Keys: it.labels, Val: it.val, Assign: it.tokPos()})
			continue
		}
		list, ok := objectList(it.val)
		if !ok {
			b.d.ds.errorf(it.vpos, "Incorrect attribute value type", "%s must be an object such as { key = \"value\" }.", where)
			continue
		}
		merged.Items = append(merged.Items, list.Items...)
	}
	return b.d.newBlock(merged, at, where, sp)
}

// peekType guesses a typed block's type for messages, before its body is
// decoded: a literal type attribute, else the one label.
func peekType(it *item) string {
	if list, ok := objectList(it.val); ok {
		for _, oi := range list.Items {
			if len(oi.Keys) == 1 && strings.EqualFold(keyName(oi.Keys[0]), "type") {
				if l, ok := oi.Val.(*ast.LiteralType); ok {
					if s, ok := tokValue(l.Token).(string); ok && s != "" {
						return s
					}
				}
			}
		}
	}
	if len(it.labels) == 1 {
		return strings.ToLower(keyName(it.labels[0]))
	}
	return ""
}

// tokPos is the item's position for a synthesized item (see body).
func (it *item) tokPos() token.Pos { return token.Pos{Line: it.pos.Line, Column: it.pos.Column} }

func objectList(n ast.Node) (*ast.ObjectList, bool) {
	switch v := n.(type) {
	case *ast.ObjectType:
		if v.List == nil {
			return &ast.ObjectList{}, true
		}
		return v.List, true
	case *ast.ObjectList:
		return v, true
	}
	return nil, false
}

// typeOf finds a typed block's type, as Vault Agent does: a `type`
// attribute inside wins, else the one label (lower-cased). ok is false (and
// a problem reported) when there is neither.
func (b *block) typeOf(it *item, inner *block, what string) (string, bool) {
	if t := inner.one("type"); t != nil {
		var s string
		if inner.d.str(t, inner.where, "type", &s) && s != "" {
			return s, true
		}
	}
	if len(it.labels) == 1 {
		return strings.ToLower(keyName(it.labels[0])), true
	}
	detail := fmt.Sprintf("%s type must be specified: write %s \"<type>\" { ... } or type = \"<type>\" inside.", what, what)
	if len(it.labels) > 1 && it.shared {
		detail += jsonSplitHint
	}
	b.d.ds.errorf(it.pos, "Missing type", "%s", detail)
	return "", false
}

// typedBody opens a typed block (method, sink, listener, persist): the
// labels, if any, name the type and are not nested keys.
func (b *block) typedBody(it *item, where string, sp spec) *block {
	if t := peekType(it); t != "" {
		where = fmt.Sprintf("%s %q", where, t)
	}
	list, ok := objectList(it.val)
	if !ok {
		b.d.ds.errorf(it.vpos, "Incorrect attribute value type", "%s must be a block.", where)
		return b.d.newBlock(nil, it.pos, where, sp)
	}
	return b.d.newBlock(list, it.pos, where, sp)
}
