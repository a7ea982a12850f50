package classify

// The place registry (以房管人, issue 20): the buildings, shops and
// enterprises of a street, keyed by pkg/address's Key of their address, with
// their kind (业态), status and inspection interval, versioned; and what
// classify keeps of every case's place for the place history. Residents'
// personal data stays out: a register row naming a phone number or an
// identity number, or an address down to a flat, is refused.

import (
	"regexp"
	"strings"
	"time"

	"github.com/gridflow/gridflow/pkg/address"
	"github.com/gridflow/gridflow/pkg/redact"
	"github.com/gridflow/gridflow/pkg/reference"
)

// PlaceKind is a kind of place (业态) and its default inspection interval.
type PlaceKind struct {
	Code string
	Name string
	// InspectEvery is the default inspection (巡检) interval in months; 0:
	// no schedule. DOMAIN.md: enterprises monthly, shop fronts quarterly.
	InspectEvery int
}

// PlaceKinds is the vocabulary of kinds, in the order people are shown it.
var PlaceKinds = []PlaceKind{
	{"building", "楼宇", 0},
	{"residential", "居民楼", 0},
	{"shop", "沿街商铺", 3},
	{"restaurant", "餐饮店", 3},
	{"bar", "酒吧", 3},
	{"enterprise", "企业", 1},
	{"market", "市场", 0},
	{"school", "学校", 0},
	{"site", "工地", 0},
	{"office", "办公楼", 0},
	{"other", "其他", 0},
}

// PlaceStatuses are what a place may be found in.
var PlaceStatuses = []string{"active", "for_rent", "vacant", "closed", "under_renovation", "demolished"}

// StatusActive is a row's status when it names none.
const StatusActive = "active"

// KindOf looks a kind up by its code.
func KindOf(code string) (PlaceKind, bool) {
	for _, k := range PlaceKinds {
		if k.Code == code {
			return k, true
		}
	}
	return PlaceKind{}, false
}

func knownStatus(s string) bool {
	for _, st := range PlaceStatuses {
		if st == s {
			return true
		}
	}
	return false
}

func kindCodes() string {
	codes := make([]string, len(PlaceKinds))
	for i, k := range PlaceKinds {
		codes[i] = k.Code
	}
	return strings.Join(codes, ", ")
}

// MaxInspectEvery bounds an inspection interval override (months).
const MaxInspectEvery = 120

// PlaceEntry is one registered place.
type PlaceEntry struct {
	// Key is pkg/address's Key (district|place|lane|number|shop).
	Key string `json:"key"`
	// Building is Key without its shop; Lane the lane's key, or the
	// building's for an address without a lane (KeysOf).
	Building string `json:"building"`
	Lane     string `json:"lane"`
	// Address is the address as registered, normalised.
	Address string              `json:"address"`
	Name    string              `json:"name"`
	Kind    string              `json:"kind"`
	Status  string              `json:"status"`
	Area    reference.AreaCodes `json:"area"`
	// InspectOverride is the place's own interval (months, 0: none); nil
	// takes its kind's.
	InspectOverride *int      `json:"inspect_override"`
	Version         int64     `json:"version"`
	Retired         bool      `json:"retired"`
	CreatedAt       time.Time `json:"created_at"`
	UpdatedAt       time.Time `json:"updated_at"`
}

// InspectEvery is the interval in force: the override, else the kind's.
func (p *PlaceEntry) InspectEvery() int {
	if p.InspectOverride != nil {
		return *p.InspectOverride
	}
	k, _ := KindOf(p.Kind)
	return k.InspectEvery
}

// same reports whether two entries register the same facts (version and
// times aside): what makes a re-import a no-op.
func (p *PlaceEntry) same(q *PlaceEntry) bool {
	eqInt := func(a, b *int) bool { return (a == nil && b == nil) || (a != nil && b != nil && *a == *b) }
	return p.Key == q.Key && p.Address == q.Address && p.Name == q.Name && p.Kind == q.Kind && p.Status == q.Status &&
		p.Area == q.Area && eqInt(p.InspectOverride, q.InspectOverride) && p.Retired == q.Retired
}

// PlaceVersion is one version of a place: what it became, who made it and
// why (the import, or a patrol's finding with its note).
type PlaceVersion struct {
	Key     string    `json:"key"`
	Version int64     `json:"version"`
	Origin  string    `json:"origin"` // import, finding
	Actor   string    `json:"actor"`
	Status  string    `json:"status"`
	Kind    string    `json:"kind"`
	Name    string    `json:"name"`
	Note    string    `json:"note"`
	At      time.Time `json:"at"`
}

// Origins of a place's version.
const (
	OriginImport  = "import"
	OriginFinding = "finding"
)

// PlaceUpserted: a place was registered or changed (place.upserted).
type PlaceUpserted struct {
	Place PlaceEntry
	Actor string
}

func (PlaceUpserted) isEvent() {}

// CasePlace is where classify keeps a case for the place history: the
// case's place key, the building's and the lane's. A private location (the
// caller's own home) keeps all three at the lane.
type CasePlace struct {
	Key      string `json:"Key"`
	Building string `json:"Building"`
	Lane     string `json:"Lane"`
	Private  bool   `json:"Private"`
}

// KeysOf splits a place key into its building's key (the shop dropped) and
// its lane's (number and shop dropped; for an address without a lane, the
// building's, as place.upserted's lane_key says).
func KeysOf(key string) (building, lane string) {
	parts := strings.Split(key, "|")
	if len(parts) != 5 {
		return key, key
	}
	building = strings.Join(parts[:4], "|") + "|"
	if parts[2] != "" {
		return building, strings.Join(parts[:3], "|") + "||"
	}
	return building, building
}

// LaneOnly is a key cut at its lane (road and lane; no number, no shop):
// where a private location's place stops, as an anonymous caller's address
// does (pkg/redact.AnonymousAddress).
func LaneOnly(key string) string {
	parts := strings.Split(key, "|")
	if len(parts) != 5 {
		return ""
	}
	return strings.Join(parts[:3], "|") + "||"
}

// casePlaceOf is what the place history keeps of c: nothing without a
// precise address (a bare road is no place); a private location at its
// lane.
func casePlaceOf(c *Case, p Place) *CasePlace {
	key := p.Key
	if c.PrivateLocation {
		if key == "" {
			// A private address imprecise as given is still cut: what a
			// grouping place would not name, history does not either.
			return nil
		}
		l := LaneOnly(key)
		return &CasePlace{Key: l, Building: l, Lane: l, Private: true}
	}
	if key == "" {
		return nil
	}
	b, l := KeysOf(key)
	return &CasePlace{Key: key, Building: b, Lane: l}
}

// privatePlace cuts a grouping place at the lane for a private location:
// the house number and the shop are dropped and so are the coordinates
// (they would place the home as exactly as its number).
func privatePlace(p Place) Place {
	if p.Key == "" {
		return Place{}
	}
	l := LaneOnly(p.Key)
	q := placeOfKey(l)
	return q
}

var (
	// idLike is a resident identity number (身份证, 15 or 18 characters)
	// or any long run of digits an address never has.
	idLike = regexp.MustCompile(`\d{15,}|\d{17}[0-9Xx]`)
)

// personalData reports why text holds what looks like a person's data: a
// phone number (pkg/redact's detector) or an identity number.
func personalData(text string) string {
	if redact.Phones(text) != text {
		return "contains a phone number: a register holds no residents' personal data"
	}
	if idLike.MatchString(text) {
		return "contains an identity-number-like run of digits: a register holds no residents' personal data"
	}
	return ""
}

// registeredAddress normalises a register row's address and places it: the
// normalised address, its key and its area, or the field's reason. The
// area comes from the reference data's address index, else from gridCode.
func registeredAddress(ref *reference.Set, raw, gridCode string) (address.Address, reference.AreaCodes, string, string) {
	a := address.Normalise(raw)
	if a.Road == "" && a.Community == "" {
		return a, reference.AreaCodes{}, "address", "names no road or compound"
	}
	if a.Room > 0 || a.Floor > 0 || a.Unit > 0 {
		return a, reference.AreaCodes{}, "address", "names a flat (unit, floor or room): register the building, never a household"
	}
	var (
		m  reference.AddressMatch
		ok bool
	)
	if a.Road != "" {
		m, ok = ref.LookupAddress(a.Road, a.Lane, a.Number)
	}
	if !ok && a.Community != "" {
		m, ok = ref.LookupPlace(a.Community)
	}
	var area reference.AreaCodes
	switch {
	case ok:
		area = reference.AreaCodes{District: m.District, Street: m.Street, Community: m.Community, Grid: m.Grid}
		if gridCode != "" && m.Grid != "" && gridCode != m.Grid {
			return a, area, "grid_code", "is " + gridCode + " but the address index places the address in grid " + m.Grid
		}
		if area.Grid == "" && gridCode != "" {
			if g, found := ref.Grid(gridCode); found && g.Community == area.Community {
				area.Grid = g.Code
			}
		}
	case gridCode != "":
		g, found := ref.Grid(gridCode)
		if !found {
			return a, area, "grid_code", "is not a grid of the reference data"
		}
		area = reference.AreaCodes{District: g.District, Street: g.Street, Community: g.Community, Grid: g.Code}
	default:
		return a, area, "address", "is not in the reference data's address index; give its grid_code"
	}
	if d, known := ref.Area(area.District); known {
		a = a.WithDistrict(d.Name)
	}
	if placeOfAddress(a).Key == "" {
		return a, area, "address", "names no house number, lane, compound or shop: a road is not a place"
	}
	return a, area, "", ""
}

// casePlace is what the place history keeps of c: its address's key as
// grouping reads it (not the point: history is by address), or for a
// private location the lane's.
func (s *Service) casePlace(c *Case) *CasePlace {
	cc := *c
	cc.Location, cc.PrivateLocation = nil, false
	return casePlaceOf(c, s.placeOf(&cc))
}
