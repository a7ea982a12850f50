package classify

import (
	"strconv"
	"strings"

	"github.com/gridflow/gridflow/pkg/address"
	"github.com/gridflow/gridflow/pkg/geo"
)

// DefaultCellSize is the side of the cells coordinates are compared in.
const DefaultCellSize = 150.0

// PlaceOf finds where a case is. The address is normalised again (the same
// pkg/address intake uses) with the district named by the case's area when
// the text leaves it out, so "共和新路1234号" and "静安区共和新路1234号" agree.
// An address names a place only when it is finer than a road: a lane, a
// house number, a named compound, a shop or a junction; "共和新路" alone is
// kilometres long and groups nothing.
func PlaceOf(c *Case, districtName string, cellSize float64) Place {
	var p Place
	if raw := strings.TrimSpace(c.Address); raw != "" {
		a := address.Normalise(raw)
		if districtName != "" {
			a = a.WithDistrict(districtName)
		}
		p = placeOfAddress(a)
	} else if c.AddressKey != "" {
		p = placeOfKey(c.AddressKey)
	}
	if c.Location != nil {
		i, j := geo.CellKey(c.Location.Lat, c.Location.Lng, cellSize)
		if (geo.Cell{I: i, J: j}) != geo.InvalidCell {
			pt := *c.Location
			p.Point, p.Cell = &pt, &Cell{I: i, J: j}
		}
	}
	return p
}

func placeOfAddress(a address.Address) Place {
	key := a.Key()
	if key == "" {
		return Place{}
	}
	precise := a.Lane > 0 || a.HouseNumber() != "" || a.Shop != "" ||
		(a.Road == "" && a.Community != "") || // a named compound
		(a.Road != "" && a.CrossRoad != "") // a junction
	if !precise {
		return Place{}
	}
	return placeOfKey(key)
}

// placeOfKey splits a pkg/address key, district|place|lane|number|shop.
func placeOfKey(key string) Place {
	parts := strings.Split(key, "|")
	if len(parts) != 5 || parts[1] == "" {
		return Place{}
	}
	if parts[2] == "" && parts[3] == "" && parts[4] == "" && !strings.Contains(parts[1], "/") && isRoad(parts[1]) {
		return Place{} // a bare road
	}
	return Place{Key: key, Site: strings.Join(parts[:3], "|"), Number: parts[3], Shop: parts[4]}
}

// isRoad reports whether a key's place part is a road rather than a
// compound; only used for keys given without their raw address.
func isRoad(place string) bool {
	for _, suf := range []string{"路", "街", "道", "巷", "公路", "大道"} {
		if strings.HasSuffix(place, suf) {
			return true
		}
	}
	return false
}

// SamePlace decides whether two places are one. Addresses decide when both
// have one: the same district, road (or compound, or junction) and lane,
// and then
//   - the same house number, with the same shop or a shop on one side only
//     (共和新路1234号 and 共和新路1234号兰州拉面 are one place; 1234号兰州拉面 and
//     1234号沙县小吃 are two);
//   - or no number on one side and the same shop on both
//     (共和新路兰州拉面 and 共和新路1234号兰州拉面).
//
// Otherwise, with coordinates on both sides, the cells must be the same or
// neighbours (~150 m). Two addresses that disagree are two places even when
// their points are close: an address is more precise than a cell.
func SamePlace(a, b Place, cellSize float64) bool {
	if a.Key != "" && b.Key != "" {
		return sameAddress(a, b)
	}
	if a.Point == nil || b.Point == nil || a.Cell == nil || b.Cell == nil {
		return false
	}
	return Neighbours(*a.Cell, *b.Point, cellSize)
}

func sameAddress(a, b Place) bool {
	if a.Site != b.Site {
		return false
	}
	switch {
	case a.Number == b.Number:
		return a.Shop == b.Shop || a.Shop == "" || b.Shop == ""
	case a.Number == "" || b.Number == "":
		return a.Shop != "" && a.Shop == b.Shop
	}
	return false
}

// Neighbours reports whether c is p's cell or one of the eight around it.
func Neighbours(c Cell, p geo.Point, cellSize float64) bool {
	for _, n := range geo.NeighbourKeys(p.Lat, p.Lng, cellSize) {
		if n.I == c.I && n.J == c.J {
			return true
		}
	}
	return false
}

// NeighbourCells lists p's cell and the eight around it.
func NeighbourCells(p geo.Point, cellSize float64) []Cell {
	ns := geo.NeighbourKeys(p.Lat, p.Lng, cellSize)
	out := make([]Cell, 0, len(ns))
	for _, n := range ns {
		if n != geo.InvalidCell {
			out = append(out, Cell{I: n.I, J: n.J})
		}
	}
	return out
}

// merge refines an incident's place with a new report's: the parts the
// incident lacks (a shop, coordinates, an address) are taken from it.
func (p Place) merge(q Place) Place {
	if p.Key == "" && q.Key != "" {
		p.Key, p.Site, p.Number, p.Shop = q.Key, q.Site, q.Number, q.Shop
	} else if p.Key != "" && q.Key != "" && p.Site == q.Site {
		if p.Shop == "" && q.Shop != "" && (p.Number == q.Number || p.Number == "") {
			p.Shop = q.Shop
			p.Number = q.Number
			p.Key = p.Site + "|" + p.Number + "|" + p.Shop
		}
	}
	if p.Point == nil && q.Point != nil {
		p.Point, p.Cell = q.Point, q.Cell
	}
	return p
}

// String renders a place for people and logs.
func (p Place) String() string {
	var parts []string
	if p.Key != "" {
		parts = append(parts, p.Key)
	}
	if p.Point != nil {
		parts = append(parts, strconv.FormatFloat(p.Point.Lat, 'f', 6, 64)+","+strconv.FormatFloat(p.Point.Lng, 'f', 6, 64))
	}
	return strings.Join(parts, " @ ")
}
