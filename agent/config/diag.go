package config

import (
	"fmt"
	"sort"
	"strings"
)

// Pos is a position in a configuration file. Line and Column start at 1;
// a zero Line means "the file as a whole" (or the command line).
type Pos struct {
	Filename string
	Line     int
	Column   int
}

// String formats the position as file:line:col.
func (p Pos) String() string {
	if p.Line == 0 {
		return p.Filename
	}
	return fmt.Sprintf("%s:%d:%d", p.Filename, p.Line, p.Column)
}

// Severity says whether a Diagnostic refuses the configuration.
type Severity int

const (
	// SeverityError refuses the configuration.
	SeverityError Severity = iota
	// SeverityWarning is reported, and the configuration is used.
	SeverityWarning
)

// Diagnostic is one problem found in a configuration, at a position.
type Diagnostic struct {
	Severity Severity
	Pos      Pos
	Summary  string
	Detail   string
}

// String formats the diagnostic as "file:line:col: Summary: Detail".
func (d Diagnostic) String() string {
	msg := d.Summary
	if d.Detail != "" {
		msg += ": " + d.Detail
	}
	if d.Pos.Filename == "" {
		return msg
	}
	return d.Pos.String() + ": " + msg
}

// Error carries every problem found in a configuration, and the warnings
// found with them (a warning may explain an error: a sink written outside
// auto_auth, and auto_auth then has none). Its message lists the errors one per line as "file:line:col: summary: detail", sorted by file,
// line, column, then message.
type Error struct {
	Diags []Diagnostic
}

func (e *Error) Error() string { return strings.Join(e.Problems(), "\n") }

// Warnings returns the warnings found with the errors, each naming its
// position.
func (e *Error) Warnings() []string {
	var out []string
	for _, d := range e.Diags {
		if d.Severity == SeverityWarning {
			out = append(out, d.String())
		}
	}
	return out
}

// Problems returns the errors one per entry, each naming its position.
func (e *Error) Problems() []string {
	var out []string
	for _, d := range e.Diags {
		if d.Severity == SeverityError {
			out = append(out, d.String())
		}
	}
	return out
}

// MaxProblems caps the diagnostics one Load reports: past it, a file of
// garbage would cost seconds of suggestions and megabytes of message.
const MaxProblems = 500

// diags collects diagnostics while a configuration is decoded. Errors and
// warnings are capped apart, so that a flood of ignored keys never hides
// the error that refuses the file.
type diags struct {
	list    []Diagnostic
	errors  int
	kept    [2]int // per Severity
	dropped [2]int
}

func (ds *diags) add(d Diagnostic) {
	if d.Severity == SeverityError {
		ds.errors++
	}
	if ds.kept[d.Severity] >= MaxProblems {
		ds.dropped[d.Severity]++
		return
	}
	ds.kept[d.Severity]++
	ds.list = append(ds.list, d)
}

// full reports that no more diagnostics of some kind are kept: then
// rotor stops computing suggestions.
func (ds *diags) full() bool {
	return ds.kept[SeverityError] >= MaxProblems || ds.kept[SeverityWarning] >= MaxProblems
}

func (ds *diags) errorf(p Pos, summary, format string, args ...any) {
	ds.add(Diagnostic{Severity: SeverityError, Pos: p, Summary: summary, Detail: fmt.Sprintf(format, args...)})
}

func (ds *diags) warnf(p Pos, summary, format string, args ...any) {
	ds.add(Diagnostic{Severity: SeverityWarning, Pos: p, Summary: summary, Detail: fmt.Sprintf(format, args...)})
}

func (ds *diags) hasErrors() bool { return ds.errors > 0 }

// strict turns every warning into an error, saying why.
func (ds *diags) strict() {
	for i := range ds.list {
		if d := &ds.list[i]; d.Severity == SeverityWarning {
			d.Severity = SeverityError
			d.Detail += " (an error under -strict)"
			ds.errors++
		}
	}
	ds.errors += ds.dropped[SeverityWarning]
	ds.dropped[SeverityError] += ds.dropped[SeverityWarning]
	ds.dropped[SeverityWarning] = 0
}

// sorted returns the diagnostics of one severity in a stable order: file,
// line, column, then message; exact repeats are dropped.
func (ds *diags) sorted(sev Severity) []Diagnostic {
	var out []Diagnostic
	for _, d := range ds.list {
		if d.Severity == sev {
			out = append(out, d)
		}
	}
	sort.SliceStable(out, func(i, j int) bool {
		a, b := out[i], out[j]
		if a.Pos.Filename != b.Pos.Filename {
			return a.Pos.Filename < b.Pos.Filename
		}
		if a.Pos.Line != b.Pos.Line {
			return a.Pos.Line < b.Pos.Line
		}
		if a.Pos.Column != b.Pos.Column {
			return a.Pos.Column < b.Pos.Column
		}
		return a.String() < b.String()
	})
	uniq := out[:0]
	for i, d := range out {
		if i == 0 || d != out[i-1] {
			uniq = append(uniq, d)
		}
	}
	if n := ds.dropped[sev]; n > 0 && len(uniq) > 0 {
		summary, detail := "Too many problems", "%d more problems were not listed; fix these first."
		if sev == SeverityWarning {
			summary, detail = "Too many warnings", "%d more warnings were not listed."
		}
		uniq = append(uniq, Diagnostic{Severity: sev, Pos: uniq[len(uniq)-1].Pos, Summary: summary, Detail: fmt.Sprintf(detail, n)})
	}
	return uniq
}

// suggest returns the name in allowed closest to k, if it is close enough
// to be a likely typo.
func suggest(k string, allowed []string) string {
	best, bestD := "", 3
	for _, a := range allowed {
		if d := editDistance(k, a); d < bestD {
			best, bestD = a, d
		}
	}
	return best
}

func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

func sprintf(format string, args ...any) string { return fmt.Sprintf(format, args...) }
