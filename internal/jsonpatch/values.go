package jsonpatch

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"math/big"
	"strconv"
	"strings"
)

var errTooLarge = fmt.Errorf("the patch makes the document larger than %d values", MaxNodes)

// copy returns a deep copy of v in encoding/json's shapes (objects as
// map[string]any, arrays as []any; numbers stay the type they were), and
// counts its values against MaxNodes. A value of another Go type is
// copied through its JSON encoding.
func (st *state) copy(v any) (any, error) {
	st.nodes++
	if st.nodes > MaxNodes {
		return nil, errTooLarge
	}
	switch t := v.(type) {
	case nil, bool, string, json.Number, float64, float32,
		int, int8, int16, int32, int64, uint, uint8, uint16, uint32, uint64:
		return v, nil
	case map[string]any:
		out := make(map[string]any, len(t))
		for k, e := range t {
			c, err := st.copy(e)
			if err != nil {
				return nil, err
			}
			out[k] = c
		}
		return out, nil
	case []any:
		out := make([]any, len(t))
		for i, e := range t {
			c, err := st.copy(e)
			if err != nil {
				return nil, err
			}
			out[i] = c
		}
		return out, nil
	}
	b, err := json.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("a %T is not a JSON value: %w", v, err)
	}
	d := json.NewDecoder(bytes.NewReader(b))
	d.UseNumber()
	var n any
	if err := d.Decode(&n); err != nil {
		return nil, err
	}
	st.nodes--
	return st.copy(n)
}

// equal is RFC 6902's test: same type, numbers equal as numbers (1, 1.0
// and 1e0 are one value), strings byte for byte, objects with the same
// members whatever their order, arrays element by element.
func equal(a, b any) bool {
	switch x := a.(type) {
	case map[string]any:
		y, ok := b.(map[string]any)
		if !ok || len(x) != len(y) {
			return false
		}
		for k, v := range x {
			w, ok := y[k]
			if !ok || !equal(v, w) {
				return false
			}
		}
		return true
	case []any:
		y, ok := b.([]any)
		if !ok || len(x) != len(y) {
			return false
		}
		for i := range x {
			if !equal(x[i], y[i]) {
				return false
			}
		}
		return true
	case string:
		y, ok := b.(string)
		return ok && x == y
	case bool:
		y, ok := b.(bool)
		return ok && x == y
	case nil:
		return b == nil
	}
	ca, okA := canonical(a)
	cb, okB := canonical(b)
	return okA && okB && ca == cb
}

// canonical writes a number as sign, significant digits and exponent
// ("-12e3"), so that equal numbers have one form, without converting to
// float64 (which would merge distinct large integers) or building the
// value (1e999999999 would be too large to build).
func canonical(v any) (string, bool) {
	var s string
	switch t := v.(type) {
	case json.Number:
		s = string(t)
	case float64:
		if math.IsNaN(t) || math.IsInf(t, 0) {
			return "", false
		}
		s = strconv.FormatFloat(t, 'e', -1, 64)
	case float32:
		s = strconv.FormatFloat(float64(t), 'e', -1, 32)
	case int:
		s = strconv.FormatInt(int64(t), 10)
	case int8:
		s = strconv.FormatInt(int64(t), 10)
	case int16:
		s = strconv.FormatInt(int64(t), 10)
	case int32:
		s = strconv.FormatInt(int64(t), 10)
	case int64:
		s = strconv.FormatInt(t, 10)
	case uint:
		s = strconv.FormatUint(uint64(t), 10)
	case uint8:
		s = strconv.FormatUint(uint64(t), 10)
	case uint16:
		s = strconv.FormatUint(uint64(t), 10)
	case uint32:
		s = strconv.FormatUint(uint64(t), 10)
	case uint64:
		s = strconv.FormatUint(t, 10)
	default:
		return "", false
	}
	c, err := canonicalNumber(s)
	return c, err == nil
}

// canonicalNumber reads a JSON number's text.
func canonicalNumber(s string) (string, error) {
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	mant, expText, hasExp := strings.Cut(strings.ToLower(s), "e")
	intPart, frac, _ := strings.Cut(mant, ".")
	digits := intPart + frac
	if digits == "" || strings.Trim(digits, "0123456789") != "" {
		return "", errors.New("not a number")
	}
	exp := new(big.Int)
	if hasExp {
		if _, ok := exp.SetString(strings.TrimPrefix(expText, "+"), 10); !ok {
			return "", errors.New("not a number")
		}
	}
	exp.Sub(exp, big.NewInt(int64(len(frac))))
	digits = strings.TrimLeft(digits, "0")
	if digits == "" {
		return "0", nil // -0 is 0
	}
	trimmed := strings.TrimRight(digits, "0")
	exp.Add(exp, big.NewInt(int64(len(digits)-len(trimmed))))
	sign := ""
	if neg {
		sign = "-"
	}
	return sign + trimmed + "e" + exp.String(), nil
}
