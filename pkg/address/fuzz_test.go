package address

import (
	"strings"
	"testing"
	"unicode/utf8"
)

// FuzzNormalise checks that Normalise is total and that String is a faithful
// canonical form: re-normalising it gives the same Key and the same String.
// The seed corpus is the table tests' inputs plus testdata/fuzz.
func FuzzNormalise(f *testing.F) {
	for _, tc := range sameKeyCases {
		for _, v := range tc.variants {
			f.Add(v)
		}
	}
	for _, tc := range differentKeyCases {
		f.Add(tc.a)
		f.Add(tc.b)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		a := Normalise(raw)
		if !utf8.ValidString(a.Raw) || len(a.Raw) > MaxInputBytes {
			t.Fatalf("Raw is %d bytes, valid UTF-8 %v", len(a.Raw), utf8.ValidString(a.Raw))
		}
		if !strings.HasPrefix(strings.ToValidUTF8(raw, "\uFFFD"), strings.TrimSuffix(a.Raw, "\uFFFD")) && len(raw) <= MaxInputBytes {
			t.Fatalf("Raw %q is not the input %q", a.Raw, raw)
		}
		for _, s := range []string{a.Province, a.City, a.District, a.Street, a.Road, a.CrossRoad, a.Community,
			a.NumberSuffix, a.Building, a.Shop, a.Detail} {
			if !utf8.ValidString(s) {
				t.Fatalf("invalid UTF-8 in %+v", a)
			}
		}
		if a.Lane < 0 || a.SubLane < 0 || a.Number < 0 || a.Unit < 0 || a.Floor < 0 || a.Room < 0 {
			t.Fatalf("negative number in %#v", a)
		}
		key := a.Key()
		if key == "" {
			return
		}
		s := a.String()
		b := Normalise(s)
		if got := b.Key(); got != key {
			t.Fatalf("Normalise(%q) = %q with key %q, but its String %q has key %q", raw, s, key, s, got)
		}
		if got := b.String(); got != s {
			t.Fatalf("String not stable: %q -> %q (input %q)", s, got, raw)
		}
	})
}
