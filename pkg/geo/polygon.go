package geo

import (
	"errors"
	"fmt"
	"math"
	"sort"
)

// Point is a WGS-84 position in degrees.
type Point struct {
	// Stored inside services' JSON bodies (classify's cases and places):
	// the keys are a contract.
	Lat float64 `json:"Lat"`
	Lng float64 `json:"Lng"`
}

// Polygon is an area such as a grid: an outer ring and optional holes. A
// ring's last vertex joins its first; repeating the first vertex at the end
// (as GeoJSON does) is allowed and changes nothing. Orientation does not
// matter. Geometry is planar in (lng, lat), exact enough for areas a few
// kilometres across that do not cross the antimeridian.
type Polygon struct {
	Outer []Point
	Holes [][]Point
}

// Contains reports whether (lat, lng) lies in the polygon and in none of its
// holes, by counting crossings of a ray running east from the point.
//
// Boundary points follow a half-open rule, like pixels: a point on an edge
// belongs to the polygon whose interior lies east of it, or north of it for
// an east–west edge. So where two polygons share an edge, as neighbouring
// grids do, every point of the edge belongs to exactly one of them, and a
// point is never claimed by two grids or by none. Each edge's crossing is
// computed from its lower end whichever way the ring runs, so two polygons
// sharing an edge compute bit-identical crossings for it.
//
// NaN coordinates contain nothing, and neither do polygons of fewer than
// three vertices or with a vertex that is not a finite number (Validate
// rejects both).
func (p Polygon) Contains(lat, lng float64) bool {
	if math.IsNaN(lat) || math.IsNaN(lng) || len(p.Outer) < 3 {
		return false
	}
	in, ok := oddCrossings(p.Outer, lat, lng)
	for _, h := range p.Holes {
		if len(h) < 3 {
			continue
		}
		odd, hok := oddCrossings(h, lat, lng)
		in, ok = in != odd, ok && hok
	}
	return in && ok
}

// oddCrossings reports whether a ray east from (lat, lng) crosses ring an odd
// number of times, and whether every vertex was finite.
func oddCrossings(ring []Point, lat, lng float64) (odd, ok bool) {
	for _, v := range ring {
		if math.IsNaN(v.Lat) || math.IsNaN(v.Lng) || math.IsInf(v.Lat, 0) || math.IsInf(v.Lng, 0) {
			return false, false
		}
	}
	for i := range ring {
		a, b := ring[i], ring[(i+1)%len(ring)]
		if a.Lat > b.Lat {
			a, b = b, a
		}
		// a.Lat <= lat < b.Lat: each vertex counts for the edge above it only,
		// and east–west edges never count.
		if !(a.Lat <= lat && lat < b.Lat) {
			continue
		}
		x := a.Lng + (lat-a.Lat)*(b.Lng-a.Lng)/(b.Lat-a.Lat)
		if lng < x {
			odd = !odd
		}
	}
	return odd, true
}

// BBox is a latitude/longitude rectangle, edges included.
type BBox struct {
	MinLat, MinLng, MaxLat, MaxLng float64
}

// emptyBBox contains nothing and grows to fit the first point added.
var emptyBBox = BBox{MinLat: math.Inf(1), MinLng: math.Inf(1), MaxLat: math.Inf(-1), MaxLng: math.Inf(-1)}

// BBox is the bounding box of the outer ring; an empty ring gives a box
// that contains and intersects nothing.
func (p Polygon) BBox() BBox {
	b := emptyBBox
	for _, v := range p.Outer {
		b.MinLat, b.MaxLat = math.Min(b.MinLat, v.Lat), math.Max(b.MaxLat, v.Lat)
		b.MinLng, b.MaxLng = math.Min(b.MinLng, v.Lng), math.Max(b.MaxLng, v.Lng)
	}
	return b
}

// Empty reports whether the box contains no point.
func (b BBox) Empty() bool { return !(b.MinLat <= b.MaxLat && b.MinLng <= b.MaxLng) }

// Contains reports whether (lat, lng) is in the box, edges included.
func (b BBox) Contains(lat, lng float64) bool {
	return b.MinLat <= lat && lat <= b.MaxLat && b.MinLng <= lng && lng <= b.MaxLng
}

// Intersects reports whether the boxes share a point, touching included.
func (b BBox) Intersects(o BBox) bool {
	return !b.Empty() && !o.Empty() &&
		b.MinLat <= o.MaxLat && o.MinLat <= b.MaxLat && b.MinLng <= o.MaxLng && o.MinLng <= b.MaxLng
}

// tolerance is how close, in degrees, two positions must be to count as one
// (about 0.1 mm): grids digitised from the same survey share vertices up to
// rounding, and such rounding must not make neighbours overlap.
const tolerance = 1e-9

// probeOffset bounds how far off an edge Intersects looks for a shared
// interior, in degrees (about 0.1 m).
const probeOffset = 1e-6

// Intersects reports whether the interiors of a and b overlap, which is what
// makes two grids ambiguous. Polygons that merely touch, along a shared edge
// or at a vertex, do not intersect: that is how neighbouring grids tile a
// street. Overlap is found either as two edges crossing properly, or (when
// the boundaries only touch or coincide) as a point just inside one polygon
// next to its boundary that is inside the other, which also covers one
// polygon containing the other and identical polygons. Overlaps narrower than
// about probeOffset (0.1 m), where boundaries were digitised a hair apart,
// may go unreported.
func Intersects(a, b Polygon) bool {
	ra, rb := a.rings(), b.rings()
	if len(ra) == 0 || len(rb) == 0 || !a.BBox().Intersects(b.BBox()) {
		return false
	}
	for _, x := range ra {
		for i := range x {
			p1, p2 := x[i], x[(i+1)%len(x)]
			for _, y := range rb {
				for j := range y {
					if properlyCross(p1, p2, y[j], y[(j+1)%len(y)]) {
						return true
					}
				}
			}
		}
	}
	return interiorProbe(a, ra, b, rb) || interiorProbe(b, rb, a, ra)
}

// interiorProbe looks for a point of p's interior, just off p's boundary,
// inside q. Each edge of p is cut at the vertices of q lying on it; with no
// proper crossings, every piece then lies wholly inside q, wholly outside or
// along q's boundary, so one probe beside each piece's midpoint decides it.
// Where the interiors overlap, some piece borders the overlap: either the
// piece is inside q, or it runs along q's boundary with both interiors on the
// same side.
func interiorProbe(p Polygon, rp [][]Point, q Polygon, rq [][]Point) bool {
	var cuts []float64
	for _, ring := range rp {
		for i := range ring {
			u, v := ring[i], ring[(i+1)%len(ring)]
			length := math.Hypot(v.Lng-u.Lng, v.Lat-u.Lat)
			cuts = append(cuts[:0], 0, 1)
			for _, r := range rq {
				for _, w := range r {
					if t, ok := onSegment(u, v, w, length); ok {
						cuts = append(cuts, t)
					}
				}
			}
			sort.Float64s(cuts)
			// The unit normal to the edge; which side is inside is asked of p.
			nLat, nLng := (v.Lng-u.Lng)/length, -(v.Lat-u.Lat)/length
			for k := 0; k+1 < len(cuts); k++ {
				piece := (cuts[k+1] - cuts[k]) * length
				if piece <= tolerance {
					continue
				}
				t := (cuts[k] + cuts[k+1]) / 2
				mLat, mLng := u.Lat+t*(v.Lat-u.Lat), u.Lng+t*(v.Lng-u.Lng)
				d := math.Min(probeOffset, piece/4)
				for _, s := range [2]float64{d, -d} {
					lat, lng := mLat+s*nLat, mLng+s*nLng
					if p.Contains(lat, lng) {
						if q.Contains(lat, lng) {
							return true
						}
						break
					}
				}
			}
		}
	}
	return false
}

// onSegment reports whether w lies on segment uv strictly between its ends,
// and where (0 < t < 1).
func onSegment(u, v, w Point, length float64) (float64, bool) {
	if orientation(u, v, w) != 0 {
		return 0, false
	}
	t := ((w.Lng-u.Lng)*(v.Lng-u.Lng) + (w.Lat-u.Lat)*(v.Lat-u.Lat)) / (length * length)
	end := tolerance / length
	return t, t > end && t < 1-end
}

// orientation is the side of line ab that c lies on: 1 left, -1 right, 0 on
// the line (within tolerance).
func orientation(a, b, c Point) int {
	cross := (b.Lng-a.Lng)*(c.Lat-a.Lat) - (b.Lat-a.Lat)*(c.Lng-a.Lng)
	// cross is |ab| times c's distance from the line.
	limit := tolerance * math.Hypot(b.Lng-a.Lng, b.Lat-a.Lat)
	switch {
	case cross > limit:
		return 1
	case cross < -limit:
		return -1
	}
	return 0
}

// properlyCross reports whether segments p1p2 and q1q2 cross at a point
// inside both; touching, an end on the other segment, and collinear overlap
// are not proper crossings.
func properlyCross(p1, p2, q1, q2 Point) bool {
	return orientation(p1, p2, q1)*orientation(p1, p2, q2) < 0 &&
		orientation(q1, q2, p1)*orientation(q1, q2, p2) < 0
}

// rings returns the outer ring and the holes without repeated consecutive
// vertices (including the closing one), dropping rings left with fewer than
// three; nil if the outer ring is such.
func (p Polygon) rings() [][]Point {
	outer := dedupe(p.Outer)
	if len(outer) < 3 {
		return nil
	}
	rs := [][]Point{outer}
	for _, h := range p.Holes {
		if h := dedupe(h); len(h) >= 3 {
			rs = append(rs, h)
		}
	}
	return rs
}

func dedupe(ring []Point) []Point {
	out := make([]Point, 0, len(ring))
	for _, v := range ring {
		if len(out) == 0 || !samePoint(out[len(out)-1], v) {
			out = append(out, v)
		}
	}
	for len(out) > 1 && samePoint(out[0], out[len(out)-1]) {
		out = out[:len(out)-1]
	}
	return out
}

func samePoint(a, b Point) bool {
	return math.Abs(a.Lat-b.Lat) <= tolerance && math.Abs(a.Lng-b.Lng) <= tolerance
}

// ErrInvalidPolygon is what every error from Polygon.Validate matches. The
// errors below it say what is wrong; each also matches ErrInvalidPolygon, and
// an invalid coordinate matches ErrInvalidCoordinate.
var ErrInvalidPolygon = errors.New("invalid polygon")

var (
	// ErrTooFewVertices: a ring has fewer than three distinct vertices.
	ErrTooFewVertices = fmt.Errorf("%w: too few distinct vertices", ErrInvalidPolygon)
	// ErrSelfIntersecting: a ring is not simple (two of its edges cross or
	// touch other than where neighbouring edges share a vertex), or an edge
	// of a hole crosses another ring.
	ErrSelfIntersecting = fmt.Errorf("%w: edges cross or touch", ErrInvalidPolygon)
	// ErrNoArea: a ring encloses no area (its vertices are collinear, up to
	// tolerance).
	ErrNoArea = fmt.Errorf("%w: encloses no area", ErrInvalidPolygon)
)

// Validate checks what Contains and Intersects rely on: every vertex a valid
// coordinate, rings of at least three distinct vertices, every ring simple
// (its edges meet only where one edge ends and the next begins, so a ring
// that crosses itself, touches itself or doubles back is rejected), no hole
// crossing another ring, and every ring enclosing some area. Repeated
// consecutive vertices, including a closing one, count once. Problems are
// reported in that order, so a bow tie, whose halves cancel to no area, is
// reported as crossing itself.
func (p Polygon) Validate() error {
	rs := make([][]Point, 0, 1+len(p.Holes))
	for r, ring := range append([][]Point{p.Outer}, p.Holes...) {
		for k, v := range ring {
			if err := Valid(v.Lat, v.Lng); err != nil {
				return fmt.Errorf("%w: ring %d vertex %d: %w", ErrInvalidPolygon, r, k, err)
			}
		}
		d := dedupe(ring)
		if len(d) < 3 {
			return fmt.Errorf("%w: ring %d has %d, need 3", ErrTooFewVertices, r, len(d))
		}
		rs = append(rs, d)
	}
	for x, r := range rs {
		for i := range r {
			p1, p2 := r[i], r[(i+1)%len(r)]
			for y := x; y < len(rs); y++ {
				for j := range rs[y] {
					q1, q2 := rs[y][j], rs[y][(j+1)%len(rs[y])]
					var bad bool
					switch {
					case y != x:
						bad = properlyCross(p1, p2, q1, q2)
					case j <= i || j == i+1 || (i == 0 && j == len(r)-1):
						// Each pair once; neighbouring edges share a vertex.
						// (A ring doubling back makes some non-neighbouring
						// edges touch, or, as a triangle, has no area.)
						continue
					default:
						bad = touch(p1, p2, q1, q2)
					}
					if bad {
						return fmt.Errorf("%w: edge %d of ring %d meets edge %d of ring %d", ErrSelfIntersecting, i, x, j, y)
					}
				}
			}
		}
	}
	for r, ring := range rs {
		if math.Abs(area(ring)) <= tolerance*tolerance {
			return fmt.Errorf("%w: ring %d", ErrNoArea, r)
		}
	}
	return nil
}

// touch reports whether segments p1p2 and q1q2 share a point (within
// tolerance): they cross, share an end, or an end of one lies on the other.
func touch(p1, p2, q1, q2 Point) bool {
	if properlyCross(p1, p2, q1, q2) ||
		samePoint(p1, q1) || samePoint(p1, q2) || samePoint(p2, q1) || samePoint(p2, q2) {
		return true
	}
	on := func(u, v, w Point) bool {
		_, ok := onSegment(u, v, w, math.Hypot(v.Lng-u.Lng, v.Lat-u.Lat))
		return ok
	}
	return on(p1, p2, q1) || on(p1, p2, q2) || on(q1, q2, p1) || on(q1, q2, p2)
}

// area is the ring's signed area in square degrees (shoelace formula).
func area(ring []Point) float64 {
	s := 0.0
	for i := range ring {
		a, b := ring[i], ring[(i+1)%len(ring)]
		s += a.Lng*b.Lat - b.Lng*a.Lat
	}
	return s / 2
}
