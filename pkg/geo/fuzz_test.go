package geo

import (
	"math"
	"testing"
)

// FuzzGCJ02RoundTrip: the transforms accept any float, and inside China
// GCJ02ToWGS84 undoes WGS84ToGCJ02 to well within 0.5 m.
func FuzzGCJ02RoundTrip(f *testing.F) {
	f.Add(jingan.Lat, jingan.Lng)
	f.Add(39.9042, 116.4074)
	f.Add(0.8293, 72.004)
	f.Add(55.8271, 137.8347)
	f.Add(math.NaN(), 121.0)
	f.Add(math.Inf(1), math.Inf(-1))
	f.Add(-91.0, 500.0)
	f.Fuzz(func(t *testing.T, lat, lng float64) {
		gLat, gLng := WGS84ToGCJ02(lat, lng)
		wLat, wLng := GCJ02ToWGS84(gLat, gLng)
		_, _ = GCJ02ToWGS84(lat, lng)
		if Valid(lat, lng) != nil {
			return
		}
		// The rectangle's edge is a discontinuity of the transform; keep
		// clear of it by more than the largest offset.
		const margin = 0.02
		if OutOfChina(lat-margin, lng-margin) || OutOfChina(lat+margin, lng+margin) {
			if OutOfChina(lat, lng) && (gLat != lat || gLng != lng) {
				t.Fatalf("WGS84ToGCJ02 moved %v,%v outside China", lat, lng)
			}
			return
		}
		if d := Haversine(lat, lng, wLat, wLng); !(d < 0.5) {
			t.Fatalf("round trip of %v,%v is off by %v m", lat, lng, d)
		}
	})
}

// FuzzContains: Contains and Intersects accept any floats; Contains does not
// depend on orientation or a closing vertex, contains nothing outside the
// bounding box or at NaN; splitting a convex quadrilateral along a diagonal
// gives two triangles that hold exactly the points the quadrilateral holds;
// Intersects is symmetric.
func FuzzContains(f *testing.F) {
	f.Add(0.0, 0.0, 0.0, 1.0, 1.0, 1.0, 1.0, 0.0, 0.5, 0.5)
	f.Add(31.263, 121.447, 31.2632, 121.45, 31.266, 121.4502, 31.2658, 121.4468, 31.2645, 121.4485)
	f.Add(0.0, 0.0, 0.0, 2.0, 2.0, 2.0, 2.0, 0.0, 1.0, 1.0) // on the diagonal
	f.Add(0.0, 0.0, 1.0, 1.0, 1.0, 0.0, 0.0, 1.0, 0.5, 0.5) // bow tie
	f.Add(math.NaN(), 0.0, 0.0, 1.0, 1.0, 1.0, 1.0, 0.0, 0.5, 0.5)
	f.Add(0.0, 0.0, 0.0, math.Inf(1), 1.0, 1.0, 1.0, 0.0, 0.5, math.NaN())
	f.Fuzz(func(t *testing.T, a1, b1, a2, b2, a3, b3, a4, b4, lat, lng float64) {
		v := []Point{{a1, b1}, {a2, b2}, {a3, b3}, {a4, b4}}
		quad := Polygon{Outer: v}
		in := quad.Contains(lat, lng)
		if in != (Polygon{Outer: reversed(v)}).Contains(lat, lng) {
			t.Fatalf("orientation changes Contains(%v, %v) for %v", lat, lng, v)
		}
		if in != (Polygon{Outer: append(v[:4:4], v[0])}).Contains(lat, lng) {
			t.Fatalf("a closing vertex changes Contains(%v, %v) for %v", lat, lng, v)
		}
		if in && (math.IsNaN(lat) || math.IsNaN(lng) || !quad.BBox().Contains(lat, lng)) {
			t.Fatalf("Contains(%v, %v) outside the bounding box of %v", lat, lng, v)
		}
		if convex(v) {
			t1 := Polygon{Outer: []Point{v[0], v[1], v[2]}}
			t2 := Polygon{Outer: []Point{v[0], v[2], v[3]}}
			n := 0
			for _, tri := range []Polygon{t1, t2} {
				if tri.Contains(lat, lng) {
					n++
				}
			}
			if want := map[bool]int{true: 1, false: 0}[in]; n != want {
				t.Fatalf("point %v,%v is in %d of the triangles of %v, and in the quadrilateral: %v", lat, lng, n, v, in)
			}
		}
		other := Polygon{Outer: square(lat, lng, 0.5)}
		if Intersects(quad, other) != Intersects(other, quad) {
			t.Fatalf("Intersects is not symmetric for %v and %v", v, other.Outer)
		}
		_ = quad.Validate()
	})
}

// convex reports whether v is a strictly convex quadrilateral with finite,
// moderate coordinates (so that no arithmetic overflows).
func convex(v []Point) bool {
	sign := 0
	for i := range v {
		a, b, c := v[i], v[(i+1)%len(v)], v[(i+2)%len(v)]
		for _, x := range []float64{a.Lat, a.Lng} {
			if math.IsNaN(x) || math.Abs(x) > 1e6 {
				return false
			}
		}
		cross := (b.Lng-a.Lng)*(c.Lat-b.Lat) - (b.Lat-a.Lat)*(c.Lng-b.Lng)
		s := 0
		switch {
		case cross > 1e-9:
			s = 1
		case cross < -1e-9:
			s = -1
		}
		if s == 0 || (sign != 0 && s != sign) {
			return false
		}
		sign = s
	}
	// Four turns the same way can still wind twice; a quadrilateral cannot,
	// but check the diagonals cross to be sure.
	return properlyCross(v[0], v[2], v[1], v[3])
}
