package config

import (
	"math"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/hashicorp/hcl/hcl/ast"
	"github.com/hashicorp/hcl/hcl/token"
)

// Value conversions. Each one follows how Vault Agent reads that key: HCL 1
// decodes struct fields strictly (a bool field takes only true/false),
// while keys Vault reads through parseutil ("Raw" fields, auth method
// config maps) take strings too. Each reports a problem at the value and
// returns false when the value is not usable.

func (d *decoder) lit(it *item) (*ast.LiteralType, bool) {
	l, ok := it.val.(*ast.LiteralType)
	return l, ok
}

func (d *decoder) typeErr(it *item, where, name, want string) bool {
	d.ds.errorf(it.vpos, "Incorrect attribute value type", "%s: %s must be %s.", where, name, want)
	return false
}

// str is an HCL 1 string field: a quoted string, a heredoc, or a number
// (taken as written).
func (d *decoder) str(it *item, where, name string, dst *string) bool {
	if l, ok := d.lit(it); ok {
		switch l.Token.Type {
		case token.STRING, token.HEREDOC:
			if s, ok := tokValue(l.Token).(string); ok {
				*dst = s
				return true
			}
		case token.NUMBER:
			*dst = l.Token.Text
			return true
		}
	}
	return d.typeErr(it, where, name, "a string")
}

// mapStr is a string inside a config map, which Vault Agent's constructors
// take only as a quoted string.
func (d *decoder) mapStr(it *item, where, name string, dst *string) bool {
	if l, ok := d.lit(it); ok && (l.Token.Type == token.STRING || l.Token.Type == token.HEREDOC) {
		if s, ok := tokValue(l.Token).(string); ok {
			*dst = s
			return true
		}
	}
	return d.typeErr(it, where, name, "a quoted string")
}

// strictBool is an HCL 1 bool field: true or false, unquoted.
func (d *decoder) strictBool(it *item, where, name string, dst *bool) bool {
	if l, ok := d.lit(it); ok && l.Token.Type == token.BOOL {
		*dst = l.Token.Text == "true"
		return true
	}
	return d.typeErr(it, where, name, "true or false (unquoted)")
}

// looseBool is parseutil.ParseBool: true/false, "true"/"false" (and the
// other strconv spellings), "" for false, or a number (non-zero is true).
func (d *decoder) looseBool(it *item, where, name string, dst *bool) bool {
	if l, ok := d.lit(it); ok {
		switch l.Token.Type {
		case token.BOOL:
			*dst = l.Token.Text == "true"
			return true
		case token.STRING, token.HEREDOC:
			s, _ := tokValue(l.Token).(string)
			if s == "" {
				*dst = false
				return true
			}
			if b, err := strconv.ParseBool(s); err == nil {
				*dst = b
				return true
			}
		case token.NUMBER, token.FLOAT:
			f, err := strconv.ParseFloat(numText(l.Token.Text), 64)
			if err == nil {
				*dst = f != 0
				return true
			}
		}
	}
	return d.typeErr(it, where, name, "a boolean (true, false, \"true\" or \"false\")")
}

// numText makes an HCL 1 number literal readable by ParseFloat: a leading
// 0 means octal to HCL 1, as in Go.
func numText(s string) string {
	if i, err := strconv.ParseInt(s, 0, 64); err == nil {
		return strconv.FormatInt(i, 10)
	}
	return s
}

// strictInt is an HCL 1 int field: a number (0640 is octal, 0x1f hex) or a
// string holding one.
func (d *decoder) strictInt(it *item, where, name string, dst *int) bool {
	if l, ok := d.lit(it); ok {
		var s string
		switch l.Token.Type {
		case token.NUMBER:
			s = l.Token.Text
		case token.STRING:
			s, _ = tokValue(l.Token).(string)
		default:
			return d.typeErr(it, where, name, "a whole number")
		}
		n, err := strconv.ParseInt(strings.TrimSpace(s), 0, 64)
		if err == nil && n >= math.MinInt32 && n <= math.MaxInt32 {
			*dst = int(n)
			return true
		}
	}
	return d.typeErr(it, where, name, "a whole number")
}

// mapInt is a number inside a config map, which Vault Agent's constructors
// take only unquoted.
func (d *decoder) mapInt(it *item, where, name string, dst *int) bool {
	if l, ok := d.lit(it); ok && l.Token.Type == token.NUMBER {
		n, err := strconv.ParseInt(l.Token.Text, 0, 64)
		if err == nil && n >= math.MinInt32 && n <= math.MaxInt32 {
			*dst = int(n)
			return true
		}
	}
	return d.typeErr(it, where, name, "a whole number (unquoted)")
}

// float is an HCL 1 float field: a number.
func (d *decoder) float(it *item, where, name string, dst *float64) bool {
	if l, ok := d.lit(it); ok && (l.Token.Type == token.FLOAT || l.Token.Type == token.NUMBER) {
		f, err := strconv.ParseFloat(numText(l.Token.Text), 64)
		if err == nil && !math.IsInf(f, 0) && !math.IsNaN(f) {
			*dst = f
			return true
		}
	}
	return d.typeErr(it, where, name, "a number")
}

// duration is parseutil.ParseDurationSecond: a number of seconds, or a
// string such as "90s", "5m", "1d" or "300".
func (d *decoder) duration(it *item, where, name string, dst *time.Duration) bool {
	l, ok := d.lit(it)
	if !ok {
		return d.typeErr(it, where, name, `a duration such as "30s" or "5m", or a number of seconds`)
	}
	var s string
	switch l.Token.Type {
	case token.NUMBER, token.FLOAT:
		s = numText(l.Token.Text)
	case token.STRING, token.HEREDOC:
		s, _ = tokValue(l.Token).(string)
	default:
		return d.typeErr(it, where, name, `a duration such as "30s" or "5m", or a number of seconds`)
	}
	if err := unitless(l.Token.Type, s); err != nil {
		d.ds.errorf(it.vpos, "Invalid duration", "%s: %s: %v.", where, name, err)
		return false
	}
	v, err := parseDurationSecond(s)
	if err != nil {
		d.ds.errorf(it.vpos, "Invalid duration", "%s: %s: %v.", where, name, err)
		return false
	}
	*dst = v
	return true
}

// unitless refuses a quoted fraction without a unit ("1.5"), as
// parseutil does: a quoted bare number of seconds must be whole.
func unitless(t token.Type, s string) error {
	if t != token.STRING && t != token.HEREDOC {
		return nil
	}
	s = strings.TrimSpace(s)
	if _, err := strconv.ParseInt(s, 10, 64); err != nil {
		if _, err := strconv.ParseFloat(s, 64); err == nil {
			return errf("time: missing unit in duration %q", s)
		}
	}
	return nil
}

// negDuration is duration, but takes a negative value as Vault's
// parseutil.ParseDurationSecond does ("-5m", "-300", -300): the caller
// decides what Vault Agent makes of it and warns.
func (d *decoder) negDuration(it *item, where, name string, dst *time.Duration) bool {
	l, ok := d.lit(it)
	if !ok {
		return d.duration(it, where, name, dst)
	}
	var s string
	switch l.Token.Type {
	case token.NUMBER, token.FLOAT:
		s = l.Token.Text
	case token.STRING, token.HEREDOC:
		s, _ = tokValue(l.Token).(string)
	}
	rest, neg := strings.CutPrefix(strings.TrimSpace(s), "-")
	if !neg || strings.HasPrefix(rest, "-") || strings.HasPrefix(rest, "+") {
		return d.duration(it, where, name, dst)
	}
	if err := unitless(l.Token.Type, s); err != nil {
		d.ds.errorf(it.vpos, "Invalid duration", "%s: %s: %v.", where, name, err)
		return false
	}
	v, err := parseDurationSecond(numText(rest))
	if err != nil {
		d.ds.errorf(it.vpos, "Invalid duration", "%s: %s: %v.", where, name, err)
		return false
	}
	*dst = -v
	return true
}

// parseDurationSecond reads durations as Vault's parseutil does: "" is 0,
// a bare number is seconds, and "d" counts days.
func parseDurationSecond(s string) (time.Duration, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return 0, nil
	}
	if n, err := strconv.ParseFloat(s, 64); err == nil {
		if n < 0 || n > float64(math.MaxInt64)/float64(time.Second) {
			return 0, errf("%q is out of range", s)
		}
		return time.Duration(n * float64(time.Second)), nil
	}
	if days, ok := strings.CutSuffix(s, "d"); ok {
		n, err := strconv.Atoi(days)
		if err != nil || n < 0 || n > 100000 {
			return 0, errf("%q is not a duration (use e.g. \"30s\", \"5m\", \"1h\", \"2d\")", s)
		}
		return time.Duration(n) * 24 * time.Hour, nil
	}
	v, err := time.ParseDuration(s)
	if err != nil {
		return 0, errf("%q is not a duration (use e.g. \"30s\", \"5m\", \"1h\")", s)
	}
	if v < 0 {
		return 0, errf("%q is negative", s)
	}
	return v, nil
}

// ctDuration is a consul-template duration (template and env_template
// keys): a string Go's time.ParseDuration reads. Vault Agent takes a bare
// number as nanoseconds (a fraction truncated); rotor takes seconds and
// says so. A negative value is Vault Agent's too; the caller decides what
// it means there and warns.
func (d *decoder) ctDuration(it *item, where, name string, dst *time.Duration) bool {
	l, ok := d.lit(it)
	if !ok {
		return d.typeErr(it, where, name, `a duration such as "30s"`)
	}
	switch l.Token.Type {
	case token.STRING, token.HEREDOC:
		s, _ := tokValue(l.Token).(string)
		v, err := time.ParseDuration(strings.TrimSpace(s))
		if err != nil {
			d.ds.errorf(it.vpos, "Invalid duration", "%s: %s: %q is not a duration such as \"30s\" or \"5m\".", where, name, s)
			return false
		}
		*dst = v
		return true
	case token.NUMBER, token.FLOAT:
		n, err := strconv.ParseFloat(numText(l.Token.Text), 64)
		if err != nil || math.Abs(n) > float64(math.MaxInt64/int64(time.Second)) {
			return d.typeErr(it, where, name, `a duration such as "30s"`)
		}
		v := time.Duration(n * float64(time.Second))
		if v >= 0 {
			d.ds.warnf(it.vpos, "Ambiguous duration", "%s: %s = %s: Vault Agent reads a bare number here as nanoseconds; rotor reads seconds. Write %q to mean the same to both.", where, name, l.Token.Text, v.String())
		}
		*dst = v
		return true
	}
	return d.typeErr(it, where, name, `a duration such as "30s"`)
}

// perms is a consul-template file mode: an octal string ("0640"), or a
// number, read as HCL 1 reads it (0640 is octal; 640 is decimal 640, which
// is mode 01200: rotor warns).
func (d *decoder) perms(it *item, where, name string, dst *os.FileMode) bool {
	l, ok := d.lit(it)
	if !ok {
		return d.typeErr(it, where, name, `an octal file mode such as "0640"`)
	}
	switch l.Token.Type {
	case token.STRING, token.HEREDOC:
		s, _ := tokValue(l.Token).(string)
		return d.octalString(it, where, name, s, dst)
	case token.NUMBER:
		return d.modeNumber(it, l, where, name, dst)
	}
	return d.typeErr(it, where, name, `an octal file mode such as "0640"`)
}

func (d *decoder) octalString(it *item, where, name, s string, dst *os.FileMode) bool {
	m, err := strconv.ParseUint(strings.TrimSpace(s), 8, 12)
	if err != nil {
		d.ds.errorf(it.vpos, "Invalid file mode", "%s: %s = %q is not an octal file mode such as \"0640\".", where, name, s)
		return false
	}
	*dst = os.FileMode(m)
	return true
}

func (d *decoder) modeNumber(it *item, l *ast.LiteralType, where, name string, dst *os.FileMode) bool {
	n, err := strconv.ParseInt(l.Token.Text, 0, 64)
	if err != nil || n < 0 || n > 0o7777 {
		d.ds.errorf(it.vpos, "Invalid file mode", "%s: %s = %s is not a file mode (0 to 07777); write it in octal, such as 0640 or \"0640\".", where, name, l.Token.Text)
		return false
	}
	if n != 0 && !strings.HasPrefix(l.Token.Text, "0") {
		d.ds.warnf(it.vpos, "Decimal file mode", "%s: %s = %s is the decimal number %d, mode %#o, as Vault Agent reads it too. For mode 0%s write 0%s or \"0%s\".", where, name, l.Token.Text, n, n, l.Token.Text, l.Token.Text, l.Token.Text)
	}
	*dst = os.FileMode(n)
	return true
}

// strList is a list of strings (an HCL 1 []string field). When comma is
// true a single string is split on commas too, as mapstructure's
// StringToSliceHook does for consul-template keys.
func (d *decoder) strList(it *item, where, name string, comma bool, dst *[]string) bool {
	if l, ok := d.lit(it); ok && comma && (l.Token.Type == token.STRING || l.Token.Type == token.HEREDOC) {
		s, _ := tokValue(l.Token).(string)
		if s == "" {
			*dst = []string{}
		} else {
			*dst = strings.Split(s, ",")
		}
		return true
	}
	lt, ok := it.val.(*ast.ListType)
	if !ok {
		return d.typeErr(it, where, name, `a list of strings such as ["a", "b"]`)
	}
	out := []string{}
	for _, n := range lt.List {
		l, ok := n.(*ast.LiteralType)
		if !ok {
			return d.typeErr(it, where, name, `a list of strings such as ["a", "b"]`)
		}
		switch l.Token.Type {
		case token.STRING, token.HEREDOC:
			s, _ := tokValue(l.Token).(string)
			out = append(out, s)
		case token.NUMBER:
			out = append(out, l.Token.Text)
		default:
			return d.typeErr(it, where, name, `a list of strings such as ["a", "b"]`)
		}
	}
	*dst = out
	return true
}

// command is rotor's command: a string runs through /bin/sh -c (as Vault
// Agent's template command), a list is argv run without a shell.
func (d *decoder) command(it *item, where, name string, dst *Command) bool {
	if l, ok := d.lit(it); ok && (l.Token.Type == token.STRING || l.Token.Type == token.HEREDOC) {
		s, _ := tokValue(l.Token).(string)
		if strings.TrimSpace(s) == "" {
			d.ds.errorf(it.vpos, "Invalid command", "%s: %s is empty.", where, name)
			return false
		}
		*dst = Command{Shell: s, Range: it.vpos}
		return true
	}
	if lt, ok := it.val.(*ast.ListType); ok && len(lt.List) > 0 {
		// HCL 1 gives the list the type of its first element, and the
		// decoder (mapstructure, not weakly typed) takes no number for a
		// string.
		if l, ok := lt.List[0].(*ast.LiteralType); ok && (l.Token.Type == token.NUMBER || l.Token.Type == token.FLOAT) {
			kind := map[token.Type]string{token.NUMBER: "int", token.FLOAT: "float64"}[l.Token.Type]
			d.ds.errorf(it.vpos, "Incorrect attribute value type", "%s: '%s[0]' expected type 'string', got unconvertible type '%s', value: '%s' (Vault Agent refuses it too): write the command as a list of quoted strings.", where, name, kind, l.Token.Text)
			return false
		}
	}
	var argv []string
	if _, ok := it.val.(*ast.ListType); !ok || !d.strList(it, where, name, false, &argv) {
		if !ok {
			d.typeErr(it, where, name, "a string or a list of strings")
		}
		return false
	}
	if len(argv) == 0 {
		d.ds.errorf(it.vpos, "Invalid command", "%s: %s is an empty list.", where, name)
		return false
	}
	if argv[0] == "" {
		d.ds.errorf(it.vpos, "Invalid command", "%s: %s: the program name is empty.", where, name)
		return false
	}
	*dst = Command{Argv: argv, Range: it.vpos}
	return true
}

type simpleErr string

func (e simpleErr) Error() string { return string(e) }

func errf(format string, args ...any) error {
	return simpleErr(strings.TrimSpace(sprintf(format, args...)))
}
