package geo

import (
	"errors"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// jingan is a point in 静安区, Shanghai (WGS-84), near 共和新路.
var jingan = Point{Lat: 31.2645, Lng: 121.4485}

func TestWGS84ToGCJ02KnownPairs(t *testing.T) {
	t.Parallel()
	// Published test vectors of other implementations of the same transform
	// (googollee/eviltransform, wandergis/coordtransform). They use slightly
	// different ellipsoid radii, which moves the result by under 1e-7°.
	tests := []struct {
		name                   string
		wgsLat, wgsLng         float64
		wantGCJLat, wantGCJLng float64
	}{
		{"shanghai", 31.1774276, 121.5272106, 31.17530398364597, 121.531541859215},
		{"shenzhen", 22.543847, 113.912316, 22.540796131694766, 113.9171764808363},
		{"beijing", 39.911954, 116.377817, 39.91334545536069, 116.38404722455657},
		{"tiananmen", 39.915, 116.404, 39.91640428150164, 116.41024449916938},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			lat, lng := WGS84ToGCJ02(tt.wgsLat, tt.wgsLng)
			if math.Abs(lat-tt.wantGCJLat) > 1e-6 || math.Abs(lng-tt.wantGCJLng) > 1e-6 {
				t.Errorf("WGS84ToGCJ02(%v, %v) = %v, %v; want %v, %v", tt.wgsLat, tt.wgsLng, lat, lng, tt.wantGCJLat, tt.wantGCJLng)
			}
			wlat, wlng := GCJ02ToWGS84(tt.wantGCJLat, tt.wantGCJLng)
			if d := Haversine(wlat, wlng, tt.wgsLat, tt.wgsLng); d > 0.5 {
				t.Errorf("GCJ02ToWGS84 of the published GCJ-02 point is %.3f m from the WGS-84 one", d)
			}
		})
	}
}

func TestGCJ02RoundTrip(t *testing.T) {
	t.Parallel()
	points := []Point{
		jingan,
		{31.2304, 121.4737}, // 人民广场
		{31.2397, 121.4998}, // 外滩
		{39.9042, 116.4074}, // Beijing
		{22.5431, 114.0579}, // Shenzhen
		{45.8038, 126.5350}, // Harbin
		{18.2528, 109.5119}, // Sanya
		{43.8256, 87.6168},  // Urumqi
		{29.6520, 91.1721},  // Lhasa
		{55.8, 137.8},       // inside the rectangle's far corner
		{0.83, 72.01},       // and its other corner
	}
	for _, p := range points {
		gLat, gLng := WGS84ToGCJ02(p.Lat, p.Lng)
		if off := Haversine(p.Lat, p.Lng, gLat, gLng); off < 1 || off > 1000 {
			t.Errorf("offset at %v is %.1f m; the GCJ-02 offset is tens to hundreds of metres", p, off)
		}
		wLat, wLng := GCJ02ToWGS84(gLat, gLng)
		if d := Haversine(p.Lat, p.Lng, wLat, wLng); d > 0.01 {
			t.Errorf("round trip of %v is off by %.4f m", p, d)
		}
	}
}

// TestGCJ02RoundTripSweep runs the round trip over a lattice covering China.
func TestGCJ02RoundTripSweep(t *testing.T) {
	t.Parallel()
	worst := 0.0
	for lat := 18.0; lat <= 54; lat += 0.37 {
		for lng := 73.0; lng <= 135; lng += 0.53 {
			gLat, gLng := WGS84ToGCJ02(lat, lng)
			wLat, wLng := GCJ02ToWGS84(gLat, gLng)
			worst = math.Max(worst, Haversine(lat, lng, wLat, wLng))
		}
	}
	if worst > 0.01 {
		t.Errorf("worst round-trip error %.4f m, want under 0.01 m", worst)
	}
}

func TestOutOfChina(t *testing.T) {
	t.Parallel()
	for _, p := range []Point{{51.5074, -0.1278}, {40.7128, -74.0060}, {-33.8688, 151.2093}, {0, 0}, {56, 120}} {
		if !OutOfChina(p.Lat, p.Lng) {
			t.Errorf("OutOfChina(%v) = false", p)
		}
		if lat, lng := WGS84ToGCJ02(p.Lat, p.Lng); lat != p.Lat || lng != p.Lng {
			t.Errorf("WGS84ToGCJ02(%v) moved a point outside China", p)
		}
		if lat, lng := GCJ02ToWGS84(p.Lat, p.Lng); lat != p.Lat || lng != p.Lng {
			t.Errorf("GCJ02ToWGS84(%v) moved a point outside China", p)
		}
	}
	if OutOfChina(jingan.Lat, jingan.Lng) {
		t.Errorf("OutOfChina(%v) = true for Shanghai", jingan)
	}
}

func TestValid(t *testing.T) {
	t.Parallel()
	tests := []struct {
		lat, lng  float64
		wantField string
	}{
		{31.2645, 121.4485, ""},
		{90, 180, ""},
		{-90, -180, ""},
		{90.0001, 0, "lat"},
		{-91, 0, "lat"},
		{math.NaN(), 0, "lat"},
		{math.Inf(1), 0, "lat"},
		{0, 180.5, "lng"},
		{0, math.NaN(), "lng"},
		{0, math.Inf(-1), "lng"},
	}
	for _, tt := range tests {
		err := Valid(tt.lat, tt.lng)
		var ce *CoordinateError
		switch {
		case tt.wantField == "" && err != nil:
			t.Errorf("Valid(%v, %v) = %v, want nil", tt.lat, tt.lng, err)
		case tt.wantField != "" && (!errors.Is(err, ErrInvalidCoordinate) || !errors.As(err, &ce) || ce.Field != tt.wantField):
			t.Errorf("Valid(%v, %v) = %v, want a CoordinateError on %s", tt.lat, tt.lng, err, tt.wantField)
		}
	}
}

func TestToWGS84(t *testing.T) {
	t.Parallel()
	gLat, gLng := WGS84ToGCJ02(jingan.Lat, jingan.Lng)
	lat, lng, err := ToWGS84(gLat, gLng, GCJ02)
	if err != nil || Haversine(lat, lng, jingan.Lat, jingan.Lng) > 0.5 {
		t.Errorf("ToWGS84(GCJ02) = %v, %v, %v", lat, lng, err)
	}
	if lat, lng, err := ToWGS84(jingan.Lat, jingan.Lng, WGS84); err != nil || lat != jingan.Lat || lng != jingan.Lng {
		t.Errorf("ToWGS84(WGS84) = %v, %v, %v", lat, lng, err)
	}
	for _, d := range []Datum{DatumUnspecified, Datum(7)} {
		var ce *CoordinateError
		if _, _, err := ToWGS84(jingan.Lat, jingan.Lng, d); !errors.As(err, &ce) || ce.Field != "datum" {
			t.Errorf("ToWGS84(%v) error = %v, want a datum error", d, err)
		}
	}
	if _, _, err := ToWGS84(math.NaN(), 0, GCJ02); !errors.Is(err, ErrInvalidCoordinate) {
		t.Errorf("ToWGS84(NaN) error = %v", err)
	}
}

func TestHaversine(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		a, b      Point
		want, tol float64
	}{
		{"same point", jingan, jingan, 0, 0},
		{"one degree of latitude", Point{31, 121}, Point{32, 121}, 111195, 1},
		{"one degree of longitude at 31°N", Point{31, 121}, Point{31, 122}, 111195 * math.Cos(31*math.Pi/180), 1},
		// 人民广场 to 外滩, against the flat-Earth estimate, which is within a
		// few centimetres at this scale.
		{"People's Square to the Bund", Point{31.2304, 121.4737}, Point{31.2397, 121.4998},
			math.Hypot(0.0093*111195, 0.0261*111195*math.Cos(31.23505*math.Pi/180)), 0.5},
		{"antipodes", Point{0, 0}, Point{0, 180}, math.Pi * earthRadius, 1},
	}
	for _, tt := range tests {
		if got := Haversine(tt.a.Lat, tt.a.Lng, tt.b.Lat, tt.b.Lng); math.Abs(got-tt.want) > tt.tol {
			t.Errorf("%s: Haversine = %.1f m, want %.1f ± %.1f", tt.name, got, tt.want, tt.tol)
		}
	}
	if d := Haversine(math.NaN(), 0, 0, 0); !math.IsNaN(d) {
		t.Errorf("Haversine(NaN) = %v, want NaN", d)
	}
}

func TestDatumString(t *testing.T) {
	t.Parallel()
	got := []string{DatumUnspecified.String(), WGS84.String(), GCJ02.String(), Datum(9).String()}
	want := []string{"unspecified", "WGS84", "GCJ02", "Datum(9)"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Datum.String mismatch (-want +got):\n%s", diff)
	}
}

func TestCellKeyAndNeighbours(t *testing.T) {
	t.Parallel()
	const size = 150.0
	i, j := CellKey(jingan.Lat, jingan.Lng, size)
	ns := NeighbourKeys(jingan.Lat, jingan.Lng, size)
	if ns[4] != (Cell{i, j}) {
		t.Errorf("NeighbourKeys centre = %v, want the point's own cell %v", ns[4], Cell{i, j})
	}
	seen := map[Cell]bool{}
	for _, c := range ns {
		seen[c] = true
	}
	if len(seen) != 9 {
		t.Errorf("NeighbourKeys gave %d distinct cells, want 9: %v", len(seen), ns)
	}
	// A point 100 m north is in the same or the next row; 1 km away is not a
	// neighbour.
	if i2, _ := CellKey(jingan.Lat+100/metresPerDegree, jingan.Lng, size); i2 != i && i2 != i+1 {
		t.Errorf("100 m north is row %d, from %d", i2, i)
	}
	fi, fj := CellKey(jingan.Lat+1000/metresPerDegree, jingan.Lng, size)
	if seen[Cell{fi, fj}] {
		t.Errorf("a point 1 km away is among the neighbours")
	}
}

// TestNeighbourKeysComplete: every point within the cell size of a point is
// in one of its nine neighbour cells, at every latitude gridflow could meet.
func TestNeighbourKeysComplete(t *testing.T) {
	t.Parallel()
	rng := rand.New(rand.NewPCG(31, 121))
	for n := 0; n < 20000; n++ {
		size := []float64{50, 150, 500}[n%3]
		lat := rng.Float64()*160 - 80
		lng := rng.Float64()*358 - 179
		// A point at distance size·f, f ≤ 1, in a random direction.
		bearing := rng.Float64() * 2 * math.Pi
		f := math.Sqrt(rng.Float64())
		if n%10 == 0 {
			f = 1 // exactly on the circle
		}
		lat2, lng2 := destination(lat, lng, bearing, size*f)
		if d := Haversine(lat, lng, lat2, lng2); d > size {
			continue // destination's own rounding
		}
		i, j := CellKey(lat2, lng2, size)
		found := false
		for _, c := range NeighbourKeys(lat, lng, size) {
			found = found || c == (Cell{i, j})
		}
		if !found {
			t.Fatalf("point %v,%v at %.2f m from %v,%v (size %v) is in cell %v, not among %v",
				lat2, lng2, Haversine(lat, lng, lat2, lng2), lat, lng, size, Cell{i, j}, NeighbourKeys(lat, lng, size))
		}
	}
}

// destination is the point d metres from (lat, lng) on the given bearing.
func destination(lat, lng, bearing, d float64) (float64, float64) {
	φ1, λ1, δ := rad(lat), rad(lng), d/earthRadius
	φ2 := math.Asin(math.Sin(φ1)*math.Cos(δ) + math.Cos(φ1)*math.Sin(δ)*math.Cos(bearing))
	λ2 := λ1 + math.Atan2(math.Sin(bearing)*math.Sin(δ)*math.Cos(φ1), math.Cos(δ)-math.Sin(φ1)*math.Sin(φ2))
	return φ2 * 180 / math.Pi, λ2 * 180 / math.Pi
}

func TestCellKeyInvalid(t *testing.T) {
	t.Parallel()
	for _, in := range [][3]float64{
		{math.NaN(), 0, 150}, {0, math.NaN(), 150}, {91, 0, 150}, {0, 0, 0}, {0, 0, -5},
		{0, 0, math.NaN()}, {0, 0, math.Inf(1)}, {0, 0, MinCellSize / 2},
	} {
		if i, j := CellKey(in[0], in[1], in[2]); (Cell{i, j}) != InvalidCell {
			t.Errorf("CellKey(%v) = %d, %d, want InvalidCell", in, i, j)
		}
		if ns := NeighbourKeys(in[0], in[1], in[2]); ns[0] != InvalidCell || ns[8] != InvalidCell {
			t.Errorf("NeighbourKeys(%v) = %v, want InvalidCells", in, ns)
		}
	}
	// The poles and the smallest size are valid and finite.
	for _, in := range [][3]float64{{90, 180, 150}, {-90, -180, 150}, {89.99, 10, MinCellSize}, {0, 0, 1e9}} {
		if i, j := CellKey(in[0], in[1], in[2]); (Cell{i, j}) == InvalidCell {
			t.Errorf("CellKey(%v) = InvalidCell", in)
		}
	}
}

func BenchmarkGCJ02ToWGS84(b *testing.B) {
	gLat, gLng := WGS84ToGCJ02(jingan.Lat, jingan.Lng)
	var sink float64
	for b.Loop() {
		lat, lng := GCJ02ToWGS84(gLat, gLng)
		sink += lat + lng
	}
	_ = sink
}

func BenchmarkWGS84ToGCJ02(b *testing.B) {
	var sink float64
	for b.Loop() {
		lat, lng := WGS84ToGCJ02(jingan.Lat, jingan.Lng)
		sink += lat + lng
	}
	_ = sink
}

func BenchmarkHaversine(b *testing.B) {
	var sink float64
	for b.Loop() {
		sink += Haversine(31.2304, 121.4737, 31.2397, 121.4998)
	}
	_ = sink
}

func BenchmarkNeighbourKeys(b *testing.B) {
	var sink [9]Cell
	for b.Loop() {
		sink = NeighbourKeys(jingan.Lat, jingan.Lng, 150)
	}
	_ = sink
}
