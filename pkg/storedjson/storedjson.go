// Package storedjson checks that a type kept as JSON in a database is a
// contract: every field encoding/json writes has an explicit json tag, so a
// Go rename changes no stored key, and rows written before it stay readable.
// A service's tests call Untagged with every type it marshals into a jsonb,
// json or bytea column.
package storedjson

import (
	"encoding"
	"encoding/json"
	"fmt"
	"reflect"
	"strings"
)

var (
	jsonMarshaler = reflect.TypeFor[json.Marshaler]()
	textMarshaler = reflect.TypeFor[encoding.TextMarshaler]()
)

// Untagged returns the fields, reachable from values' types, that
// encoding/json would write under their Go names: exported fields without a
// json tag (or with a tag that names no key), through pointers, slices, arrays
// and maps. Embedded structs without a tag are looked into, since their fields
// are written as the outer struct's. Types with their own MarshalJSON or
// MarshalText (time.Time) own their form and are not looked into. A field of
// interface type is reported too: what it holds is not fixed by its type.
func Untagged(values ...any) []string {
	var out []string
	seen := map[reflect.Type]bool{}
	var walk func(t reflect.Type, path string)
	walk = func(t reflect.Type, path string) {
		for {
			switch t.Kind() {
			case reflect.Pointer, reflect.Slice, reflect.Array, reflect.Map:
				t = t.Elem()
				continue
			case reflect.Interface:
				out = append(out, path+" is an interface")
				return
			}
			break
		}
		if t.Kind() != reflect.Struct || seen[t] || ownsForm(t) {
			return
		}
		seen[t] = true
		for i := range t.NumField() {
			f := t.Field(i)
			tag, tagged := f.Tag.Lookup("json")
			if tag == "-" {
				continue
			}
			name, _, _ := strings.Cut(tag, ",")
			if f.Anonymous && name == "" {
				// Promoted into t; an unexported embedded struct's exported
				// fields are written too.
				walk(f.Type, path)
				continue
			}
			if !f.IsExported() {
				continue
			}
			at := fmt.Sprintf("%s.%s", t, f.Name)
			if !tagged || name == "" {
				out = append(out, at)
			}
			walk(f.Type, at)
		}
	}
	for _, v := range values {
		t := reflect.TypeOf(v)
		walk(t, t.String())
	}
	return out
}

func ownsForm(t reflect.Type) bool {
	p := reflect.PointerTo(t)
	return t.Implements(jsonMarshaler) || p.Implements(jsonMarshaler) || t.Implements(textMarshaler) || p.Implements(textMarshaler)
}
