package injector

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"

	"gopkg.in/yaml.v2"
)

// Rendered is one document of `rotor injector render`'s input, mutated.
type Rendered struct {
	Kind, Name string
	// Object is the document after the patch (the same document when
	// nothing was injected).
	Object   any
	Injected bool
	Warnings []Warning
}

// Render mutates every document of a YAML or JSON file (several YAML
// documents may be separated by ---), as the webhook would mutate the pods
// they describe or, for workloads, their pod templates. Documents of other
// kinds are returned unchanged.
func Render(in []byte, o Options) ([]Rendered, error) {
	docs, err := decodeDocuments(in)
	if err != nil {
		return nil, err
	}
	var out []Rendered
	for i, doc := range docs {
		obj, ok := doc.(map[string]any)
		if !ok {
			return nil, fmt.Errorf("document %d is not an object", i+1)
		}
		kind, _ := obj["kind"].(string)
		meta, _ := obj["metadata"].(map[string]any)
		name, _ := meta["name"].(string)
		r := Rendered{Kind: kind, Name: name, Object: doc}
		prefix, err := workloadPodPath(kind)
		if err != nil {
			out = append(out, r)
			continue
		}
		res, err := Mutate(doc, prefix, o)
		if err != nil {
			return nil, fmt.Errorf("document %d (%s %s): %w", i+1, kind, name, err)
		}
		r.Warnings = res.Warnings
		if len(res.Patch) > 0 {
			if r.Object, err = res.Patch.Apply(doc); err != nil {
				return nil, fmt.Errorf("document %d (%s %s): %w", i+1, kind, name, err)
			}
			r.Injected = true
		}
		out = append(out, r)
	}
	return out, nil
}

// decodeDocuments reads JSON (one value) or YAML (one or more documents)
// into encoding/json's shapes: map[string]any, []any, string, bool, int64,
// float64, nil.
func decodeDocuments(in []byte) ([]any, error) {
	trimmed := bytes.TrimSpace(in)
	if len(trimmed) > 0 && (trimmed[0] == '{' || trimmed[0] == '[') {
		d := json.NewDecoder(bytes.NewReader(trimmed))
		d.UseNumber()
		var v any
		if err := d.Decode(&v); err != nil {
			return nil, fmt.Errorf("JSON: %w", err)
		}
		if list, ok := v.(map[string]any); ok && list["kind"] == "List" {
			items, _ := list["items"].([]any)
			return normalize(items).([]any), nil
		}
		return []any{normalize(v)}, nil
	}
	var docs []any
	d := yaml.NewDecoder(bytes.NewReader(in))
	for {
		var v any
		err := d.Decode(&v)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("YAML: %w", err)
		}
		if v == nil {
			continue // an empty document between two ---
		}
		n, err := fromYAML(v)
		if err != nil {
			return nil, err
		}
		docs = append(docs, n)
	}
	if len(docs) == 0 {
		return nil, errors.New("no document in the input")
	}
	return docs, nil
}

// fromYAML turns yaml.v2's values into encoding/json's.
func fromYAML(v any) (any, error) {
	switch t := v.(type) {
	case map[any]any:
		m := make(map[string]any, len(t))
		for k, val := range t {
			ks, ok := k.(string)
			if !ok {
				return nil, fmt.Errorf("YAML: key %v is not a string", k)
			}
			n, err := fromYAML(val)
			if err != nil {
				return nil, err
			}
			m[ks] = n
		}
		return m, nil
	case []any:
		out := make([]any, len(t))
		for i, val := range t {
			n, err := fromYAML(val)
			if err != nil {
				return nil, err
			}
			out[i] = n
		}
		return out, nil
	case int:
		return int64(t), nil
	case uint64:
		return float64(t), nil
	}
	return v, nil
}

// normalize turns json.Number into int64 (or float64).
func normalize(v any) any {
	switch t := v.(type) {
	case map[string]any:
		for k, val := range t {
			t[k] = normalize(val)
		}
	case []any:
		for i, val := range t {
			t[i] = normalize(val)
		}
	case json.Number:
		if n, err := t.Int64(); err == nil {
			return n
		}
		f, _ := t.Float64()
		return f
	}
	return v
}

// Encode writes documents as indented JSON (one after the other) or YAML
// (separated by ---).
func Encode(w io.Writer, docs []any, format string) error {
	switch strings.ToLower(format) {
	case "json", "":
		for _, d := range docs {
			b, err := json.MarshalIndent(d, "", "  ")
			if err != nil {
				return err
			}
			if _, err := fmt.Fprintf(w, "%s\n", b); err != nil {
				return err
			}
		}
		return nil
	case "yaml":
		for i, d := range docs {
			if i > 0 {
				if _, err := io.WriteString(w, "---\n"); err != nil {
					return err
				}
			}
			// Through JSON first, so values have JSON's types.
			b, err := json.Marshal(d)
			if err != nil {
				return err
			}
			var v any
			dec := json.NewDecoder(bytes.NewReader(b))
			dec.UseNumber()
			if err := dec.Decode(&v); err != nil {
				return err
			}
			y, err := yaml.Marshal(yamlValue(normalize(v)))
			if err != nil {
				return err
			}
			if _, err := w.Write(y); err != nil {
				return err
			}
		}
		return nil
	}
	return fmt.Errorf("output format %q: want json or yaml", format)
}

// yamlValue orders map keys (yaml.v2 sorts map[string]any keys already;
// MapSlice keeps that order explicit and stable).
func yamlValue(v any) any {
	switch t := v.(type) {
	case map[string]any:
		keys := make([]string, 0, len(t))
		for k := range t {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		ms := make(yaml.MapSlice, 0, len(t))
		for _, k := range keys {
			ms = append(ms, yaml.MapItem{Key: k, Value: yamlValue(t[k])})
		}
		return ms
	case []any:
		out := make([]any, len(t))
		for i, x := range t {
			out[i] = yamlValue(x)
		}
		return out
	}
	return v
}
