package classify

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/gridflow/gridflow/pkg/address"
	"github.com/gridflow/gridflow/pkg/auth"
	"github.com/gridflow/gridflow/pkg/fault"
	"github.com/gridflow/gridflow/pkg/freetext"
	"github.com/gridflow/gridflow/pkg/policy"
	"github.com/gridflow/gridflow/pkg/reference"
	"github.com/gridflow/gridflow/pkg/requestid"
)

// The PlaceService's methods, as pkg/policy's table names them.
var (
	opImportPlaces       = policy.Method(PlaceServiceName, "ImportPlaces")
	opRecordPlaceFinding = policy.Method(PlaceServiceName, "RecordPlaceFinding")
	opGetPlace           = policy.Method(PlaceServiceName, "GetPlace")
	opListPlaces         = policy.Method(PlaceServiceName, "ListPlaces")
	opGetPlaceHistory    = policy.Method(PlaceServiceName, "GetPlaceHistory")
)

// PlaceServiceName is the gRPC service of the place registry.
const PlaceServiceName = policy.PlaceService

// Bounds of the registry's input.
const (
	// MaxImportRows is the most rows one ImportPlaces call takes: gridctl
	// sends a long file in batches of this size.
	MaxImportRows = 500
	// MaxPlaceNameRunes bounds a place's name; MaxAddressRunes its address.
	MaxPlaceNameRunes = 100
	MaxAddressRunes   = 200
)

// PlaceTx is one transaction on the registry.
type PlaceTx interface {
	// GetPlaceEntry reads a place for update; ErrNotFound when there is none.
	GetPlaceEntry(ctx context.Context, key string) (*PlaceEntry, error)
	// SavePlaceEntry writes a new version of a place and its history entry.
	SavePlaceEntry(ctx context.Context, p *PlaceEntry, ch *PlaceVersion) error
	// BeginPlaceRequest starts an idempotent write (pkg/idempotency): nil
	// for a first request, the first answer's body for a repeat,
	// ALREADY_EXISTS for the id reused with other content.
	BeginPlaceRequest(ctx context.Context, req Request) ([]byte, error)
	SavePlaceRequest(ctx context.Context, req Request, resource string, body []byte) error
	Emit(ctx context.Context, events ...Event) error
}

// PlaceFilter selects registered places.
type PlaceFilter struct {
	Kind, Status, Street, Community, Grid string
	IncludeRetired                        bool
	// Scope and Grids are the caller's reach: Grids the grids of a patrol
	// caller (pkg/reference's grid register).
	Scope     policy.Scope
	Grids     []string
	PageSize  int
	PageToken string
}

// HistoryQuery asks for the place history at a key.
type HistoryQuery struct {
	// Key is a shop's place key (exact), a building's key (its shops
	// included) or, with Lane, a lane's key.
	Key      string
	Level    HistoryLevel
	From, To time.Time
	Scope    policy.Scope
	Grids    []string
	// First: the incidents, source places and changes are wanted too.
	First     bool
	PageSize  int
	PageToken string
}

// HistoryLevel is what a history key selects.
type HistoryLevel int

// Levels of a history.
const (
	LevelShop     HistoryLevel = iota // place_key = key
	LevelBuilding                     // building_key = key: the address and its shops
	LevelLane                         // lane_key = key: every place of the lane
)

// HistoryCase is one case at a place.
type HistoryCase struct {
	CaseID, CaseNumber, Source, ItemCode, ItemName, IncidentID, Title string
	Version                                                           int
	InReview                                                          bool
	ReceivedAt                                                        time.Time
	Place                                                             CasePlace
}

// History is a page of a place's history.
type History struct {
	Key          string
	Level        HistoryLevel
	Place        *PlaceEntry
	Cases        []HistoryCase
	Incidents    []*Incident
	SourcePlaces []*SourcePlace
	Changes      []PlaceVersion
	Next         string
}

// PlaceStore keeps the registry and reads the place history.
type PlaceStore interface {
	InPlaceTx(ctx context.Context, fn func(PlaceTx) error) error
	ReadPlaceEntry(ctx context.Context, key string) (*PlaceEntry, error)
	// CasePlace reads where classify keeps a case (nil: no place) and its
	// area; ErrNotFound for an unknown case.
	CasePlace(ctx context.Context, caseID string) (*CasePlace, reference.AreaCodes, error)
	ListPlaceEntries(ctx context.Context, f PlaceFilter) ([]*PlaceEntry, string, error)
	PlaceHistory(ctx context.Context, q HistoryQuery) (*History, error)
}

// Places is the registry's service.
type Places struct {
	store PlaceStore
	ref   func() *reference.Set
	now   func() time.Time
}

// NewPlaces returns the registry's service over store.
func NewPlaces(store PlaceStore, ref func() *reference.Set, now func() time.Time) *Places {
	if now == nil {
		now = time.Now
	}
	return &Places{store: store, ref: ref, now: now}
}

// PlaceRow is one row of an import.
type PlaceRow struct {
	Row                         int
	Address, Name, Kind, Status string
	InspectEvery                *int
	Grid                        string
	Retired                     bool
}

// RowRefusal says why a row was not imported.
type RowRefusal struct {
	Row           int
	Field, Reason string
}

// ImportResult counts what an import did.
type ImportResult struct {
	Created, Updated, Unchanged, Refused int
	Refusals                             []RowRefusal
}

// reach is what a caller may see and change of the registry: its scope,
// and for a grid worker the grids the register gives it.
type reach struct {
	p     auth.Principal
	sc    policy.Scope
	grids []string
}

func (p *Places) reachOf(ctx context.Context, method string) (reach, error) {
	pr, sc, err := policy.Authorize(ctx, method)
	if err != nil {
		return reach{}, err
	}
	r := reach{p: pr, sc: sc}
	if sc.Kind == policy.Reporter {
		w, ok := p.ref().GridWorker(sc.Code)
		if !ok || w.Role != reference.RoleWorker || len(w.Grids) == 0 {
			return r, fault.New(fault.PermissionDenied, "%s is no grid worker of the grid register: it covers no place", pr)
		}
		r.grids = w.Grids
	}
	return r, nil
}

// allows reports whether an area lies within the reach.
func (r reach) allows(a reference.AreaCodes) bool {
	switch r.sc.Kind {
	case policy.Reporter:
		for _, g := range r.grids {
			if g == a.Grid {
				return true
			}
		}
		return false
	case policy.Hotline, policy.Public, policy.Department, policy.None:
		return false
	}
	return r.sc.AllowsCase(policy.CaseFacts{District: a.District, Street: a.Street, Community: a.Community})
}

// allowsAt is allows for a history: a lane may span grids, so a grid
// worker may ask for a lane of a community it has a grid in (its rows are
// filtered to its grids).
func (r reach) allowsAt(a reference.AreaCodes, level HistoryLevel) bool {
	if level == LevelLane && r.sc.Kind == policy.Reporter {
		for _, g := range r.grids {
			if a.Community != "" && strings.HasPrefix(g, a.Community) {
				return true
			}
		}
		return false
	}
	return r.allows(a)
}

// ImportPlaces validates and upserts rows; see PlaceService.ImportPlaces.
func (p *Places) ImportPlaces(ctx context.Context, requestID string, rows []PlaceRow) (ImportResult, error) {
	r, err := p.reachOf(ctx, opImportPlaces)
	if err != nil {
		return ImportResult{}, err
	}
	var v fault.Violations
	requestid.Check(requestID, &v)
	switch {
	case len(rows) == 0:
		v.Add("rows", "is empty")
	case len(rows) > MaxImportRows:
		v.Add("rows", "has %d rows; at most %d per call", len(rows), MaxImportRows)
	}
	if err := v.Err(); err != nil {
		return ImportResult{}, err
	}
	ref, now := p.ref(), p.now()
	var res ImportResult
	var good []PlaceEntry
	seen := map[string]int{}
	for i, row := range rows {
		if row.Row == 0 {
			row.Row = i + 1
		}
		e, field, reason := p.entryOf(ref, row)
		if field == "" && !r.allows(e.Area) {
			field, reason = "address", fmt.Sprintf("lies outside the caller's %v", r.sc)
		}
		if field == "" {
			if first, dup := seen[e.Key]; dup {
				field, reason = "address", fmt.Sprintf("is the place of row %d again (%s)", first, e.Key)
			}
		}
		if field != "" {
			res.Refused++
			res.Refusals = append(res.Refusals, RowRefusal{Row: row.Row, Field: field, Reason: reason})
			continue
		}
		seen[e.Key] = row.Row
		good = append(good, e)
	}
	req := Request{Principal: r.p.String(), ID: requestID, Method: "ImportPlaces", Content: rows}
	err = p.store.InPlaceTx(ctx, func(tx PlaceTx) error {
		prior, err := tx.BeginPlaceRequest(ctx, req)
		if err != nil {
			return err
		}
		if prior != nil {
			return json.Unmarshal(prior, &res)
		}
		var evs []Event
		for i := range good {
			e := good[i]
			cur, err := tx.GetPlaceEntry(ctx, e.Key)
			switch {
			case errors.Is(err, ErrNotFound):
				e.Version, e.CreatedAt, e.UpdatedAt = 1, now, now
				res.Created++
			case err != nil:
				return err
			case cur.same(&e):
				res.Unchanged++
				continue
			default:
				e.Version, e.CreatedAt, e.UpdatedAt = cur.Version+1, cur.CreatedAt, now
				res.Updated++
			}
			ch := &PlaceVersion{Key: e.Key, Version: e.Version, Origin: OriginImport, Actor: r.p.String(),
				Status: e.Status, Kind: e.Kind, Name: e.Name, At: now}
			if err := tx.SavePlaceEntry(ctx, &e, ch); err != nil {
				return err
			}
			evs = append(evs, PlaceUpserted{Place: e, Actor: r.p.String()})
		}
		if len(evs) > 0 {
			if err := tx.Emit(ctx, evs...); err != nil {
				return err
			}
		}
		body, err := json.Marshal(res)
		if err != nil {
			return err
		}
		return tx.SavePlaceRequest(ctx, req, "places:import/"+requestID, body)
	})
	return res, err
}

// entryOf validates one row into the entry it registers.
func (p *Places) entryOf(ref *reference.Set, row PlaceRow) (PlaceEntry, string, string) {
	var v fault.Violations
	freetext.Check("address", row.Address, MaxAddressRunes, true, &v)
	freetext.Check("name", row.Name, MaxPlaceNameRunes, false, &v)
	freetext.Code("kind", row.Kind, MaxCodeBytes, &v)
	freetext.Code("status", row.Status, MaxCodeBytes, &v)
	freetext.Code("grid_code", row.Grid, MaxCodeBytes, &v)
	if len(v) > 0 {
		return PlaceEntry{}, v[0].Field, v[0].Reason
	}
	for _, f := range []struct{ field, text string }{{"address", row.Address}, {"name", row.Name}} {
		if why := personalData(f.text); why != "" {
			return PlaceEntry{}, f.field, why
		}
	}
	kind := strings.TrimSpace(row.Kind)
	if kind == "" {
		return PlaceEntry{}, "kind", "is required (one of " + kindCodes() + ")"
	}
	if _, ok := KindOf(kind); !ok {
		return PlaceEntry{}, "kind", fmt.Sprintf("%q is not a place kind (one of %s)", kind, kindCodes())
	}
	status := strings.TrimSpace(row.Status)
	if status == "" {
		status = StatusActive
	}
	if !knownStatus(status) {
		return PlaceEntry{}, "status", fmt.Sprintf("%q is not a place status (one of %s)", status, strings.Join(PlaceStatuses, ", "))
	}
	if row.InspectEvery != nil && (*row.InspectEvery < 0 || *row.InspectEvery > MaxInspectEvery) {
		return PlaceEntry{}, "inspection_every_months", fmt.Sprintf("must be 0–%d", MaxInspectEvery)
	}
	a, area, field, reason := registeredAddress(ref, row.Address, strings.TrimSpace(row.Grid))
	if field != "" {
		return PlaceEntry{}, field, reason
	}
	name := strings.TrimSpace(row.Name)
	if a.Shop == "" && name != "" && kind != "building" && kind != "residential" {
		// A shop's name is part of its identity when the address has
		// none: 临汾路12号 + 兰州拉面 is the shop 临汾路12号兰州拉面 — read as
		// a case's address naming the shop would be, so both get one key.
		withShop := address.Normalise(strings.TrimSpace(row.Address) + name).WithDistrict(a.District)
		if b, _ := KeysOf(withShop.Key()); withShop.Shop != "" && b == a.Key() {
			a = withShop
		} else {
			a.Shop = name
		}
		if k := placeOfAddress(a).Key; k == "" {
			return PlaceEntry{}, "name", "does not make a place key with the address"
		}
	}
	key := a.Key()
	b, l := KeysOf(key)
	e := PlaceEntry{Key: key, Building: b, Lane: l, Address: addressText(a), Name: name, Kind: kind, Status: status,
		Area: area, Retired: row.Retired}
	if row.InspectEvery != nil {
		n := *row.InspectEvery
		e.InspectOverride = &n
	}
	return e, "", ""
}

// addressText is the registered address as shown: the normalised address
// without province and city.
func addressText(a address.Address) string {
	a.Province, a.City, a.Relation, a.Detail = "", "", "", ""
	return strings.ReplaceAll(a.String(), " ", "")
}

// Finding is what a patrol found at a place.
type Finding struct {
	RequestID          string
	Key, Address       string
	Status, Kind, Name string
	Note               string
}

// RecordFinding records a finding: a new version of the place when it
// changes a field, an entry of its history either way.
func (p *Places) RecordFinding(ctx context.Context, f Finding) (*PlaceEntry, bool, error) {
	r, err := p.reachOf(ctx, opRecordPlaceFinding)
	if err != nil {
		return nil, false, err
	}
	var v fault.Violations
	requestid.Check(f.RequestID, &v)
	freetext.Code("status", f.Status, MaxCodeBytes, &v)
	freetext.Code("kind", f.Kind, MaxCodeBytes, &v)
	freetext.Check("name", f.Name, MaxPlaceNameRunes, false, &v)
	freetext.Check("note", f.Note, MaxNoteRunes, false, &v)
	if err := v.Err(); err != nil {
		return nil, false, err
	}
	if f.Status != "" && !knownStatus(f.Status) {
		v.Add("status", "%q is not a place status (one of %s)", f.Status, strings.Join(PlaceStatuses, ", "))
	}
	if _, ok := KindOf(f.Kind); f.Kind != "" && !ok {
		v.Add("kind", "%q is not a place kind (one of %s)", f.Kind, kindCodes())
	}
	for _, t := range []struct{ field, text string }{{"name", f.Name}, {"note", f.Note}} {
		if why := personalData(t.text); why != "" {
			v.Add(t.field, "%s", why)
		}
	}
	if f.Status == "" && f.Kind == "" && f.Name == "" && strings.TrimSpace(f.Note) == "" {
		v.Add("note", "is required when no status, kind or name changes")
	}
	key, err := p.keyOf(f.Key, f.Address, &v)
	if err != nil {
		return nil, false, err
	}
	var (
		out     *PlaceEntry
		changed bool
	)
	req := Request{Principal: r.p.String(), ID: f.RequestID, Method: "RecordPlaceFinding", Content: f}
	err = p.store.InPlaceTx(ctx, func(tx PlaceTx) error {
		prior, err := tx.BeginPlaceRequest(ctx, req)
		if err != nil {
			return err
		}
		if prior != nil {
			var ans findingAnswer
			if err := json.Unmarshal(prior, &ans); err != nil {
				return err
			}
			out, changed = &ans.Place, ans.Changed
			return nil
		}
		cur, err := tx.GetPlaceEntry(ctx, key)
		if errors.Is(err, ErrNotFound) {
			return r.sc.Missing("place "+key, fault.NotFoundf("places/"+key, "no registered place %q", key))
		}
		if err != nil {
			return err
		}
		if !r.allows(cur.Area) {
			return policy.ErrDenied("place " + key)
		}
		e := *cur
		if f.Status != "" {
			e.Status = f.Status
		}
		if f.Kind != "" {
			e.Kind = f.Kind
		}
		if f.Name != "" {
			e.Name = strings.TrimSpace(f.Name)
		}
		changed = !e.same(cur)
		now := p.now()
		e.Version, e.UpdatedAt = cur.Version+1, now
		ch := &PlaceVersion{Key: e.Key, Version: e.Version, Origin: OriginFinding, Actor: r.p.String(),
			Status: e.Status, Kind: e.Kind, Name: e.Name, Note: strings.TrimSpace(f.Note), At: now}
		if err := tx.SavePlaceEntry(ctx, &e, ch); err != nil {
			return err
		}
		if err := tx.Emit(ctx, PlaceUpserted{Place: e, Actor: r.p.String()}); err != nil {
			return err
		}
		out = &e
		body, err := json.Marshal(findingAnswer{Place: e, Changed: changed})
		if err != nil {
			return err
		}
		return tx.SavePlaceRequest(ctx, req, fmt.Sprintf("places/%s/versions/%d", e.Key, e.Version), body)
	})
	if err != nil {
		return nil, false, err
	}
	return out, changed, nil
}

type findingAnswer struct {
	Place   PlaceEntry `json:"place"`
	Changed bool       `json:"changed"`
}

// keyOf is the place a request names: its key as given, or its address
// normalised as the registry does. v holds the request's other violations.
func (p *Places) keyOf(key, addr string, v *fault.Violations) (string, error) {
	freetext.Check("place_key", key, MaxAddressRunes, false, v)
	freetext.Check("address", addr, MaxAddressRunes, false, v)
	if err := v.Err(); err != nil {
		return "", err
	}
	switch {
	case key != "" && addr != "":
		v.Add("place_key", "give one of place_key and address")
	case key != "":
		if strings.Count(key, "|") != 4 {
			v.Add("place_key", "is not a place key (district|place|lane|number|shop)")
		}
	case addr != "":
		a, _, field, reason := registeredAddress(p.ref(), addr, "")
		if field == "grid_code" || (field == "address" && strings.Contains(reason, "address index")) {
			// An address the index does not place may still be a case's:
			// its key as normalised, without a district.
			field = ""
		}
		if field != "" {
			v.Add("address", "%s", reason)
		} else if key = a.Key(); key == "" {
			v.Add("address", "names no place")
		}
	default:
		v.Add("place_key", "give a place_key or an address")
	}
	return key, v.Err()
}

// GetPlace reads one registered place.
func (p *Places) GetPlace(ctx context.Context, key, addr string) (*PlaceEntry, error) {
	r, err := p.reachOf(ctx, opGetPlace)
	if err != nil {
		return nil, err
	}
	var v fault.Violations
	if key, err = p.keyOf(key, addr, &v); err != nil {
		return nil, err
	}
	e, err := p.store.ReadPlaceEntry(ctx, key)
	if errors.Is(err, ErrNotFound) {
		return nil, r.sc.Missing("place "+key, fault.NotFoundf("places/"+key, "no registered place %q", key))
	}
	if err != nil {
		return nil, err
	}
	if !r.allows(e.Area) {
		return nil, policy.ErrDenied("place " + key)
	}
	return e, nil
}

// ListPlaces lists registered places within the caller's reach.
func (p *Places) ListPlaces(ctx context.Context, f PlaceFilter) ([]*PlaceEntry, string, error) {
	r, err := p.reachOf(ctx, opListPlaces)
	if err != nil {
		return nil, "", err
	}
	var v fault.Violations
	for _, c := range []struct{ field, code string }{{"kind", f.Kind}, {"status", f.Status}, {"street_code", f.Street},
		{"community_code", f.Community}, {"grid_code", f.Grid}} {
		freetext.Code(c.field, c.code, MaxCodeBytes, &v)
	}
	if err := v.Err(); err != nil {
		return nil, "", err
	}
	if _, ok := KindOf(f.Kind); f.Kind != "" && !ok {
		v.Add("kind", "%q is not a place kind (one of %s)", f.Kind, kindCodes())
	}
	if f.Status != "" && !knownStatus(f.Status) {
		v.Add("status", "%q is not a place status", f.Status)
	}
	if err := v.Err(); err != nil {
		return nil, "", err
	}
	// Naming an area outside the reach is PERMISSION_DENIED, not an empty
	// page.
	for _, code := range []string{f.Street, f.Community, f.Grid} {
		if code != "" && !r.coversArea(code) {
			return nil, "", fault.New(fault.PermissionDenied, "area %s is outside the caller's %v", code, r.sc)
		}
	}
	if f.PageSize, err = pageSize(f.PageSize, 100, 500); err != nil {
		return nil, "", err
	}
	f.Scope, f.Grids = r.sc, r.grids
	return p.store.ListPlaceEntries(ctx, f)
}

// coversArea reports whether a whole area (street, community or grid code)
// may be named by the caller: one inside its area, or for a grid worker
// one of its grids.
func (r reach) coversArea(code string) bool {
	switch r.sc.Kind {
	case policy.All:
		return true
	case policy.Street, policy.District:
		return r.sc.AllowsArea(code)
	case policy.Community:
		return strings.HasPrefix(code, r.sc.Code)
	case policy.Reporter:
		for _, g := range r.grids {
			if g == code {
				return true
			}
		}
	}
	return false
}

// HistoryRequest asks for a place's history.
type HistoryRequest struct {
	// The place: its key, its address, or the place of a case.
	Key, Address, CaseID string
	Lane                 bool
	From, To             time.Time
	PageSize             int
	PageToken            string
}

// GetPlaceHistory answers the cases (and, on the first page, incidents,
// source places and the place's changes) at a shop, an address or a lane.
// A place whose area is known (registered, or in the address index) and
// lies outside the caller's reach is PERMISSION_DENIED; every row is
// filtered by the reach besides, so a lane across two grids shows a grid
// worker its own grid's cases only.
func (p *Places) GetPlaceHistory(ctx context.Context, hr HistoryRequest) (*History, error) {
	r, err := p.reachOf(ctx, opGetPlaceHistory)
	if err != nil {
		return nil, err
	}
	var v fault.Violations
	var key string
	if hr.CaseID != "" {
		if key, err = p.caseKey(ctx, r, &hr, &v); err != nil {
			return nil, err
		}
	} else if key, err = p.keyOf(hr.Key, hr.Address, &v); err != nil {
		return nil, err
	}
	for _, t := range []struct {
		field string
		at    time.Time
	}{{"from", hr.From}, {"to", hr.To}} {
		if !t.at.IsZero() && (t.at.Before(minTime) || !t.at.Before(maxTime)) {
			v.Add(t.field, "%s is not between %d and %d", t.at.UTC().Format(time.RFC3339), minTime.Year(), maxTime.Year()-1)
		}
	}
	if !hr.From.IsZero() && !hr.To.IsZero() && !hr.From.Before(hr.To) {
		v.Add("to", "must be after from")
	}
	if err := v.Err(); err != nil {
		return nil, err
	}
	size, err := pageSize(hr.PageSize, 50, 500)
	if err != nil {
		return nil, err
	}
	q := HistoryQuery{Key: key, Level: LevelBuilding, From: hr.From, To: hr.To, Scope: r.sc, Grids: r.grids,
		First: hr.PageToken == "", PageSize: size, PageToken: hr.PageToken}
	building, lane := KeysOf(key)
	switch {
	case hr.Lane:
		q.Key, q.Level = lane, LevelLane
	case building != key:
		q.Level = LevelShop
	}
	// The place's own area decides whether the caller may ask at all.
	if area, known := p.areaOf(ctx, key); known && !r.allowsAt(area, q.Level) {
		return nil, policy.ErrDenied("place " + key)
	}
	h, err := p.store.PlaceHistory(ctx, q)
	if err != nil {
		return nil, err
	}
	h.Key, h.Level = q.Key, q.Level
	if pl, err := p.store.ReadPlaceEntry(ctx, q.Key); err == nil && r.allows(pl.Area) {
		h.Place = pl
	} else if err != nil && !errors.Is(err, ErrNotFound) {
		return nil, err
	}
	return h, nil
}

// areaOf is where a key lies: the registered place's area, else the
// address index's for its road, lane and number.
func (p *Places) areaOf(ctx context.Context, key string) (reference.AreaCodes, bool) {
	if e, err := p.store.ReadPlaceEntry(ctx, key); err == nil {
		return e.Area, true
	}
	parts := strings.Split(key, "|")
	if len(parts) != 5 {
		return reference.AreaCodes{}, false
	}
	raw := parts[1]
	if parts[2] != "" {
		raw += parts[2] + "弄"
	}
	if parts[3] != "" {
		raw += parts[3] + "号"
	}
	a := address.Normalise(raw)
	ref := p.ref()
	var (
		m  reference.AddressMatch
		ok bool
	)
	if a.Road != "" {
		m, ok = ref.LookupAddress(a.Road, a.Lane, a.Number)
	} else if a.Community != "" {
		m, ok = ref.LookupPlace(a.Community)
	}
	if !ok {
		return reference.AreaCodes{}, false
	}
	return reference.AreaCodes{District: m.District, Street: m.Street, Community: m.Community, Grid: m.Grid}, true
}

// caseKey is the key of a case's place, for a history asked by case: the
// case must be within reach; a private location's history is its lane's.
func (p *Places) caseKey(ctx context.Context, r reach, hr *HistoryRequest, v *fault.Violations) (string, error) {
	freetext.Code("case_id", hr.CaseID, MaxCodeBytes, v)
	if hr.Key != "" || hr.Address != "" {
		v.Add("case_id", "give one of place_key, address and case_id")
	}
	if err := v.Err(); err != nil {
		return "", err
	}
	cp, area, err := p.store.CasePlace(ctx, hr.CaseID)
	if errors.Is(err, ErrNotFound) {
		return "", r.sc.Missing("case "+hr.CaseID, notFound(hr.CaseID))
	}
	if err != nil {
		return "", err
	}
	if !r.allows(area) {
		return "", policy.ErrDenied("case " + hr.CaseID)
	}
	if cp == nil || cp.Key == "" {
		return "", fault.New(fault.FailedPrecondition, "case %s names no place precise enough for a history (no house number, lane, compound or shop)", hr.CaseID)
	}
	if cp.Private {
		hr.Lane = true
	}
	return cp.Key, nil
}
