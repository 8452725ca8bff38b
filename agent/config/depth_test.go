package config

import (
	"runtime/debug"
	"strings"
	"testing"
)

// fill repeats open (and then close) to make a file of prefix and
// nesting just under MaxFileSize.
func fill(prefix, open, close, suffix string) string {
	n := (MaxFileSize - len(prefix) - len(suffix) - 16) / (len(open) + len(close))
	return prefix + strings.Repeat(open, n) + strings.Repeat(close, n) + suffix
}

// A 4 MiB file of nested blocks or lists, in HCL or JSON, is refused
// with the depth limit named, before the parser can overflow the stack
// (a fatal error, not a panic: rotor validate and a SIGHUP reload would
// die). The depth is counted on the tokens of HCL 1's own scanners, so
// what hides brackets from a simpler scan (a "${" whose quotes the
// scanner ignores, a JSON string with "${" in it) hides nothing.
func TestDeepNestingOfEveryShapeIsRefused(t *testing.T) {
	// The parser needs about 1 KiB of stack per level: 4 MiB of brackets
	// would need gigabytes. 16 MiB is ample for 64 levels and makes a
	// missed file fail fast.
	defer debug.SetMaxStack(debug.SetMaxStack(16 << 20))
	dir := t.TempDir()
	for name, body := range map[string]string{
		"blocks.hcl":        fill("", "a {\n", "}\n", ""),
		"lists.hcl":         fill("a = ", "[", "]", "\n"),
		"objects.json":      fill(`{"a":`, `{"a":`, `}`, "1}"),
		"lists.json":        fill(`{"a":`, `[`, `]`, "}"),
		"hidden-blocks.hcl": fill("x = \"${\"}\"\n", "a {\n", "}\n", ""),
		"hidden-lists.hcl":  fill("x = \"${\"}\"\na = ", "[", "]", "\n"),
		"hidden-lists.json": fill(`{"x": "${", "a": `, `[`, `]`, "}"),
		"hidden-objs.json":  fill(`{"x": "${", "a": `, `{"a":`, `}`, "}"),
	} {
		if len(body) > MaxFileSize || len(body) < MaxFileSize-1024 {
			t.Fatalf("%s: %d bytes", name, len(body))
		}
		_, err := Load([]string{write(t, dir, name, body)}, env(nil))
		if err == nil || !strings.Contains(err.Error(), "Nesting too deep: more than 64 levels") {
			t.Errorf("%s: %v", name, err)
		}
	}
}
