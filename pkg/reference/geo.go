package reference

import "math"

// Grid polygons cover a few hundred metres, so geometry here is planar in
// degrees (x = longitude, y = latitude): the distortion over a grid is far
// below the precision of the polygons themselves.

// LatLng is a WGS-84 point.
type LatLng struct {
	Lat, Lng float64
}

type box struct{ minLat, minLng, maxLat, maxLng float64 }

func boxOf(ring []LatLng) box {
	b := box{math.Inf(1), math.Inf(1), math.Inf(-1), math.Inf(-1)}
	for _, p := range ring {
		b.minLat, b.maxLat = min(b.minLat, p.Lat), max(b.maxLat, p.Lat)
		b.minLng, b.maxLng = min(b.minLng, p.Lng), max(b.maxLng, p.Lng)
	}
	return b
}

func (b box) contains(p LatLng) bool {
	return p.Lat >= b.minLat && p.Lat <= b.maxLat && p.Lng >= b.minLng && p.Lng <= b.maxLng
}

// overlaps is true when the boxes share more than a boundary.
func (b box) overlaps(o box) bool {
	return b.minLat < o.maxLat-eps && o.minLat < b.maxLat-eps && b.minLng < o.maxLng-eps && o.minLng < b.maxLng-eps
}

// eps is about 0.1 mm in degrees: points closer than that to an edge are on
// it. Neighbouring grids share edges copied from one survey, so shared
// vertices are equal or within rounding of each other.
const eps = 1e-9

func cross(o, a, b LatLng) float64 {
	return (a.Lng-o.Lng)*(b.Lat-o.Lat) - (a.Lat-o.Lat)*(b.Lng-o.Lng)
}

func sign(v float64) int {
	switch {
	case v > eps*eps:
		return 1
	case v < -eps*eps:
		return -1
	}
	return 0
}

// properCross is true when segments ab and cd cross at a point interior to
// both (touching or collinear overlap does not count).
func properCross(a, b, c, d LatLng) bool {
	return sign(cross(a, b, c))*sign(cross(a, b, d)) < 0 && sign(cross(c, d, a))*sign(cross(c, d, b)) < 0
}

// onSegment is true when p lies on segment ab (within eps).
func onSegment(p, a, b LatLng) bool {
	if sign(cross(a, b, p)) != 0 {
		return false
	}
	return p.Lng >= min(a.Lng, b.Lng)-eps && p.Lng <= max(a.Lng, b.Lng)+eps &&
		p.Lat >= min(a.Lat, b.Lat)-eps && p.Lat <= max(a.Lat, b.Lat)+eps
}

// segmentsTouch is true when ab and cd share any point.
func segmentsTouch(a, b, c, d LatLng) bool {
	return properCross(a, b, c, d) || onSegment(c, a, b) || onSegment(d, a, b) || onSegment(a, c, d) || onSegment(b, c, d)
}

// inRing is the even-odd ray test. Points on the boundary get a consistent
// but arbitrary answer, which is what GridAt needs: a point on a shared edge
// lands in exactly one of the neighbours.
func inRing(p LatLng, ring []LatLng) bool {
	in := false
	for i, j := 0, len(ring)-1; i < len(ring); j, i = i, i+1 {
		a, b := ring[i], ring[j]
		if (a.Lat > p.Lat) != (b.Lat > p.Lat) &&
			p.Lng < (b.Lng-a.Lng)*(p.Lat-a.Lat)/(b.Lat-a.Lat)+a.Lng {
			in = !in
		}
	}
	return in
}

func onBoundary(p LatLng, ring []LatLng) bool {
	for i, j := 0, len(ring)-1; i < len(ring); j, i = i, i+1 {
		if onSegment(p, ring[j], ring[i]) {
			return true
		}
	}
	return false
}

func strictlyInside(p LatLng, ring []LatLng) bool {
	return !onBoundary(p, ring) && inRing(p, ring)
}

// signedArea is positive for counter-clockwise rings (in lng/lat axes).
func signedArea(ring []LatLng) float64 {
	var a float64
	for i, j := 0, len(ring)-1; i < len(ring); j, i = i, i+1 {
		a += ring[j].Lng*ring[i].Lat - ring[i].Lng*ring[j].Lat
	}
	return a / 2
}

// simple reports whether the ring is a simple polygon: no two non-adjacent
// edges touch and adjacent edges meet only at their shared vertex.
func simple(ring []LatLng) bool {
	n := len(ring)
	for i := 0; i < n; i++ {
		a, b := ring[i], ring[(i+1)%n]
		for j := i + 1; j < n; j++ {
			c, d := ring[j], ring[(j+1)%n]
			adjacent := j == i+1 || (i == 0 && j == n-1)
			if !adjacent {
				if segmentsTouch(a, b, c, d) {
					return false
				}
				continue
			}
			// Adjacent edges share one vertex; folding back onto each
			// other (collinear overlap) is not simple.
			if j == i+1 && sign(cross(a, b, d)) == 0 && onSegment(d, a, b) {
				return false
			}
			if i == 0 && j == n-1 && sign(cross(c, d, b)) == 0 && onSegment(b, c, d) {
				return false
			}
		}
	}
	return true
}

// interiorPoints returns points strictly inside the ring: the centroid when
// it is inside (always, for the convex grids of practice) and midpoints of
// short diagonals otherwise.
func interiorPoints(ring []LatLng) []LatLng {
	var pts []LatLng
	a := signedArea(ring)
	if a != 0 {
		var cx, cy float64
		for i, j := 0, len(ring)-1; i < len(ring); j, i = i, i+1 {
			f := ring[j].Lng*ring[i].Lat - ring[i].Lng*ring[j].Lat
			cx += (ring[j].Lng + ring[i].Lng) * f
			cy += (ring[j].Lat + ring[i].Lat) * f
		}
		c := LatLng{Lat: cy / (6 * a), Lng: cx / (6 * a)}
		if strictlyInside(c, ring) {
			pts = append(pts, c)
		}
	}
	n := len(ring)
	for i := 0; i < n && len(pts) < 3; i++ {
		m := LatLng{Lat: (ring[i].Lat + ring[(i+2)%n].Lat) / 2, Lng: (ring[i].Lng + ring[(i+2)%n].Lng) / 2}
		if strictlyInside(m, ring) {
			pts = append(pts, m)
		}
	}
	return pts
}

// ringsOverlap reports whether two simple polygons share interior. Sharing
// edges or vertices (neighbouring grids) is not overlap. Interiors intersect
// iff edges cross properly, or a vertex, an edge midpoint or an interior
// point of one lies strictly inside the other; the last two catch identical
// polygons and polygons nested along a shared edge, where no edge crosses.
func ringsOverlap(a, b []LatLng) bool {
	for i := range a {
		for j := range b {
			if properCross(a[i], a[(i+1)%len(a)], b[j], b[(j+1)%len(b)]) {
				return true
			}
		}
	}
	return probeInside(a, b) || probeInside(b, a)
}

func probeInside(a, b []LatLng) bool {
	for i, p := range a {
		q := a[(i+1)%len(a)]
		mid := LatLng{Lat: (p.Lat + q.Lat) / 2, Lng: (p.Lng + q.Lng) / 2}
		if strictlyInside(p, b) || strictlyInside(mid, b) {
			return true
		}
	}
	for _, p := range interiorPoints(a) {
		if strictlyInside(p, b) {
			return true
		}
	}
	return false
}
