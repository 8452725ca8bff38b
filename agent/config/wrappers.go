package config

import (
	"github.com/hashicorp/hcl/hcl/ast"
	"github.com/hashicorp/hcl/hcl/token"
)

// The wrapper forms: auto_auth { sinks { ... } } and a top-level
// templates { ... }. Vault Agent has no parse function for them: its HCL
// decoding of the whole file fills AutoAuth.Sinks and Config.Templates
// from them (the `hcl:"sinks"` and `hcl:"templates"` struct tags), by HCL
// 1's rules for a slice of structs, and its sink and template parse
// functions then replace what they decoded when the same block also has
// sink (or the same file has template) blocks. rotor reads them by the
// same rules, listed at wrapperElements.

// element is one struct HCL 1 decodes from a wrapper: the object it reads
// the fields from, and where it is.
type element struct {
	list *ast.ObjectList
	pos  Pos
	// empty is set for a member with two keys (sink "file" { ... } inside
	// sinks): HCL 1 nests the object one level down and decodes no field
	// of it.
	empty bool
}

// wrapperElements lists the structs HCL 1 decodes from one wrapper item,
// as its decodeSlice and decodeStruct do:
//   - a labelled wrapper (sinks "x" { ... }) is one struct, its body;
//   - a block: each member is one struct. A member whose value is an
//     object is read from that object, whatever its key (sink, file, a);
//     a member with two keys is an empty struct; a member whose value is
//     a plain value is a struct of that one field (sinks { type = "file" }
//     is a sink with only a type);
//   - a list ([{...}, {...}], HCL only: JSON's parser turns a list of
//     objects into repeated blocks): each object is one struct.
//
// Anything else is refused with HCL 1's reason.
func (d *decoder) wrapperElements(w *item, where, noun string) ([]element, bool) {
	if len(w.labels) > 0 {
		if len(w.labels) == 2 {
			return []element{{list: &ast.ObjectList{}, pos: w.pos, empty: true}}, true
		}
		list, ok := objectList(w.val)
		if !ok {
			d.ds.errorf(w.vpos, "Incorrect attribute value type", "%s must be a block.", where)
			return nil, false
		}
		return []element{{list: list, pos: w.pos}}, true
	}
	switch v := w.val.(type) {
	case *ast.ObjectType:
		var out []element
		if v.List == nil {
			return nil, true
		}
		for _, oi := range v.List.Items {
			at := d.pos(oi.Keys[0].Pos())
			if at.Line == 0 {
				at = d.pos(oi.Assign)
			}
			if at.Line == 0 {
				at = w.pos
			}
			if len(oi.Keys) == 2 {
				out = append(out, element{list: &ast.ObjectList{}, pos: at, empty: true})
				continue
			}
			switch iv := oi.Val.(type) {
			case *ast.ObjectType:
				list, _ := objectList(iv)
				out = append(out, element{list: list, pos: at})
			case *ast.LiteralType:
				d.ds.warnf(at, "Wrapper member", "%s: %s = ... is a %s of its own with only this setting: Vault Agent reads each member of %s { } as one %s. Group the settings in a block: %s { %s { ... } }.",
					where, keyName(oi.Keys[0]), noun, w.name, noun, w.name, noun)
				out = append(out, element{list: &ast.ObjectList{Items: []*ast.ObjectItem{{Keys: oi.Keys[len(oi.Keys)-1:], Val: iv, Assign: oi.Assign}}}, pos: at})
			default:
				d.ds.errorf(at, "Incorrect attribute value type", "%s: %q must be an object; Vault Agent refuses it: not an object type for struct.", where, keyName(oi.Keys[0]))
				return nil, false
			}
		}
		return out, true
	case *ast.ListType:
		var out []element
		for _, n := range v.List {
			o, ok := n.(*ast.ObjectType)
			if !ok {
				d.ds.errorf(w.vpos, "Incorrect attribute value type", "%s: each member of the list must be an object; Vault Agent refuses it: not an object type for struct.", where)
				return nil, false
			}
			at := d.pos(o.Lbrace)
			if at.Line == 0 {
				at = w.pos
			}
			list, _ := objectList(o)
			out = append(out, element{list: list, pos: at})
		}
		return out, true
	}
	d.ds.errorf(w.vpos, "Incorrect attribute value type", "%s must be a block or a list of objects; Vault Agent refuses it: unknown slice type.", where)
	return nil, false
}

// wrapperItems orders a wrapper's items as HCL 1 decodes them: labelled
// ones first, then the others, each in file order.
func wrapperItems(its []*item) []*item {
	var labelled, plain []*item
	for _, it := range its {
		if len(it.labels) > 0 {
			labelled = append(labelled, it)
		} else {
			plain = append(plain, it)
		}
	}
	return append(labelled, plain...)
}

// decodeSinksWrapper reads auto_auth { sinks { ... } }. Vault Agent uses
// those sinks as they are decoded, without its sink parse function: a
// sink's type comes only from type = "..." (not from a label or a key),
// and wrap_ttl and aad_env_var are not read.
func (d *decoder) decodeSinksWrapper(b *block, a *AutoAuth) {
	ws := b.all("sinks")
	if len(ws) == 0 {
		return
	}
	if b.has("sink") {
		d.ds.warnf(ws[0].pos, "Ignored", "auto_auth: the sinks block is ignored: this auto_auth also has sink blocks, and Vault Agent then uses only those; rotor does the same. Move these sinks out of sinks { } as sink \"file\" { ... } blocks.")
		return
	}
	const where = "auto_auth.sinks"
	for _, w := range wrapperItems(ws) {
		els, ok := d.wrapperElements(w, where, "sink")
		if !ok {
			continue
		}
		for _, el := range els {
			if el.empty || !hasTypeAttr(el.list) {
				d.ds.errorf(el.pos, "Unknown sink type", "%s: Vault Agent refuses this sink: Unknown sink type \"\". Inside sinks { }, a sink's type comes only from a type = \"file\" line (not from a label or its key): write sinks { sink { type = \"file\" ... } }, or use a sink \"file\" { ... } block directly in auto_auth.", where)
				continue
			}
			it := &item{name: "sink", key: w.key, val: &ast.ObjectType{List: el.list}, pos: el.pos, vpos: el.pos}
			sk := d.decodeSink(b, it)
			if sk == nil {
				continue
			}
			inner := d.newBlockQuiet(el.list)
			if x := inner.one("wrap_ttl"); x != nil {
				d.ds.warnf(x.pos, "Ignored", "%s: wrap_ttl is ignored: Vault Agent reads a sink's wrap_ttl only in a sink block (its sinks { } form decodes it and never uses it); rotor does not act on it either.", where)
				sk.WrapTTL = 0
			}
			if x := inner.one("aad_env_var"); x != nil {
				d.ds.warnf(x.pos, "Ignored", "%s: aad_env_var is ignored: Vault Agent reads the variable only for a sink block; rotor does not act on it either. Use a sink block, or aad.", where)
				sk.AADEnvVar = ""
			}
			a.Sinks = append(a.Sinks, sk)
		}
	}
}

// hasTypeAttr reports a type = "..." member with a non-empty string.
func hasTypeAttr(list *ast.ObjectList) bool {
	for _, oi := range list.Items {
		if len(oi.Keys) == 1 && keyName(oi.Keys[0]) == "type" {
			if l, ok := oi.Val.(*ast.LiteralType); ok && l.Token.Type == token.STRING {
				s, _ := tokValue(l.Token).(string)
				return s != ""
			}
		}
	}
	return false
}

// newBlockQuiet sorts an object's items already reported by another
// newBlock, without reporting them again.
func (d *decoder) newBlockQuiet(list *ast.ObjectList) *block {
	q := &decoder{file: d.file, ds: &diags{}}
	return q.newBlock(list, Pos{}, "", spec{known: sinkSpec.all()})
}
