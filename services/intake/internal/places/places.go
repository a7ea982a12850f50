// Package places answers intake's "where is it?" from the reference data:
// it validates area codes, finds the grid containing a point, and resolves a
// free-text address through the normaliser (pkg/address) and the address
// index. It follows the reference set in force, which SIGHUP reloads.
package places

import (
	"fmt"
	"math"
	"sync/atomic"

	"github.com/gridflow/gridflow/pkg/address"
	"github.com/gridflow/gridflow/pkg/fault"
	"github.com/gridflow/gridflow/pkg/geo"
	"github.com/gridflow/gridflow/pkg/reference"
	"github.com/gridflow/gridflow/services/intake/internal/intake"
)

// cityMarginDeg widens the grids' bounding box when deciding whether a point
// is in the city at all: the reference data has grid polygons, not a city
// boundary, and a citizen may stand just past the outermost grid.
const cityMarginDeg = 0.05 // about 5 km

// Places implements intake.Places over the reference set in force. It keeps
// no set of its own: it reads the service's one holder (reference.Live, which
// SIGHUP reloads) and derives its index once per set.
type Places struct {
	current func() *reference.Set
	ix      atomic.Pointer[indexed]
}

type indexed struct {
	set  *reference.Set
	bbox [4]float64 // minLat, minLng, maxLat, maxLng of all grids, widened
}

var (
	_ intake.Places    = (*Places)(nil)
	_ intake.Catalogue = (*Places)(nil)
)

// New reads the set current returns (reference.Live's Current).
func New(current func() *reference.Set) *Places {
	return &Places{current: current}
}

// Load opens the shipped defaults, overridden by dir when it is not empty,
// for a caller without a holder of its own (tests).
func Load(dir string) (*Places, error) {
	ref, err := reference.Open(dir)
	if err != nil {
		return nil, fmt.Errorf("reference data: %w", err)
	}
	return New(ref.Current), nil
}

// load returns the set in force with its index, building the index when the
// set has changed since the last call. Each method loads once, so one call
// works on one whole set even while a reload swaps it.
func (p *Places) load() *indexed {
	set := p.current()
	if ix := p.ix.Load(); ix != nil && ix.set == set {
		return ix
	}
	ix := index(set) // two callers may both build it after a reload; either result is right
	p.ix.Store(ix)
	return ix
}

func index(set *reference.Set) *indexed {
	l := &indexed{set: set, bbox: [4]float64{math.Inf(1), math.Inf(1), math.Inf(-1), math.Inf(-1)}}
	for _, a := range set.Areas(reference.LevelGrid) {
		g, _ := set.Grid(a.Code)
		for _, pt := range g.Polygon {
			l.bbox[0], l.bbox[1] = min(l.bbox[0], pt.Lat), min(l.bbox[1], pt.Lng)
			l.bbox[2], l.bbox[3] = max(l.bbox[2], pt.Lat), max(l.bbox[3], pt.Lng)
		}
	}
	l.bbox[0] -= cityMarginDeg
	l.bbox[1] -= cityMarginDeg
	l.bbox[2] += cityMarginDeg
	l.bbox[3] += cityMarginDeg
	return l
}

var levelDigits = map[reference.Level]int{
	reference.LevelDistrict: 6, reference.LevelStreet: 9, reference.LevelCommunity: 12, reference.LevelGrid: 15,
}

// CheckCodes validates the given codes and returns the area of the most
// precise one with its parents filled in; levels not known are "0".
func (p *Places) CheckCodes(prefix, district, street, community, grid string, v *fault.Violations) intake.Area {
	set := p.load().set
	area := intake.Area{AreaCodes: reference.AreaCodes{}.OrUnknown()}
	given := []struct {
		field, code string
		level       reference.Level
	}{
		{prefix + "district_code", district, reference.LevelDistrict},
		{prefix + "street_code", street, reference.LevelStreet},
		{prefix + "community_code", community, reference.LevelCommunity},
		{prefix + "grid_code", grid, reference.LevelGrid},
	}
	var most *reference.Area
	for _, g := range given {
		if g.code == "" || g.code == reference.Unknown {
			continue
		}
		if !digits(g.code, levelDigits[g.level]) {
			v.Add(g.field, "%q is not a %d-digit %s code", g.code, levelDigits[g.level], g.level)
			continue
		}
		a, ok := set.Area(g.code)
		if !ok || a.Level != g.level {
			v.Add(g.field, "unknown %s code %q", g.level, g.code)
			continue
		}
		if most != nil && !within(a, *most) {
			v.Add(g.field, "%s %s does not lie in %s %s", g.level, g.code, most.Level, most.Code)
			continue
		}
		most = &a
	}
	if most == nil {
		return area
	}
	area.District = most.District
	if most.Level >= reference.LevelStreet {
		area.Street = most.Street
	}
	if most.Level >= reference.LevelCommunity {
		area.Community = most.Community
	}
	if most.Level == reference.LevelGrid {
		area.Grid = most.Code
	}
	area.Resolution = intake.ResolvedByCodes
	return area
}

// within reports whether a lies inside parent.
func within(a, parent reference.Area) bool {
	switch parent.Level {
	case reference.LevelDistrict:
		return a.District == parent.Code
	case reference.LevelStreet:
		return a.Street == parent.Code
	case reference.LevelCommunity:
		return a.Community == parent.Code
	}
	return a.Code == parent.Code
}

func digits(s string, n int) bool {
	if len(s) != n {
		return false
	}
	for _, r := range s {
		if r < '0' || r > '9' {
			return false
		}
	}
	return true
}

// Locate finds the grid containing a WGS-84 point.
func (p *Places) Locate(pt intake.LatLng) (intake.Area, bool) {
	g, ok := p.load().set.GridAt(pt.Lat, pt.Lng)
	if !ok {
		return intake.Area{}, false
	}
	return intake.Area{AreaCodes: reference.AreaCodes{District: g.District, Street: g.Street, Community: g.Community, Grid: g.Code},
		Resolution: intake.ResolvedByCoordinates}, true
}

// InCity reports whether a WGS-84 point lies within the served grids' extent.
func (p *Places) InCity(pt intake.LatLng) bool {
	b := p.load().bbox
	return pt.Lat >= b[0] && pt.Lng >= b[1] && pt.Lat <= b[2] && pt.Lng <= b[3]
}

// ToWGS84 converts GCJ-02 (what Chinese map apps send) to WGS-84.
func (p *Places) ToWGS84(pt intake.LatLng) intake.LatLng {
	if pt.Datum != intake.GCJ02 {
		return intake.LatLng{Lat: pt.Lat, Lng: pt.Lng, Datum: intake.WGS84}
	}
	lat, lng := geo.GCJ02ToWGS84(pt.Lat, pt.Lng)
	return intake.LatLng{Lat: lat, Lng: lng, Datum: intake.WGS84}
}

// NormaliseAddress parses raw and looks it up: first road, lane and number
// in the address index, then a named place (a compound or landmark). The
// normalised key always names a district when one is known (from the text,
// from district, the code resolved so far, or from the match), so that
// "共和新路1234弄5号" and "静安区共和新路1234弄5号" are the same place.
func (p *Places) NormaliseAddress(raw, district string) (address.Record, intake.Area, bool) {
	set := p.load().set
	a := address.Normalise(raw)
	var (
		m  reference.AddressMatch
		ok bool
	)
	if a.Road != "" {
		m, ok = set.LookupAddress(a.Road, a.Lane, a.Number)
	}
	if !ok && a.Community != "" {
		m, ok = set.LookupPlace(a.Community)
	}
	if ok && (district == "" || district == reference.Unknown) {
		district = m.District
	}
	if d, known := set.Area(district); known && a.District == "" {
		a = a.WithDistrict(d.Name)
	}
	out := a.Record()
	out.Raw = raw // as given, not as the parser clipped it
	if !ok {
		return out, intake.Area{}, false
	}
	area := intake.Area{AreaCodes: reference.AreaCodes{District: m.District, Street: m.Street, Community: m.Community, Grid: m.Grid},
		Resolution: intake.ResolvedByAddress}
	if area.Grid == "" {
		area.Grid = reference.Unknown
	}
	return out, area, true
}

// KnownItem reports whether code is an item of either catalogue tree.
func (p *Places) KnownItem(code string) bool {
	_, ok := p.load().set.Item(code)
	return ok
}

// KnownDepartment reports whether code is a department.
func (p *Places) KnownDepartment(code string) bool {
	_, ok := p.load().set.Department(code)
	return ok
}
