package template

import (
	"go/ast"
	"go/parser"
	"go/token"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// rotor parses templates with its own list of consul-template's function
// names; this reads consul-template's source (from the module cache) and
// checks the list is exactly the keys of its funcMap.
func TestFuncNamesMatchConsulTemplate(t *testing.T) {
	out, err := exec.Command("go", "list", "-m", "-f", "{{.Dir}}", "github.com/hashicorp/consul-template").Output()
	if err != nil {
		t.Fatalf("find consul-template's source: %v", err)
	}
	src := filepath.Join(strings.TrimSpace(string(out)), "template", "template.go")
	f, err := parser.ParseFile(token.NewFileSet(), src, nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	var keys []string
	ast.Inspect(f, func(n ast.Node) bool {
		fd, ok := n.(*ast.FuncDecl)
		if !ok || fd.Name.Name != "funcMap" {
			return true
		}
		ast.Inspect(fd.Body, func(n ast.Node) bool {
			cl, ok := n.(*ast.CompositeLit)
			if !ok {
				return true
			}
			for _, e := range cl.Elts {
				if kv, ok := e.(*ast.KeyValueExpr); ok {
					if lit, ok := kv.Key.(*ast.BasicLit); ok && lit.Kind == token.STRING {
						s, _ := strconv.Unquote(lit.Value)
						keys = append(keys, s)
					}
				}
			}
			return false
		})
		return false
	})
	slices.Sort(keys)
	mine := slices.Sorted(slices.Values(ctFuncs))
	if !slices.Equal(keys, mine) {
		t.Fatalf("consul-template's functions changed:\n theirs %q\n rotor's %q", keys, mine)
	}
}

// rotor parses templates with its own list of text/template's builtin
// function names (text/template does not export them); this reads Go's
// source and checks the list is exactly the keys of its builtins map.
func TestBuiltinNamesMatchGo(t *testing.T) {
	out, err := exec.Command("go", "env", "GOROOT").Output()
	if err != nil {
		t.Fatalf("find Go's source: %v", err)
	}
	src := filepath.Join(strings.TrimSpace(string(out)), "src", "text", "template", "funcs.go")
	f, err := parser.ParseFile(token.NewFileSet(), src, nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	var keys []string
	ast.Inspect(f, func(n ast.Node) bool {
		fd, ok := n.(*ast.FuncDecl)
		if !ok || fd.Name.Name != "builtins" {
			return true
		}
		ast.Inspect(fd.Body, func(n ast.Node) bool {
			if kv, ok := n.(*ast.KeyValueExpr); ok {
				if lit, ok := kv.Key.(*ast.BasicLit); ok && lit.Kind == token.STRING {
					s, _ := strconv.Unquote(lit.Value)
					keys = append(keys, s)
				}
			}
			return true
		})
		return false
	})
	slices.Sort(keys)
	mine := slices.Sorted(slices.Values(builtinNames))
	if len(keys) == 0 || !slices.Equal(keys, mine) {
		t.Fatalf("text/template's builtins changed:\n Go's    %q\n rotor's %q", keys, mine)
	}
}
