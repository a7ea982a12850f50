package reference

import (
	"testing"
	"testing/fstest"

	"github.com/gridflow/gridflow/pkg/geo"
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

// FuzzOverlap: the overlap test checkOverlaps uses (geo.Intersects on the
// rings ringOf builds) is symmetric, a valid grid always overlaps itself, and
// grids whose boxes meet only along an edge or not at all never overlap.
func FuzzOverlap(f *testing.F) {
	f.Fuzz(func(t *testing.T, a0, a1, a2, a3, b0, b1, b2, b3 int8) {
		quad := func(x0, y0, x1, y1 int8) (geo.Polygon, error) {
			lo, hi := min(x0, x1), max(x0, x1)
			blo, bhi := min(y0, y1), max(y0, y1)
			ring, err := ringOf([][]float64{
				{31 + float64(lo)/1e3, 121 + float64(blo)/1e3}, {31 + float64(lo)/1e3, 121 + float64(bhi)/1e3},
				{31 + float64(hi)/1e3, 121 + float64(bhi)/1e3}, {31 + float64(hi)/1e3, 121 + float64(blo)/1e3},
			})
			return geo.Polygon{Outer: ring}, err
		}
		a, aErr := quad(a0, a1, a2, a3)
		b, _ := quad(b0, b1, b2, b3)
		if geo.Intersects(a, b) != geo.Intersects(b, a) {
			t.Fatalf("asymmetric: %v %v", a.Outer, b.Outer)
		}
		if aErr == nil && !geo.Intersects(a, a) {
			t.Fatalf("%v does not overlap itself", a.Outer)
		}
		ba, bb := a.BBox(), b.BBox()
		apart := ba.MinLat >= bb.MaxLat || bb.MinLat >= ba.MaxLat || ba.MinLng >= bb.MaxLng || bb.MinLng >= ba.MaxLng
		if apart && geo.Intersects(a, b) {
			t.Fatalf("disjoint boxes overlap: %v %v", a.Outer, b.Outer)
		}
	})
}
