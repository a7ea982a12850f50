package reference

import (
	"testing"
	"testing/fstest"
)

// FuzzLoadRules: rules.yaml is the file cities edit most. Whatever it holds,
// loading must not panic, and a set that loads must validate again and have
// its fallbacks last.
func FuzzLoadRules(f *testing.F) {
	base := defaultFiles(f)
	f.Fuzz(func(t *testing.T, rules string) {
		m := fstest.MapFS{}
		for k, v := range base {
			m[k] = v
		}
		m[FileRules] = &fstest.MapFile{Data: []byte(rules)}
		s, err := Load(m)
		if err != nil {
			return
		}
		if err := s.Validate(); err != nil {
			t.Fatalf("loaded set fails Validate: %v", err)
		}
		rs := s.Rules()
		if len(rs) == 0 || !rs[len(rs)-1].Match.IsEmpty() {
			t.Fatalf("loaded without a final fallback: %+v", rs)
		}
	})
}

// FuzzOverlap: the overlap test is symmetric and a simple polygon always
// overlaps itself.
func FuzzOverlap(f *testing.F) {
	f.Fuzz(func(t *testing.T, a0, a1, a2, a3, b0, b1, b2, b3 int8) {
		quad := func(x0, y0, x1, y1 int8) []LatLng {
			lo, hi := min(x0, x1), max(x0, x1)
			blo, bhi := min(y0, y1), max(y0, y1)
			return []LatLng{
				{31 + float64(lo)/1e3, 121 + float64(blo)/1e3}, {31 + float64(lo)/1e3, 121 + float64(bhi)/1e3},
				{31 + float64(hi)/1e3, 121 + float64(bhi)/1e3}, {31 + float64(hi)/1e3, 121 + float64(blo)/1e3},
			}
		}
		a, b := quad(a0, a1, a2, a3), quad(b0, b1, b2, b3)
		if ringsOverlap(a, b) != ringsOverlap(b, a) {
			t.Fatalf("asymmetric: %v %v", a, b)
		}
		if _, ok := ringOf([][]float64{{a[0].Lat, a[0].Lng}, {a[1].Lat, a[1].Lng}, {a[2].Lat, a[2].Lng}, {a[3].Lat, a[3].Lng}}); ok && !ringsOverlap(a, a) {
			t.Fatalf("%v does not overlap itself", a)
		}
		// Boxes that meet only along an edge or not at all never overlap.
		ba, bb := boxOf(a), boxOf(b)
		if !ba.overlaps(bb) && ringsOverlap(a, b) {
			t.Fatalf("disjoint boxes overlap: %v %v", a, b)
		}
	})
}
