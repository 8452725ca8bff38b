package template

import (
	"text/template/parse"

	"github.com/rotorproject/rotor/lease"
)

// staticRefs returns the secrets a parsed template certainly asks for:
// calls of secret, secrets and pkiCert with constant arguments, outside
// any conditional body. The runner fetches them before the first
// execution, so most templates render in one execution instead of two.
// Calls inside if/range/with bodies are left out: fetching a secret a
// template might not use could create a database user for nothing.
func staticRefs(tree *parse.Tree) []lease.Ref {
	var refs []lease.Ref
	for _, c := range staticCalls(tree) {
		refs = append(refs, c.ref)
	}
	return refs
}

// staticCall is one call found by staticCalls: the function and its Ref.
type staticCall struct {
	fn  string
	ref lease.Ref
}

// staticCalls returns the calls behind staticRefs, with their function.
func staticCalls(tree *parse.Tree) []staticCall {
	var calls []staticCall
	if tree != nil && tree.Root != nil {
		walkList(tree.Root, &calls)
	}
	return calls
}

// walkList visits the nodes that always run: actions, and the pipelines
// of if/with/range (evaluated whatever their outcome), not their bodies.
func walkList(l *parse.ListNode, refs *[]staticCall) {
	for _, n := range l.Nodes {
		switch x := n.(type) {
		case *parse.ActionNode:
			walkPipe(x.Pipe, refs)
		case *parse.IfNode:
			walkPipe(x.Pipe, refs)
		case *parse.WithNode:
			walkPipe(x.Pipe, refs)
		case *parse.RangeNode:
			walkPipe(x.Pipe, refs)
		}
	}
}

func walkPipe(p *parse.PipeNode, refs *[]staticCall) {
	if p == nil {
		return
	}
	for _, c := range p.Cmds {
		walkCmd(c, refs)
	}
}

func walkCmd(c *parse.CommandNode, refs *[]staticCall) {
	for _, a := range c.Args {
		if ch, ok := a.(*parse.ChainNode); ok {
			a = ch.Node // (secret "x").Data.y
		}
		if sub, ok := a.(*parse.PipeNode); ok {
			walkPipe(sub, refs)
		}
	}
	if len(c.Args) < 2 {
		return
	}
	id, ok := c.Args[0].(*parse.IdentifierNode)
	if !ok {
		return
	}
	var args []string
	for _, a := range c.Args[1:] {
		s, ok := a.(*parse.StringNode)
		if !ok {
			return // computed arguments: found at execution instead
		}
		args = append(args, s.Text)
	}
	switch id.Ident {
	case "secret", "pkiCert":
		r, err := lease.ParseSecretArgs(args)
		if err != nil {
			return
		}
		if id.Ident == "pkiCert" && r.Kind != lease.KindWrite {
			r.Kind, r.Data = lease.KindWrite, map[string]string{}
		}
		*refs = append(*refs, staticCall{id.Ident, r})
	case "secrets":
		if len(args) == 1 && args[0] != "" {
			*refs = append(*refs, staticCall{id.Ident, lease.Ref{Kind: lease.KindList, Path: trimSlashes(args[0])}})
		}
	}
}

func trimSlashes(s string) string {
	for len(s) > 0 && s[0] == '/' {
		s = s[1:]
	}
	for len(s) > 0 && s[len(s)-1] == '/' {
		s = s[:len(s)-1]
	}
	return s
}
