package geo

import "math"

// GCJ-02 is WGS-84 plus a smooth, deliberately irregular offset of a few
// hundred metres, applied to points inside China. The forward transform below
// is the published reverse-engineered one (identical to the official output
// to well under a metre); there is no closed-form inverse, so GCJ02ToWGS84
// inverts it numerically.

// The offset is computed on the Krasovsky 1940 ellipsoid.
const (
	krasovskyA  = 6378245.0
	krasovskyE2 = 0.00669342162296594323
)

// OutOfChina reports whether the GCJ-02 offset does not apply at (lat, lng):
// the point lies outside the rectangle 72.004–137.8347°E, 0.8293–55.8271°N
// that every implementation of the transform uses. The rectangle is coarse
// (it holds parts of neighbouring countries, and map providers leave Hong
// Kong, Macao and Taiwan unshifted), but it is what the map apps themselves
// apply, so matching it is what makes the round trip exact.
func OutOfChina(lat, lng float64) bool {
	return !(lng >= 72.004 && lng <= 137.8347 && lat >= 0.8293 && lat <= 55.8271)
}

// WGS84ToGCJ02 applies the GCJ-02 offset. Outside China (and for NaN input)
// the point is returned unchanged.
func WGS84ToGCJ02(lat, lng float64) (float64, float64) {
	if OutOfChina(lat, lng) {
		return lat, lng
	}
	dLat, dLng := gcjOffset(lat, lng)
	return lat + dLat, lng + dLng
}

// gcjMaxIterations bounds the inversion. The offset's slope is below 1/100
// (degrees of offset per degree), so each step shrinks the error at least a
// hundredfold and three or four steps take the initial error of a few
// hundred metres below the tolerance; the bound only guards against a point
// that hops across the edge of the China rectangle.
const gcjMaxIterations = 10

// gcjTolerance is the inversion's stopping error in degrees, about 1 mm.
const gcjTolerance = 1e-8

// GCJ02ToWGS84 removes the GCJ-02 offset by fixed-point iteration: guess w,
// shift w by however far WGS84ToGCJ02(w) misses the given point, repeat. The
// result maps back to the input within gcjTolerance (about 1 mm), far inside
// the 0.5 m gridflow needs. Outside China (and for NaN input) the point is
// returned unchanged.
func GCJ02ToWGS84(lat, lng float64) (float64, float64) {
	if OutOfChina(lat, lng) {
		return lat, lng
	}
	wLat, wLng := lat, lng
	for range gcjMaxIterations {
		gLat, gLng := WGS84ToGCJ02(wLat, wLng)
		eLat, eLng := gLat-lat, gLng-lng
		wLat -= eLat
		wLng -= eLng
		if math.Abs(eLat) < gcjTolerance && math.Abs(eLng) < gcjTolerance {
			break
		}
	}
	return wLat, wLng
}

// gcjOffset is the GCJ-02 offset in degrees at a WGS-84 point.
func gcjOffset(lat, lng float64) (dLat, dLng float64) {
	x, y := lng-105, lat-35
	dLat = gcjLat(x, y)
	dLng = gcjLng(x, y)
	radLat := rad(lat)
	magic := math.Sin(radLat)
	magic = 1 - krasovskyE2*magic*magic
	sqrtMagic := math.Sqrt(magic)
	dLat = (dLat * 180) / ((krasovskyA * (1 - krasovskyE2)) / (magic * sqrtMagic) * math.Pi)
	dLng = (dLng * 180) / (krasovskyA / sqrtMagic * math.Cos(radLat) * math.Pi)
	return dLat, dLng
}

func gcjLat(x, y float64) float64 {
	r := -100 + 2*x + 3*y + 0.2*y*y + 0.1*x*y + 0.2*math.Sqrt(math.Abs(x))
	r += (20*math.Sin(6*x*math.Pi) + 20*math.Sin(2*x*math.Pi)) * 2 / 3
	r += (20*math.Sin(y*math.Pi) + 40*math.Sin(y/3*math.Pi)) * 2 / 3
	r += (160*math.Sin(y/12*math.Pi) + 320*math.Sin(y*math.Pi/30)) * 2 / 3
	return r
}

func gcjLng(x, y float64) float64 {
	r := 300 + x + 2*y + 0.1*x*x + 0.1*x*y + 0.1*math.Sqrt(math.Abs(x))
	r += (20*math.Sin(6*x*math.Pi) + 20*math.Sin(2*x*math.Pi)) * 2 / 3
	r += (20*math.Sin(x*math.Pi) + 40*math.Sin(x/3*math.Pi)) * 2 / 3
	r += (150*math.Sin(x/12*math.Pi) + 300*math.Sin(x/30*math.Pi)) * 2 / 3
	return r
}
