package redact

import (
	"bytes"
	"encoding/json"
)

// JSONText masks the phone numbers (Text) in the string values at paths of
// a stored JSON document — a service's copy of a case's free text — and
// reports whether it changed anything. A path that is absent, or does not
// lead to a string, is skipped. Numbers keep their exact form.
func JSONText(doc []byte, paths ...[]string) ([]byte, bool, error) {
	var v any
	dec := json.NewDecoder(bytes.NewReader(doc))
	dec.UseNumber()
	if err := dec.Decode(&v); err != nil {
		return nil, false, err
	}
	changed := false
	for _, p := range paths {
		if len(p) == 0 {
			continue
		}
		obj, ok := v.(map[string]any)
		for _, k := range p[:len(p)-1] {
			if !ok {
				break
			}
			obj, ok = obj[k].(map[string]any)
		}
		if !ok {
			continue
		}
		last := p[len(p)-1]
		s, ok := obj[last].(string)
		if !ok {
			continue
		}
		if m := Text(s); m != s {
			obj[last], changed = m, true
		}
	}
	if !changed {
		return doc, false, nil
	}
	out, err := json.Marshal(v)
	return out, true, err
}
