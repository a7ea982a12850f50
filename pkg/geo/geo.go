// Package geo holds the small amount of geodesy gridflow needs: converting
// the GCJ-02 coordinates Chinese map apps send into the WGS-84 coordinates
// gridflow stores, checking coordinates, measuring distances, testing points
// against grid polygons, checking that grids do not overlap, and bucketing
// points into cells of a given size to find what lies near a point.
//
// Coordinates are degrees, latitude first, as float64. Polygons are small (a
// grid is a few hundred metres across) and never cross the antimeridian or a
// pole, so planar geometry on latitude/longitude is exact enough for them.
package geo

import (
	"errors"
	"fmt"
	"math"
)

// Datum names the coordinate system a point is given in.
type Datum int

// The datums. The zero value is no datum: a point whose datum is not known
// cannot be stored.
const (
	DatumUnspecified Datum = iota
	WGS84                  // GPS, international maps; what gridflow stores
	GCJ02                  // the obfuscated datum mandated for maps published in China (高德, 腾讯, Apple Maps in China)
)

func (d Datum) String() string {
	switch d {
	case DatumUnspecified:
		return "unspecified"
	case WGS84:
		return "WGS84"
	case GCJ02:
		return "GCJ02"
	}
	return fmt.Sprintf("Datum(%d)", int(d))
}

// ErrInvalidCoordinate is what every coordinate error matches with errors.Is.
var ErrInvalidCoordinate = errors.New("invalid coordinate")

// CoordinateError reports which coordinate is invalid, so that an API layer
// can name the field.
type CoordinateError struct {
	Field  string // "lat", "lng" or "datum"
	Value  float64
	Reason string
}

func (e *CoordinateError) Error() string {
	return fmt.Sprintf("invalid coordinate: %s %v: %s", e.Field, e.Value, e.Reason)
}

// Is makes every CoordinateError match ErrInvalidCoordinate.
func (e *CoordinateError) Is(target error) bool { return target == ErrInvalidCoordinate }

// Valid reports whether (lat, lng) is a point on the Earth: both finite,
// latitude within ±90 and longitude within ±180.
func Valid(lat, lng float64) error {
	switch {
	case math.IsNaN(lat) || math.IsInf(lat, 0):
		return &CoordinateError{Field: "lat", Value: lat, Reason: "not a finite number"}
	case lat < -90 || lat > 90:
		return &CoordinateError{Field: "lat", Value: lat, Reason: "outside [-90, 90]"}
	case math.IsNaN(lng) || math.IsInf(lng, 0):
		return &CoordinateError{Field: "lng", Value: lng, Reason: "not a finite number"}
	case lng < -180 || lng > 180:
		return &CoordinateError{Field: "lng", Value: lng, Reason: "outside [-180, 180]"}
	}
	return nil
}

// ToWGS84 validates a point given in datum d and returns it in WGS-84, the
// datum gridflow stores.
func ToWGS84(lat, lng float64, d Datum) (float64, float64, error) {
	if err := Valid(lat, lng); err != nil {
		return 0, 0, err
	}
	switch d {
	case WGS84:
		return lat, lng, nil
	case GCJ02:
		wlat, wlng := GCJ02ToWGS84(lat, lng)
		return wlat, wlng, nil
	}
	return 0, 0, &CoordinateError{Field: "datum", Value: float64(d), Reason: "unknown datum " + d.String()}
}

// earthRadius is the mean Earth radius (IUGG) in metres. A sphere is within
// 0.5 % of the ellipsoid everywhere, far better than any use here needs.
const earthRadius = 6371008.8

// metresPerDegree is the length of one degree of latitude on that sphere.
const metresPerDegree = earthRadius * math.Pi / 180

// Haversine is the great-circle distance in metres between two points.
// Invalid coordinates give NaN, never a panic.
func Haversine(lat1, lng1, lat2, lng2 float64) float64 {
	φ1, φ2 := rad(lat1), rad(lat2)
	dφ, dλ := rad(lat2-lat1), rad(lng2-lng1)
	h := sq(math.Sin(dφ/2)) + math.Cos(φ1)*math.Cos(φ2)*sq(math.Sin(dλ/2))
	// Rounding can push h a hair past 1 for antipodal points; asin(>1) is NaN.
	return 2 * earthRadius * math.Asin(math.Sqrt(math.Min(1, h)))
}

func rad(deg float64) float64 { return deg * math.Pi / 180 }
func sq(x float64) float64    { return x * x }
