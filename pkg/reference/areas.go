package reference

import (
	"errors"
	"fmt"
	"math"
	"regexp"
	"slices"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/gridflow/gridflow/pkg/geo"
)

// Level is an area's place in the national hierarchy. Codes nest: a street's
// code starts with its district's, a community's with its street's, a grid's
// with its community's.
type Level uint8

// Area levels and their code lengths: district 6 digits, street 9, community
// 12, grid 15 (community + 3).
const (
	LevelDistrict Level = iota + 1
	LevelStreet
	LevelCommunity
	LevelGrid
)

// String names the level.
func (l Level) String() string {
	switch l {
	case LevelDistrict:
		return "district"
	case LevelStreet:
		return "street"
	case LevelCommunity:
		return "community"
	case LevelGrid:
		return "grid"
	}
	return "unknown"
}

// codeLen is the length of a code at each level.
var codeLen = [...]int{LevelDistrict: 6, LevelStreet: 9, LevelCommunity: 12, LevelGrid: 15}

var digits = regexp.MustCompile(`^[0-9]+$`)

// LevelOf returns the level a code's format denotes, 0 when it is none.
func LevelOf(code string) Level {
	if !digits.MatchString(code) {
		return 0
	}
	for l := LevelDistrict; l <= LevelGrid; l++ {
		if len(code) == codeLen[l] {
			return l
		}
	}
	return 0
}

// Unknown is the code of an area not (yet) known, in events and subjects.
const Unknown = "0"

// AreaCodes place a case: its district, street, community and grid codes
// (national formats: 6, 9 and 12 digits, grid = community + 3). A level not
// known is Unknown ("0") in events and subjects; a service may hold it as ""
// until it publishes. Every service stores these tags, so they are the stored
// shape; rows written before the tags (Go field names, "District") read back
// because encoding/json matches keys case-insensitively.
type AreaCodes struct {
	District  string `json:"district,omitempty"`
	Street    string `json:"street,omitempty"`
	Community string `json:"community,omitempty"`
	Grid      string `json:"grid,omitempty"`
}

// OrUnknown returns a with every empty level set to Unknown.
func (a AreaCodes) OrUnknown() AreaCodes {
	for _, c := range []*string{&a.District, &a.Street, &a.Community, &a.Grid} {
		if *c == "" {
			*c = Unknown
		}
	}
	return a
}

// Area is a district, street, community or grid. District, Street and
// Community hold the codes of the area's ancestors (and of itself at its own
// level); those below its level are empty.
type Area struct {
	Code      string
	Name      string
	Level     Level
	Parent    string // "" for a district
	District  string
	Street    string
	Community string
}

// Grid is the smallest management area, with its boundary: one simple ring in
// WGS-84 (the outer ring of a geo.Polygon), not repeated at the end. Holes are
// not supported.
type Grid struct {
	Area
	Polygon []geo.Point
}

// Parity selects house numbers on one side of a road.
type Parity string

// Parities of a number range.
const (
	AllNumbers Parity = "all"
	Odd        Parity = "odd"
	Even       Parity = "even"
)

// AddressMatch is where an address lies.
type AddressMatch struct {
	District, Street, Community string
	Grid                        string // "" when the entry maps to a community only
	// Frontage is true when a lane (弄) had no entry of its own and was
	// placed by the road-frontage entry covering the lane's number: the lane
	// opens onto the road at that house number.
	Frontage bool
}

type areasFile struct {
	Districts   []rawDistrict  `yaml:"districts"`
	Streets     []rawStreet    `yaml:"streets"`
	Communities []rawCommunity `yaml:"communities"`
	Grids       []rawGrid      `yaml:"grids"`
	Addresses   []rawAddress   `yaml:"addresses"`
}

type rawDistrict struct {
	Code string `yaml:"code"`
	Name string `yaml:"name"`
	line int
}

type rawStreet struct {
	Code     string `yaml:"code"`
	Name     string `yaml:"name"`
	District string `yaml:"district"`
	line     int
}

type rawCommunity struct {
	Code   string `yaml:"code"`
	Name   string `yaml:"name"`
	Street string `yaml:"street"`
	line   int
}

type rawGrid struct {
	Code      string      `yaml:"code"`
	Name      string      `yaml:"name"`
	Community string      `yaml:"community"`
	Polygon   [][]float64 `yaml:"polygon"`
	line      int
}

type rawAddress struct {
	Road      string      `yaml:"road"`
	Lane      int         `yaml:"lane"`
	Numbers   *rawNumbers `yaml:"numbers"`
	Places    []string    `yaml:"places"`
	Community string      `yaml:"community"`
	Grid      string      `yaml:"grid"`
	line      int
}

type rawNumbers struct {
	From   int    `yaml:"from"`
	To     int    `yaml:"to"`
	Parity Parity `yaml:"parity"`
}

func (f *areasFile) setLines(doc *yaml.Node) {
	l := seqLines(doc, "districts")
	for i := range f.Districts {
		f.Districts[i].line = lineOf(l, i)
	}
	l = seqLines(doc, "streets")
	for i := range f.Streets {
		f.Streets[i].line = lineOf(l, i)
	}
	l = seqLines(doc, "communities")
	for i := range f.Communities {
		f.Communities[i].line = lineOf(l, i)
	}
	l = seqLines(doc, "grids")
	for i := range f.Grids {
		f.Grids[i].line = lineOf(l, i)
	}
	l = seqLines(doc, "addresses")
	for i := range f.Addresses {
		f.Addresses[i].line = lineOf(l, i)
	}
}

type roadLane struct {
	road string
	lane int
}

type addrEntry struct {
	road      string
	lane      int
	from, to  int // 0, 0: every number
	parity    Parity
	community string
	grid      string
	line      int
}

func (e *addrEntry) contains(n int) bool {
	if e.from == 0 && e.to == 0 {
		return true
	}
	if n < e.from || n > e.to {
		return false
	}
	switch e.parity {
	case Odd:
		return n%2 == 1
	case Even:
		return n%2 == 0
	}
	return true
}

func (e *addrEntry) String() string {
	s := e.road
	if e.lane > 0 {
		s += fmt.Sprintf("%d弄", e.lane)
	}
	if e.from != 0 || e.to != 0 {
		s += fmt.Sprintf(" %d-%d号", e.from, e.to)
		if e.parity != AllNumbers && e.parity != "" {
			s += " " + string(e.parity)
		}
	}
	return s
}

type areaIndex struct {
	areaByCode map[string]Area
	byLevel    [LevelGrid + 1][]Area
	grids      []indexedGrid
	gridByCode map[string]int
	addrs      []*addrEntry
	addrIndex  map[roadLane][]*addrEntry
	places     map[string]*addrEntry
}

type indexedGrid struct {
	Grid
	poly geo.Polygon // Outer is Grid.Polygon
	box  geo.BBox
	line int
	ok   bool // the polygon is valid; invalid ones are never matched
}

func (s *Set) buildAreas(c *checker) {
	s.areaByCode = map[string]Area{}
	s.gridByCode = map[string]int{}
	s.addrIndex = map[roadLane][]*addrEntry{}
	s.places = map[string]*addrEntry{}
	f := &s.raw.areas
	add := func(a Area) {
		if _, dup := s.areaByCode[a.Code]; dup || LevelOf(a.Code) != a.Level {
			return
		}
		// Ancestors come from the code itself; Validate makes sure the
		// declared parent agrees with it.
		a.District = a.Code[:6]
		if a.Level >= LevelStreet {
			a.Street = a.Code[:9]
		}
		if a.Level >= LevelCommunity {
			a.Community = a.Code[:12]
		}
		s.areaByCode[a.Code] = a
		s.byLevel[a.Level] = append(s.byLevel[a.Level], a)
	}
	for _, r := range f.Districts {
		add(Area{Code: r.Code, Name: r.Name, Level: LevelDistrict})
	}
	for _, r := range f.Streets {
		add(Area{Code: r.Code, Name: r.Name, Level: LevelStreet, Parent: r.District})
	}
	for _, r := range f.Communities {
		add(Area{Code: r.Code, Name: r.Name, Level: LevelCommunity, Parent: r.Street})
	}
	for _, r := range f.Grids {
		a := Area{Code: r.Code, Name: r.Name, Level: LevelGrid, Parent: r.Community}
		if _, dup := s.gridByCode[r.Code]; dup || LevelOf(r.Code) != LevelGrid {
			continue
		}
		add(a)
		g := indexedGrid{Grid: Grid{Area: s.areaByCode[r.Code]}, line: r.line}
		var err error
		g.Polygon, err = ringOf(r.Polygon)
		if g.ok = err == nil; g.ok {
			g.poly = geo.Polygon{Outer: g.Polygon}
			g.box = g.poly.BBox()
		}
		s.gridByCode[r.Code] = len(s.grids)
		s.grids = append(s.grids, g)
	}
	for _, r := range f.Addresses {
		e := &addrEntry{road: strings.TrimSpace(r.Road), lane: r.Lane, parity: AllNumbers,
			community: r.Community, grid: r.Grid, line: r.line}
		if r.Numbers != nil {
			e.from, e.to = r.Numbers.From, r.Numbers.To
			if r.Numbers.Parity != "" {
				e.parity = r.Numbers.Parity
			}
		}
		s.addrs = append(s.addrs, e)
		k := roadLane{e.road, e.lane}
		s.addrIndex[k] = append(s.addrIndex[k], e)
		for _, p := range r.Places {
			if _, dup := s.places[p]; !dup {
				s.places[p] = e
			}
		}
	}
}

// ringOf converts [lat, lng] pairs to a ring, dropping a closing point equal
// to the first, and checks it with geo.Polygon.Validate: the error is nil
// when the ring is a valid simple polygon.
func ringOf(pairs [][]float64) ([]geo.Point, error) {
	ring := make([]geo.Point, 0, len(pairs))
	for i, p := range pairs {
		if len(p) != 2 {
			return nil, fmt.Errorf("point %d: want [lat, lng]", i+1)
		}
		ring = append(ring, geo.Point{Lat: p[0], Lng: p[1]})
	}
	if len(ring) > 1 && ring[0] == ring[len(ring)-1] {
		ring = ring[:len(ring)-1]
	}
	return ring, geo.Polygon{Outer: ring}.Validate()
}

var (
	// Roads are stored canonical, as pkg/address normalises them: no spaces,
	// no digits, the generic suffix kept (共和新路, 南京西路, 汾西路).
	roadSuffixes = []string{"路", "街", "道", "巷", "弄", "里", "坊", "村"}
	roadBad      = regexp.MustCompile(`[\s0-9０-９号]`)
)

func (s *Set) checkAreas(c *checker) {
	if c.broken[FileAreas] {
		return
	}
	f := &s.raw.areas
	if len(f.Districts) == 0 {
		c.add(FileAreas, 0, "", "no districts")
	}
	seen := map[string]bool{}
	names := map[string]string{} // parent + name → code
	check := func(line int, kind, code, name, parent string, level Level) {
		entry := kind + " " + code
		if LevelOf(code) != level {
			c.add(FileAreas, line, entry, "code must be %d digits", codeLen[level])
		} else if seen[code] {
			c.add(FileAreas, line, entry, "duplicate code")
		}
		seen[code] = true
		if strings.TrimSpace(name) == "" {
			c.add(FileAreas, line, entry, "no name")
		} else if other, dup := names[parent+"/"+name]; dup && other != code {
			c.add(FileAreas, line, entry, "name %q is already used by %s", name, other)
		} else {
			names[parent+"/"+name] = code
		}
		if level == LevelDistrict {
			return
		}
		parentLevel := level - 1
		switch p, ok := s.areaByCode[parent]; {
		case parent == "":
			c.add(FileAreas, line, entry, "no %s", parentLevel)
		case !ok || p.Level != parentLevel:
			c.add(FileAreas, line, entry, "unknown %s %q", parentLevel, parent)
		case !strings.HasPrefix(code, parent) && LevelOf(code) == level:
			c.add(FileAreas, line, entry, "code does not start with its %s's code %s", parentLevel, parent)
		}
	}
	for _, r := range f.Districts {
		check(r.line, "district", r.Code, r.Name, "", LevelDistrict)
	}
	for _, r := range f.Streets {
		check(r.line, "street", r.Code, r.Name, r.District, LevelStreet)
	}
	for _, r := range f.Communities {
		check(r.line, "community", r.Code, r.Name, r.Street, LevelCommunity)
	}
	for _, r := range f.Grids {
		check(r.line, "grid", r.Code, r.Name, r.Community, LevelGrid)
		checkPolygon(c, r)
	}
	s.checkOverlaps(c)
	s.checkAddresses(c)
}

func checkPolygon(c *checker, r rawGrid) {
	entry := "grid " + r.Code
	for i, p := range r.Polygon {
		switch {
		case len(p) != 2:
			c.add(FileAreas, r.line, entry, "polygon point %d: want [lat, lng]", i+1)
			return
		case geo.Valid(p[0], p[1]) != nil:
			c.add(FileAreas, r.line, entry, "polygon point %d: [%v, %v] is not a WGS-84 [lat, lng] (swapped?)", i+1, p[0], p[1])
			return
		}
	}
	switch _, err := ringOf(r.Polygon); {
	case err == nil:
	case errors.Is(err, geo.ErrTooFewVertices):
		c.add(FileAreas, r.line, entry, "polygon needs at least 3 distinct points")
	case errors.Is(err, geo.ErrSelfIntersecting):
		c.add(FileAreas, r.line, entry, "polygon crosses itself")
	case errors.Is(err, geo.ErrNoArea):
		c.add(FileAreas, r.line, entry, "polygon has no area")
	default:
		c.add(FileAreas, r.line, entry, "polygon: %v", err)
	}
}

// checkOverlaps sweeps grids by west edge so that only grids whose boxes can
// meet are compared: near-linear for the thousands of grids of a city.
// Overlap is geo.Intersects: interiors overlapping, so neighbours sharing an
// edge or a vertex do not overlap.
func (s *Set) checkOverlaps(c *checker) {
	idx := make([]int, 0, len(s.grids))
	for i, g := range s.grids {
		if g.ok {
			idx = append(idx, i)
		}
	}
	slices.SortFunc(idx, func(a, b int) int {
		return cmpFloat(s.grids[a].box.MinLng, s.grids[b].box.MinLng)
	})
	for x, i := range idx {
		a := &s.grids[i]
		for _, j := range idx[x+1:] {
			b := &s.grids[j]
			// b and every grid after it lie east of a's interior.
			if b.box.MinLng >= a.box.MaxLng {
				break
			}
			if geo.Intersects(a.poly, b.poly) {
				first, second := a, b
				if second.line < first.line {
					first, second = second, first
				}
				c.add(FileAreas, second.line, "grid "+second.Code, "overlaps grid %s", first.Code)
			}
		}
	}
}

func cmpFloat(a, b float64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

func (s *Set) checkAddresses(c *checker) {
	places := map[string]string{}
	for _, r := range s.raw.areas.Addresses {
		entry := "address " + r.Road
		if r.Lane > 0 {
			entry += fmt.Sprintf("%d弄", r.Lane)
		}
		road := strings.TrimSpace(r.Road)
		switch {
		case road == "":
			c.add(FileAreas, r.line, entry, "no road")
		case road != r.Road || roadBad.MatchString(road):
			c.add(FileAreas, r.line, entry, "road must be a canonical road name (no spaces, digits or 号)")
		case !hasAnySuffix(road, roadSuffixes):
			c.add(FileAreas, r.line, entry, "road must keep its suffix (one of %s)", strings.Join(roadSuffixes, " "))
		}
		if r.Lane < 0 {
			c.add(FileAreas, r.line, entry, "lane must be positive (0 or absent: no lane)")
		}
		if n := r.Numbers; n != nil {
			switch {
			case n.From < 1 || n.To < n.From:
				c.add(FileAreas, r.line, entry, "numbers must run from 1 or more up to at least from (got %d-%d)", n.From, n.To)
			case n.Parity != "" && n.Parity != AllNumbers && n.Parity != Odd && n.Parity != Even:
				c.add(FileAreas, r.line, entry, "parity must be odd, even or all")
			case n.Parity == Odd && (n.From%2 == 0 || n.To%2 == 0):
				c.add(FileAreas, r.line, entry, "odd numbers must run from an odd to an odd number")
			case n.Parity == Even && (n.From%2 == 1 || n.To%2 == 1):
				c.add(FileAreas, r.line, entry, "even numbers must run from an even to an even number")
			}
		}
		comm, ok := s.areaByCode[r.Community]
		switch {
		case r.Community == "":
			c.add(FileAreas, r.line, entry, "no community")
		case !ok || comm.Level != LevelCommunity:
			c.add(FileAreas, r.line, entry, "unknown community %q", r.Community)
		}
		if r.Grid != "" {
			g, ok := s.areaByCode[r.Grid]
			switch {
			case !ok || g.Level != LevelGrid:
				c.add(FileAreas, r.line, entry, "unknown grid %q", r.Grid)
			case g.Parent != r.Community:
				c.add(FileAreas, r.line, entry, "grid %s is not in community %s", r.Grid, r.Community)
			}
		}
		for _, p := range r.Places {
			if strings.TrimSpace(p) == "" {
				c.add(FileAreas, r.line, entry, "empty place name")
			} else if other, dup := places[p]; dup {
				c.add(FileAreas, r.line, entry, "place %q is already listed under %s", p, other)
			} else {
				places[p] = entry
			}
		}
	}
	// Entries for one road and lane must not claim the same number, or a
	// lookup's answer would depend on file order.
	for _, es := range s.addrIndex {
		for i, a := range es {
			for _, b := range es[i+1:] {
				if rangesOverlap(a, b) {
					c.add(FileAreas, b.line, "address "+b.String(), "overlaps the entry %s (line %d)", a.String(), a.line)
				}
			}
		}
	}
}

func rangesOverlap(a, b *addrEntry) bool {
	aAll, bAll := a.from == 0 && a.to == 0, b.from == 0 && b.to == 0
	if aAll || bAll {
		return true
	}
	if a.to < b.from || b.to < a.from {
		return false
	}
	return a.parity == AllNumbers || b.parity == AllNumbers || a.parity == b.parity
}

func hasAnySuffix(s string, suffixes []string) bool {
	for _, x := range suffixes {
		if strings.HasSuffix(s, x) {
			return true
		}
	}
	return false
}

// Area looks up a district, street, community or grid by code.
func (s *Set) Area(code string) (Area, bool) {
	a, ok := s.areaByCode[code]
	return a, ok
}

// Areas lists the areas of one level in file order.
func (s *Set) Areas(l Level) []Area {
	if l < LevelDistrict || l > LevelGrid {
		return nil
	}
	return slices.Clone(s.byLevel[l])
}

// Grid looks up a grid with its polygon. The polygon is shared: do not modify
// it.
func (s *Set) Grid(code string) (Grid, bool) {
	i, ok := s.gridByCode[code]
	if !ok {
		return Grid{}, false
	}
	return s.grids[i].Grid, true
}

// GridAt returns the grid containing a WGS-84 point (convert GCJ-02 first). A
// point on an edge shared by two grids lands in exactly one of them, by
// geo.Polygon.Contains's half-open rule: the grid east of the edge, or north
// of it for an east–west edge.
func (s *Set) GridAt(lat, lng float64) (Grid, bool) {
	// A bounding-box test first: most grids are rejected with four
	// comparisons before any edge is looked at.
	for i := range s.grids {
		g := &s.grids[i]
		if g.ok && g.box.Contains(lat, lng) && g.poly.Contains(lat, lng) {
			return g.Grid, true
		}
	}
	return Grid{}, false
}

// LookupAddress places a normalised address (pkg/address: Road canonical with
// its suffix, Lane the 弄 number or 0, Number the 号 or 0 when unknown).
//
// An address in a lane matches the lane's own entries first; a lane without
// entries is placed by the road-frontage entry covering the lane number
// (共和新路1450弄 opens onto 共和新路 at number 1450). Number 0 matches only
// entries that cover every number.
func (s *Set) LookupAddress(road string, lane, number int) (AddressMatch, bool) {
	road = strings.TrimSpace(road)
	if lane > 0 {
		if e := best(s.addrIndex[roadLane{road, lane}], number); e != nil {
			return s.match(e, false), true
		}
		if e := best(s.addrIndex[roadLane{road, 0}], lane); e != nil {
			return s.match(e, true), true
		}
		return AddressMatch{}, false
	}
	if e := best(s.addrIndex[roadLane{road, 0}], number); e != nil {
		return s.match(e, false), true
	}
	return AddressMatch{}, false
}

// LookupPlace places a building or point of interest listed in the address
// index by its exact name.
func (s *Set) LookupPlace(name string) (AddressMatch, bool) {
	e, ok := s.places[strings.TrimSpace(name)]
	if !ok {
		return AddressMatch{}, false
	}
	return s.match(e, false), true
}

// best picks the narrowest entry containing n; validation rules out real
// overlaps, so this only matters for a set that failed to load.
func best(es []*addrEntry, n int) *addrEntry {
	var pick *addrEntry
	for _, e := range es {
		if n == 0 && (e.from != 0 || e.to != 0) {
			continue
		}
		if !e.contains(n) {
			continue
		}
		if pick == nil || width(e) < width(pick) {
			pick = e
		}
	}
	return pick
}

func width(e *addrEntry) int {
	if e.from == 0 && e.to == 0 {
		return math.MaxInt
	}
	return e.to - e.from
}

func (s *Set) match(e *addrEntry, frontage bool) AddressMatch {
	a := s.areaByCode[e.community]
	return AddressMatch{District: a.District, Street: a.Street, Community: e.community, Grid: e.grid, Frontage: frontage}
}

// knownArea reports whether code is a known area (of any level), or cannot be
// checked because areas.yaml is broken.
func (s *Set) knownArea(c *checker, code string) bool {
	if c.broken[FileAreas] {
		return true
	}
	_, ok := s.areaByCode[code]
	return ok
}
