package loadgen

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"

	"gopkg.in/yaml.v3"

	"github.com/gridflow/gridflow/pkg/geo"
	"github.com/gridflow/gridflow/pkg/reference"
)

// city is what the simulator needs of the reference data: where people live
// (house numbers on the address index's roads, by street), the grids patrol
// workers walk, the communities secretaries speak for, the urban items a
// worker picks, and the departments that take tasks.
type city struct {
	district    string // the first district's name, written before a road ("上海市静安区")
	places      []place
	grids       []reference.Grid
	communities []reference.Area
	patrolItems []string // urban items, components and events
	departments []reference.Department
	// streetUnits: the street-level departments of each street, for the
	// departments a secretary asks to come (吹哨报到).
	streetUnits map[string][]string
}

// place is a house on a road: a range of numbers of one road in one street.
type place struct {
	district, street string
	road             string
	from, to         int
	parity           reference.Parity
}

// newCity reads what it needs from the reference set in force: the one in
// dir (GRIDFLOW_REFERENCE_DIR, over the defaults) or the defaults.
func newCity(dir string) (*city, error) {
	var (
		set *reference.Set
		err error
	)
	if dir != "" {
		set, err = reference.LoadDir(dir)
	} else {
		set, err = reference.LoadDefault()
	}
	if err != nil {
		return nil, err
	}
	// The address index is not part of the Set's API (it answers lookups,
	// not listings): read the roads from the areas file in force.
	areas, err := fs.ReadFile(reference.DefaultFS(), reference.FileAreas)
	if err != nil {
		return nil, err
	}
	if dir != "" {
		if b, err := os.ReadFile(filepath.Join(dir, reference.FileAreas)); err == nil {
			areas = b
		}
	}
	var raw struct {
		Addresses []struct {
			Road      string `yaml:"road"`
			Lane      int    `yaml:"lane"`
			Community string `yaml:"community"`
			Numbers   *struct {
				From   int              `yaml:"from"`
				To     int              `yaml:"to"`
				Parity reference.Parity `yaml:"parity"`
			} `yaml:"numbers"`
		} `yaml:"addresses"`
	}
	if err := yaml.Unmarshal(areas, &raw); err != nil {
		return nil, fmt.Errorf("%s: %w", reference.FileAreas, err)
	}
	c := &city{streetUnits: map[string][]string{}}
	for _, a := range raw.Addresses {
		if a.Lane != 0 || a.Numbers == nil || a.Numbers.To < a.Numbers.From {
			continue // lanes and places: the road's own numbers are enough
		}
		com, ok := set.Area(a.Community)
		if !ok {
			continue
		}
		c.places = append(c.places, place{district: com.District, street: com.Street, road: a.Road,
			from: a.Numbers.From, to: a.Numbers.To, parity: a.Numbers.Parity})
	}
	if len(c.places) == 0 {
		return nil, fmt.Errorf("%s: no road with house numbers in the address index", reference.FileAreas)
	}
	if d, ok := set.Area(c.places[0].district); ok {
		c.district = d.Name
	}
	for _, a := range set.Areas(reference.LevelGrid) {
		if g, ok := set.Grid(a.Code); ok && len(g.Polygon) > 0 {
			c.grids = append(c.grids, g)
		}
	}
	c.communities = set.Areas(reference.LevelCommunity)
	for _, it := range set.Items(reference.TreeUrban) {
		if !it.Class {
			c.patrolItems = append(c.patrolItems, it.Code)
		}
	}
	c.departments = set.Departments()
	for _, d := range c.departments {
		if d.Level == reference.LevelStreet && !d.Desk {
			c.streetUnits[d.Area] = append(c.streetUnits[d.Area], d.Code)
		}
	}
	if len(c.grids) == 0 || len(c.communities) == 0 || len(c.patrolItems) == 0 || len(c.departments) == 0 {
		return nil, fmt.Errorf("reference data: want grids, communities, urban items and departments (have %d, %d, %d, %d)",
			len(c.grids), len(c.communities), len(c.patrolItems), len(c.departments))
	}
	slices.SortFunc(c.departments, func(a, b reference.Department) int { return cmpString(a.Code, b.Code) })
	return c, nil
}

func cmpString(a, b string) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// number picks a house number of the place.
func (p place) number(n int) int {
	step := 1
	from := p.from
	switch p.parity {
	case reference.Odd:
		step = 2
		if from%2 == 0 {
			from++
		}
	case reference.Even:
		step = 2
		if from%2 == 1 {
			from++
		}
	}
	count := (p.to-from)/step + 1
	if count < 1 {
		return p.from
	}
	return from + (n%count)*step
}

// centre is a point inside the grid: the mean of its ring, which is inside
// for the convex grids of a city's layout.
func centre(g reference.Grid) geo.Point {
	var lat, lng float64
	for _, p := range g.Polygon {
		lat += p.Lat
		lng += p.Lng
	}
	n := float64(len(g.Polygon))
	return geo.Point{Lat: lat / n, Lng: lng / n}
}
