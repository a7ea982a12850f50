package geo

import (
	"errors"
	"fmt"
	"math"
	"testing"
)

// square is the axis-aligned square with south-west corner (lat, lng) and
// side d degrees, counter-clockwise.
func square(lat, lng, d float64) []Point {
	return []Point{{lat, lng}, {lat, lng + d}, {lat + d, lng + d}, {lat + d, lng}}
}

// reversed returns ring in the opposite orientation.
func reversed(ring []Point) []Point {
	out := make([]Point, len(ring))
	for i, p := range ring {
		out[len(ring)-1-i] = p
	}
	return out
}

func TestContainsConvex(t *testing.T) {
	t.Parallel()
	// A grid-sized quadrilateral in 静安区.
	grid := Polygon{Outer: []Point{{31.2630, 121.4470}, {31.2632, 121.4500}, {31.2660, 121.4502}, {31.2658, 121.4468}}}
	tests := []struct {
		p    Point
		want bool
	}{
		{jingan, true},
		{Point{31.2645, 121.4465}, false}, // west
		{Point{31.2645, 121.4505}, false}, // east
		{Point{31.2625, 121.4485}, false}, // south
		{Point{31.2665, 121.4485}, false}, // north
		{Point{math.NaN(), 121.4485}, false},
		{Point{31.2645, math.Inf(1)}, false},
	}
	for _, tt := range tests {
		for _, ring := range [][]Point{grid.Outer, reversed(grid.Outer), append(grid.Outer, grid.Outer[0])} {
			if got := (Polygon{Outer: ring}).Contains(tt.p.Lat, tt.p.Lng); got != tt.want {
				t.Errorf("Contains(%v) = %v, want %v (ring %v)", tt.p, got, tt.want, ring)
			}
		}
	}
}

func TestContainsConcave(t *testing.T) {
	t.Parallel()
	// A U shape: the notch between the arms is outside.
	u := Polygon{Outer: []Point{{0, 0}, {0, 3}, {3, 3}, {3, 2}, {1, 2}, {1, 1}, {3, 1}, {3, 0}}}
	tests := []struct {
		p    Point
		want bool
	}{
		{Point{0.5, 0.5}, true},  // base
		{Point{2, 0.5}, true},    // lower arm
		{Point{2, 2.5}, true},    // upper arm
		{Point{2, 1.5}, false},   // the notch
		{Point{0.5, 1.5}, true},  // base, level with the notch
		{Point{3.5, 1.5}, false}, // outside, the ray crosses nothing
		{Point{-1, 1.5}, false},  // outside, the ray crosses four edges
	}
	for _, tt := range tests {
		if got := u.Contains(tt.p.Lat, tt.p.Lng); got != tt.want {
			t.Errorf("Contains(%v) = %v, want %v", tt.p, got, tt.want)
		}
	}
}

func TestContainsHoles(t *testing.T) {
	t.Parallel()
	p := Polygon{Outer: square(0, 0, 10), Holes: [][]Point{square(2, 2, 2), reversed(square(6, 6, 2))}}
	tests := []struct {
		p    Point
		want bool
	}{
		{Point{1, 1}, true},
		{Point{3, 3}, false},
		{Point{7, 7}, false},
		{Point{5, 5}, true},
		{Point{11, 5}, false},
	}
	for _, tt := range tests {
		if got := p.Contains(tt.p.Lat, tt.p.Lng); got != tt.want {
			t.Errorf("Contains(%v) = %v, want %v", tt.p, got, tt.want)
		}
	}
	// Degenerate holes are ignored.
	p.Holes = append(p.Holes, []Point{{1, 1}, {1, 2}})
	if !p.Contains(1, 1.5) {
		t.Error("a two-vertex hole removed area")
	}
}

// TestContainsBoundary pins the documented half-open rule: the west and
// south edges of a square are inside, the east and north edges outside.
func TestContainsBoundary(t *testing.T) {
	t.Parallel()
	sq := Polygon{Outer: square(0, 0, 1)}
	tests := []struct {
		name string
		p    Point
		want bool
	}{
		{"south-west corner", Point{0, 0}, true},
		{"west edge", Point{0.5, 0}, true},
		{"south edge", Point{0, 0.5}, true},
		{"east edge", Point{0.5, 1}, false},
		{"north edge", Point{1, 0.5}, false},
		{"north-east corner", Point{1, 1}, false},
		{"south-east corner", Point{0, 1}, false},
		{"north-west corner", Point{1, 0}, false},
	}
	for _, tt := range tests {
		for _, ring := range [][]Point{sq.Outer, reversed(sq.Outer)} {
			if got := (Polygon{Outer: ring}).Contains(tt.p.Lat, tt.p.Lng); got != tt.want {
				t.Errorf("%s %v: Contains = %v, want %v", tt.name, tt.p, got, tt.want)
			}
		}
	}
}

// TestContainsPartition: on a tiling, every point — boundaries and shared
// vertices included — is in exactly one tile, whatever the rings'
// orientation, even where the shared edges are slanted.
func TestContainsPartition(t *testing.T) {
	t.Parallel()
	// Four quadrilaterals around an off-centre, slanted inner vertex.
	c := Point{31.26473, 121.44861}
	nw, n, ne := Point{31.2660, 121.4470}, Point{31.2661, 121.4488}, Point{31.2662, 121.4503}
	w, e := Point{31.2646, 121.4469}, Point{31.2644, 121.4504}
	sw, s, se := Point{31.2630, 121.4471}, Point{31.2629, 121.4490}, Point{31.2631, 121.4502}
	tiles := []Polygon{
		{Outer: []Point{w, c, n, nw}},
		{Outer: reversed([]Point{c, e, ne, n})},
		{Outer: []Point{sw, s, c, w}},
		{Outer: reversed([]Point{s, se, e, c})},
	}
	var probes []Point
	// Vertices, points along every shared edge, and a lattice.
	probes = append(probes, c, n, s, e, w)
	for k := 0; k <= 16; k++ {
		f := float64(k) / 16
		for _, end := range []Point{n, s, e, w} {
			probes = append(probes, Point{c.Lat + f*(end.Lat-c.Lat), c.Lng + f*(end.Lng-c.Lng)})
		}
	}
	for lat := 31.2632; lat < 31.2659; lat += 0.00011 {
		for lng := 121.4472; lng < 121.4501; lng += 0.00013 {
			probes = append(probes, Point{lat, lng})
		}
	}
	for _, p := range probes {
		inside := 0
		for _, tile := range tiles {
			if tile.Contains(p.Lat, p.Lng) {
				inside++
			}
		}
		onOuterBoundary := p == n || p == s || p == e || p == w
		if inside != 1 && !(onOuterBoundary && inside == 0) {
			t.Errorf("%v is in %d tiles, want exactly 1", p, inside)
		}
	}
}

func TestBBox(t *testing.T) {
	t.Parallel()
	b := Polygon{Outer: []Point{{1, 2}, {3, -1}, {2, 5}}}.BBox()
	if b != (BBox{MinLat: 1, MinLng: -1, MaxLat: 3, MaxLng: 5}) {
		t.Errorf("BBox = %+v", b)
	}
	if !b.Contains(3, 5) || b.Contains(3.1, 5) || !b.Contains(2, 0) {
		t.Error("BBox.Contains is wrong at or near the edges")
	}
	touching := BBox{MinLat: 3, MinLng: 5, MaxLat: 4, MaxLng: 6}
	apart := BBox{MinLat: 3.1, MinLng: 5, MaxLat: 4, MaxLng: 6}
	if !b.Intersects(touching) || b.Intersects(apart) {
		t.Error("BBox.Intersects is wrong for touching or separate boxes")
	}
	empty := Polygon{}.BBox()
	if !empty.Empty() || empty.Contains(0, 0) || empty.Intersects(b) || b.Intersects(empty) {
		t.Error("the empty box contains or intersects something")
	}
}

func TestIntersects(t *testing.T) {
	t.Parallel()
	base := Polygon{Outer: square(0, 0, 2)}
	tests := []struct {
		name string
		b    Polygon
		want bool
	}{
		{"far apart", Polygon{Outer: square(5, 5, 1)}, false},
		{"bounding boxes overlap, shapes do not", Polygon{Outer: []Point{{2.5, 1.5}, {2.5, 3}, {1.9, 3}}}, false},
		{"sharing an edge", Polygon{Outer: square(0, 2, 2)}, false},
		{"sharing part of an edge", Polygon{Outer: square(1, 2, 2)}, false},
		{"sharing a vertex", Polygon{Outer: square(2, 2, 1)}, false},
		{"touching at a vertex on an edge", Polygon{Outer: []Point{{1, 2}, {0, 3}, {2, 3}}}, false},
		{"edges crossing", Polygon{Outer: square(1, 1, 2)}, true},
		{"identical", Polygon{Outer: square(0, 0, 2)}, true},
		{"identical, reversed and closed", Polygon{Outer: append(reversed(square(0, 0, 2)), Point{0, 2})}, true},
		{"inside", Polygon{Outer: square(0.5, 0.5, 1)}, true},
		{"containing", Polygon{Outer: square(-1, -1, 4)}, true},
		{"inside, sharing an edge", Polygon{Outer: square(0, 0, 1)}, true},
		{"overlapping along a shared line without crossing", Polygon{Outer: square(0, 1, 2)}, true},
		{"rounding on a shared edge", Polygon{Outer: square(0, 2+1e-12, 2)}, false},
		{"in a hole", Polygon{Outer: square(0.5, 0.5, 1)}, false},
		{"degenerate", Polygon{Outer: []Point{{0, 0}, {1, 1}}}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			a := base
			if tt.name == "in a hole" {
				a = Polygon{Outer: square(-1, -1, 4), Holes: [][]Point{square(0.5, 0.5, 1)}}
			}
			if got := Intersects(a, tt.b); got != tt.want {
				t.Errorf("Intersects(a, b) = %v, want %v", got, tt.want)
			}
			if got := Intersects(tt.b, a); got != tt.want {
				t.Errorf("Intersects(b, a) = %v, want %v", got, tt.want)
			}
		})
	}
}

// TestIntersectsTiling: the tiles of a partition do not intersect one
// another, and a tile shifted by 10 m intersects its neighbours.
func TestIntersectsTiling(t *testing.T) {
	t.Parallel()
	const d = 0.0015 // about 150 m
	var tiles []Polygon
	for r := range 3 {
		for c := range 3 {
			tiles = append(tiles, Polygon{Outer: square(31.26+float64(r)*d, 121.44+float64(c)*d, d)})
		}
	}
	for i := range tiles {
		for j := range tiles {
			if i != j && Intersects(tiles[i], tiles[j]) {
				t.Errorf("tiles %d and %d of a partition intersect", i, j)
			}
		}
	}
	shifted := Polygon{Outer: square(31.26+d+0.0001, 121.44+d, d)}
	if !Intersects(shifted, tiles[4]) || !Intersects(shifted, tiles[7]) {
		t.Error("a tile shifted 10 m north does not intersect the tiles it overlaps")
	}
}

func TestValidate(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		p    Polygon
		want error // nil: valid
	}{
		{"square", Polygon{Outer: square(31, 121, 0.001)}, nil},
		{"closed ring", Polygon{Outer: append(square(31, 121, 0.001), Point{31, 121})}, nil},
		{"repeated consecutive vertex", Polygon{Outer: []Point{{0, 0}, {0, 1}, {0, 1}, {1, 1}, {1, 0}}}, nil},
		{"straight-through vertex", Polygon{Outer: []Point{{0, 0}, {0, 1}, {0, 2}, {1, 2}, {1, 0}}}, nil},
		{"concave", Polygon{Outer: []Point{{0, 0}, {0, 3}, {3, 3}, {3, 2}, {1, 2}, {1, 1}, {3, 1}, {3, 0}}}, nil},
		{"with a hole", Polygon{Outer: square(0, 0, 10), Holes: [][]Point{square(2, 2, 2)}}, nil},
		{"grid-sized, vertices a hair from an edge", Polygon{Outer: []Point{{31.2630, 121.4470}, {31.2630, 121.4500}, {31.2660, 121.4500}, {31.2645, 121.44700001}, {31.2660, 121.4470}}}, nil},
		{"two vertices", Polygon{Outer: []Point{{0, 0}, {1, 1}}}, ErrTooFewVertices},
		{"repeated vertices", Polygon{Outer: []Point{{0, 0}, {0, 0}, {1, 1}, {1, 1}}}, ErrTooFewVertices},
		{"hole of two vertices", Polygon{Outer: square(0, 0, 10), Holes: [][]Point{{{2, 2}, {3, 3}, {2, 2}}}}, ErrTooFewVertices},
		{"collinear", Polygon{Outer: []Point{{0, 0}, {1, 1}, {2, 2}}}, ErrNoArea},
		{"bow tie", Polygon{Outer: []Point{{0, 0}, {1, 1}, {1, 0}, {0, 1}}}, ErrSelfIntersecting},
		{"vertex touching an edge", Polygon{Outer: []Point{{0, 0}, {0, 4}, {2, 4}, {0, 2}, {2, 0}}}, ErrSelfIntersecting},
		{"vertex within tolerance of an edge", Polygon{Outer: []Point{{0, 0}, {0, 4}, {2, 4}, {1e-10, 2}, {2, 0}}}, ErrSelfIntersecting},
		{"figure eight through a shared vertex", Polygon{Outer: []Point{{1, 1}, {0, 0}, {0, 2}, {1, 1}, {2, 2}, {2, 0}}}, ErrSelfIntersecting},
		{"spike doubling back", Polygon{Outer: []Point{{0, 0}, {0, 3}, {0, 2}, {2, 2}, {2, 0}}}, ErrSelfIntersecting},
		{"spike doubling back past its start", Polygon{Outer: []Point{{0, 1}, {0, 3}, {0, 0}, {2, 0}, {2, 1}}}, ErrSelfIntersecting},
		{"edges overlapping along a line", Polygon{Outer: []Point{{0, 0}, {0, 4}, {2, 4}, {2, 3}, {0, 3}, {0, 1}, {2, 1}, {2, 0}}}, ErrSelfIntersecting},
		{"hole crossing the outer ring", Polygon{Outer: square(0, 0, 10), Holes: [][]Point{square(8, 8, 4)}}, ErrSelfIntersecting},
		{"hole crossing itself", Polygon{Outer: square(0, 0, 10), Holes: [][]Point{{{2, 2}, {3, 3}, {3, 2}, {2, 3}}}}, ErrSelfIntersecting},
		{"latitude out of range", Polygon{Outer: []Point{{0, 0}, {95, 0}, {0, 1}}}, ErrInvalidCoordinate},
		{"NaN", Polygon{Outer: []Point{{0, 0}, {math.NaN(), 0}, {0, 1}}}, ErrInvalidCoordinate},
		{"empty", Polygon{}, ErrTooFewVertices},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			for _, p := range []Polygon{tt.p, {Outer: reversed(tt.p.Outer), Holes: tt.p.Holes}} {
				err := p.Validate()
				switch {
				case tt.want == nil && err != nil:
					t.Errorf("Validate(%v) = %v, want nil", p.Outer, err)
				case tt.want != nil && (!errors.Is(err, tt.want) || !errors.Is(err, ErrInvalidPolygon)):
					t.Errorf("Validate(%v) = %v, want %v", p.Outer, err, tt.want)
				}
			}
		})
	}
}

func ExamplePolygon_Contains() {
	grid := Polygon{Outer: []Point{{31.2630, 121.4470}, {31.2632, 121.4500}, {31.2660, 121.4502}, {31.2658, 121.4468}}}
	fmt.Println(grid.Contains(31.2645, 121.4485), grid.Contains(31.2700, 121.4485))
	// Output: true false
}

func BenchmarkContains(b *testing.B) {
	var ring []Point
	for k := range 64 { // a 64-gon, a detailed grid boundary
		a := 2 * math.Pi * float64(k) / 64
		ring = append(ring, Point{31.2645 + 0.001*math.Sin(a), 121.4485 + 0.0012*math.Cos(a)})
	}
	p := Polygon{Outer: ring}
	for b.Loop() {
		_ = p.Contains(31.2646, 121.4486)
	}
}
