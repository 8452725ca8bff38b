package config

import (
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
	"github.com/hashicorp/hcl/hcl/token"
	jsonparser "github.com/hashicorp/hcl/json/parser"
)

// Limits checked before a file reaches the HCL parser. The parser recurses
// once per `[` or `{`, so a file of nested brackets would overflow the Go
// stack (a fatal error no recover catches); the size cap bounds memory.
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

// deepest finds the deepest nesting of [ and { outside strings, comments
// and heredocs, and where it first goes past MaxDepth. It is linear and
// allocation-free, so it is safe on any input.
func deepest(b []byte, json bool) (Pos, int) {
	depth, maxDepth := 0, 0
	line, col := 1, 0
	var at Pos
	for i := 0; i < len(b); i++ {
		c := b[i]
		col++
		if c == '\n' {
			line, col = line+1, 0
			continue
		}
		switch {
		case c == '"':
			i, line, col = skipString(b, i, line, col)
		case !json && c == '#', !json && c == '/' && i+1 < len(b) && b[i+1] == '/':
			for i+1 < len(b) && b[i+1] != '\n' {
				i++
			}
		case !json && c == '/' && i+1 < len(b) && b[i+1] == '*':
			i++
			col++
			for i+1 < len(b) && !(b[i] == '*' && b[i+1] == '/') {
				i++
				col++
				if b[i] == '\n' {
					line, col = line+1, 0
				}
			}
			i++
		case !json && c == '<' && i+1 < len(b) && b[i+1] == '<':
			i, line, col = skipHeredoc(b, i, line, col)
		case c == '[' || c == '{':
			depth++
			if depth > maxDepth {
				maxDepth = depth
				if depth == MaxDepth+1 {
					at = Pos{Line: line, Column: col}
				}
			}
		case c == ']' || c == '}':
			if depth > 0 {
				depth--
			}
		}
	}
	return at, maxDepth
}

// skipString skips a quoted string starting at b[i] == '"', with its
// escapes and ${ } interpolations (which may hold quoted strings, which may
// hold interpolations...), and returns the index of the closing quote. It
// keeps a stack of open interpolation counts instead of recursing, so a
// file of nested quotes cannot grow the Go stack.
func skipString(b []byte, i, line, col int) (int, int, int) {
	stack := []int{0} // per open string: its open ${ count
	for i++; i < len(b); i++ {
		c := b[i]
		col++
		top := len(stack) - 1
		switch {
		case c == '\n':
			line, col = line+1, 0
		case c == '\\':
			i++
			col++
		case c == '$' && i+1 < len(b) && b[i+1] == '{':
			stack[top]++
			i++
			col++
		case c == '}' && stack[top] > 0:
			stack[top]--
		case c == '"' && stack[top] > 0:
			if len(stack) > MaxDepth {
				// Deeper than any real config: stop counting here; the
				// parser scans strings flat and does not recurse on them.
				return i, line, col
			}
			stack = append(stack, 0)
		case c == '"':
			if top == 0 {
				return i, line, col
			}
			stack = stack[:top]
		}
	}
	return i, line, col
}

// skipHeredoc skips a <<ID ... ID heredoc (or <<-ID, whose end marker may
// be indented) and returns the index of its last byte.
func skipHeredoc(b []byte, i, line, col int) (int, int, int) {
	j := i + 2
	if j < len(b) && b[j] == '-' {
		j++
	}
	start := j
	for j < len(b) && (b[j] == '_' || b[j] == '-' || unicode.IsLetter(rune(b[j])) || unicode.IsDigit(rune(b[j]))) {
		j++
	}
	id := string(b[start:j])
	if id == "" || j >= len(b) || (b[j] != '\n' && b[j] != '\r') {
		return i + 1, line, col + 1
	}
	for k := j; k < len(b); {
		if b[k] != '\n' {
			k++
			continue
		}
		line++
		end := k + 1
		for end < len(b) && b[end] != '\n' {
			end++
		}
		if strings.TrimSpace(strings.TrimSuffix(string(b[k+1:end]), "\r")) == id {
			return end - 1, line, end - k - 1
		}
		k = end
	}
	return len(b), line, col
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
