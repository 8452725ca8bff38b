package config

import (
	"bytes"
	"errors"
	"io"
	"os"
	"strconv"
	"strings"
	"syscall"
	"unicode"
	"unicode/utf8"

	"github.com/hashicorp/hcl/hcl/ast"
	hclparser "github.com/hashicorp/hcl/hcl/parser"
	hclscanner "github.com/hashicorp/hcl/hcl/scanner"
	"github.com/hashicorp/hcl/hcl/token"
	jsonparser "github.com/hashicorp/hcl/json/parser"
	jsonscanner "github.com/hashicorp/hcl/json/scanner"
	jsontoken "github.com/hashicorp/hcl/json/token"
)

// Limits checked before a file reaches the HCL parser. The parser recurses
// once per `[` or `{` token, so a file of nested brackets would overflow
// the Go stack (a fatal error no recover catches): deepest counts them on
// the parser's own tokens. The size cap bounds memory.
const (
	MaxFileSize = 4 << 20
	MaxDepth    = 64
)

// readFile reads one configuration file. It refuses what is not a regular
// file without blocking on it: a FIFO is opened non-blocking and checked
// before anything is read.
func readFile(name string, ds *diags) ([]byte, bool) {
	at := Pos{Filename: name}
	f, err := os.OpenFile(name, os.O_RDONLY|syscall.O_NONBLOCK, 0)
	if err != nil {
		ds.errorf(at, "Cannot read file", "%v.", unwrapPath(err))
		return nil, false
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		ds.errorf(at, "Cannot read file", "%v.", unwrapPath(err))
		return nil, false
	}
	if !st.Mode().IsRegular() {
		ds.errorf(at, "Not a regular file", "a configuration file must be a regular file, not %s.", fileKind(st.Mode()))
		return nil, false
	}
	if st.Size() > MaxFileSize {
		ds.errorf(at, "File too large", "%d bytes; the limit is %d bytes (4 MiB).", st.Size(), MaxFileSize)
		return nil, false
	}
	// The size can change between Stat and read: read at most one byte more
	// than the limit.
	b, err := io.ReadAll(io.LimitReader(f, MaxFileSize+1))
	if err != nil {
		ds.errorf(at, "Cannot read file", "%v.", unwrapPath(err))
		return nil, false
	}
	if len(b) > MaxFileSize {
		ds.errorf(at, "File too large", "more than %d bytes (4 MiB).", MaxFileSize)
		return nil, false
	}
	return b, true
}

func fileKind(m os.FileMode) string {
	switch {
	case m.IsDir():
		return "a directory"
	case m&os.ModeNamedPipe != 0:
		return "a named pipe (FIFO)"
	case m&os.ModeSocket != 0:
		return "a socket"
	case m&os.ModeDevice != 0:
		return "a device"
	}
	return "a special file"
}

func unwrapPath(err error) error {
	var pe *os.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

// isJSON chooses the parser as Vault Agent does: by content, not by name.
// A file whose first non-space character is `{` is JSON.
func isJSON(b []byte) bool {
	for len(b) > 0 {
		r, w := utf8.DecodeRune(b)
		if !unicode.IsSpace(r) {
			return r == '{'
		}
		b = b[w:]
	}
	return false
}

// parseFile parses one file with HCL 1's parsers (HCL or JSON), after the
// depth pre-scan. Duplicate attributes in one object are an error, as in
// Vault Agent 1.21.
func parseFile(name string, b []byte, ds *diags) (*ast.ObjectList, bool) {
	json := isJSON(b)
	if p, depth := deepest(b, json); depth > MaxDepth {
		ds.errorf(Pos{Filename: name, Line: p.Line, Column: p.Column}, "Nesting too deep",
			"more than %d levels of [ and {; rotor refuses deeper nesting before parsing.", MaxDepth)
		return nil, false
	}
	var f *ast.File
	var err error
	if json {
		f, err = jsonparser.Parse(b)
	} else {
		f, err = hclparser.Parse(b)
	}
	if err != nil {
		p, msg := splitParseError(err, json)
		p.Filename = name
		if p.Line == 0 {
			p.Line, p.Column = 1, 1
		}
		summary := "Syntax error"
		if strings.Contains(msg, "Each argument can only be defined once") {
			summary = "Duplicate argument"
		}
		ds.errorf(p, summary, "%s.", strings.TrimSuffix(msg, "."))
		return nil, false
	}
	list, ok := f.Node.(*ast.ObjectList)
	if !ok {
		ds.errorf(Pos{Filename: name, Line: 1, Column: 1}, "Syntax error", "the file does not hold a root object.")
		return nil, false
	}
	return list, true
}

// splitParseError takes the position out of an HCL 1 parser error so the
// diagnostic can carry it like every other one.
func splitParseError(err error, json bool) (Pos, string) {
	var pe *hclparser.PosError
	if errors.As(err, &pe) {
		return tokPos(pe.Pos), pe.Err.Error()
	}
	msg := err.Error()
	// "At 3:5: msg", "3:5: msg" (JSON scanner) or "... at 3:5. Each ..."
	for _, prefix := range []string{"At ", ""} {
		rest, ok := strings.CutPrefix(msg, prefix)
		if !ok {
			continue
		}
		loc, tail, ok := strings.Cut(rest, ": ")
		if !ok {
			continue
		}
		if p, ok := parseLineCol(loc); ok {
			return p, tail
		}
	}
	if i := strings.Index(msg, " at "); i >= 0 {
		loc := msg[i+4:]
		if j := strings.IndexAny(loc, ". "); j > 0 {
			if p, ok := parseLineCol(loc[:j]); ok {
				return p, msg
			}
		}
	}
	return Pos{}, msg
}

func parseLineCol(s string) (Pos, bool) {
	// token.Pos.String() may be "file:line:col" or "line:col".
	parts := strings.Split(s, ":")
	if len(parts) < 2 {
		return Pos{}, false
	}
	l, err1 := strconv.Atoi(parts[len(parts)-2])
	c, err2 := strconv.Atoi(parts[len(parts)-1])
	if err1 != nil || err2 != nil {
		return Pos{}, false
	}
	return Pos{Line: l, Column: c}, true
}

func tokPos(p token.Pos) Pos { return Pos{Filename: p.Filename, Line: p.Line, Column: p.Column} }

// deepest finds the deepest nesting of [ and { in b, up to MaxDepth+1,
// and where it first goes past MaxDepth. It reads b with the scanner the parser itself uses
// (HCL 1's, or its JSON one), so it counts exactly the tokens the parser
// recurses on: the parsers call themselves once per [ or { token and
// return once per ] or } token (any other token at that place is an error
// that ends the parse), so the count of open tokens is the parser's depth
// up to its first error, and never less. A bracket the scanner reads
// inside a string, a heredoc or a comment is no token, and does not count;
// one that a simpler scan would take for part of a string (after a "${"
// whose quotes the HCL scanner ignores, or in JSON, whose scanner knows no
// "${") does. The scanners are iterative and linear, so this is safe on
// any input.
func deepest(b []byte, json bool) (Pos, int) {
	var scan func() (delta int, p Pos, eof bool)
	if json {
		sc := jsonscanner.New(b)
		sc.Error = func(jsontoken.Pos, string) {} // the parser reports them
		scan = func() (int, Pos, bool) {
			tok := sc.Scan()
			p := Pos{Line: tok.Pos.Line, Column: tok.Pos.Column}
			switch tok.Type {
			case jsontoken.LBRACE, jsontoken.LBRACK:
				return 1, p, false
			case jsontoken.RBRACE, jsontoken.RBRACK:
				return -1, p, false
			}
			return 0, p, tok.Type == jsontoken.EOF
		}
	} else {
		// The HCL parser scans the file with \r\n made \n (parser.parse).
		if bytes.Contains(b, []byte("\r\n")) {
			b = bytes.ReplaceAll(b, []byte("\r\n"), []byte("\n"))
		}
		sc := hclscanner.New(b)
		sc.Error = func(token.Pos, string) {}
		scan = func() (int, Pos, bool) {
			tok := sc.Scan()
			switch tok.Type {
			case token.LBRACE, token.LBRACK:
				return 1, tokPos(tok.Pos), false
			case token.RBRACE, token.RBRACK:
				return -1, tokPos(tok.Pos), false
			}
			return 0, Pos{}, tok.Type == token.EOF
		}
	}
	depth, maxDepth := 0, 0
	// Every token but EOF consumes at least one byte: len(b)+1 scans end
	// the loop even if a scanner failed to reach EOF.
	for range len(b) + 1 {
		delta, p, eof := scan()
		if eof {
			break
		}
		depth = max(depth+delta, 0)
		if depth > maxDepth {
			maxDepth = depth
			if depth > MaxDepth {
				return p, maxDepth // refused: the rest need not be read
			}
		}
	}
	return Pos{}, maxDepth
}

// keyName is a key's text without quotes.
func keyName(k *ast.ObjectKey) string {
	if s, ok := tokValue(k.Token).(string); ok {
		return s
	}
	return k.Token.Text
}

// tokValue is token.Value without its panic on a string it cannot unquote.
func tokValue(t token.Token) (v any) {
	defer func() {
		if recover() != nil {
			v = nil
		}
	}()
	return t.Value()
}
