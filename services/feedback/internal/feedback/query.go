package feedback

import (
	"context"
	"math"
	"strings"
	"time"

	"github.com/gridflow/gridflow/pkg/caseref"
	"github.com/gridflow/gridflow/pkg/fault"
	"github.com/gridflow/gridflow/pkg/freetext"
	"github.com/gridflow/gridflow/pkg/policy"
	"github.com/gridflow/gridflow/pkg/reference"
)

// Every read and change of a case goes through the caller's scope
// (pkg/policy), in this file and in the commands' (command.go): the scope is
// checked as soon as the case is loaded, before its state; a case outside
// it and, for a scoped caller, a case that does not exist are the same
// PERMISSION_DENIED. Lists and figures are narrowed by it in SQL.

// ScopeFacts are what a caller's scope decides the case on.
func (c *Case) ScopeFacts() policy.CaseFacts {
	f := policy.CaseFacts{Source: string(c.Source), District: c.Area.District, Street: c.Area.Street,
		Community: c.Area.Community, Worker: c.Worker, Grid: c.Area.Grid}
	for _, t := range c.Tasks {
		if t.Department != "" {
			f.Departments = append(f.Departments, t.Department)
		}
	}
	return f
}

// within checks a loaded case (or the error loading it) against sc; what is
// how the caller named the case.
func within(sc policy.Scope, what string, c *Case, err error) error {
	switch {
	case fault.KindOf(err) == fault.NotFound:
		return sc.Missing(what, err)
	case err != nil:
		return err
	case !sc.AllowsCase(c.ScopeFacts()):
		return policy.ErrDenied(what)
	}
	return nil
}

// Limits on queries.
const (
	// MaxCodeBytes bounds an area, department or item code a query names.
	MaxCodeBytes = 64
	// MaxBaselineWindows bounds how many periods back Hotspots compares
	// against: a year of weeks. Each window is a query's worth of rows
	// (an unbounded count once ran the process out of memory).
	MaxBaselineWindows = 53
)

// The window a time in a query must lie in: gridflow holds nothing from
// before 2000 or from 2100 on, and an overflowed or negative protobuf
// timestamp decodes to a time outside it (which PostgreSQL cannot take).
var (
	minTime = time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)
	maxTime = time.Date(2100, 1, 1, 0, 0, 0, 0, time.UTC)
)

// checkTime refuses a set time outside [minTime, maxTime); the zero time
// (absent) is the caller's to judge.
func checkTime(field string, t time.Time, vs *fault.Violations) {
	if !t.IsZero() && (t.Before(minTime) || !t.Before(maxTime)) {
		vs.Add(field, "%s is not between %d and %d", t.UTC().Format(time.RFC3339), minTime.Year(), maxTime.Year()-1)
	}
}

// Validate checks a case filter's own fields: codes, times and the page
// size; the page token is the store's to read.
func (f Filter) Validate() error {
	var vs fault.Violations
	freetext.Code("area_code", f.AreaCode, MaxCodeBytes, &vs)
	freetext.Code("department_code", f.Department, MaxCodeBytes, &vs)
	freetext.Code("item_code", f.ItemCode, MaxCodeBytes, &vs)
	checkTime("received_from", f.From, &vs)
	checkTime("received_to", f.To, &vs)
	if f.PageSize < 0 {
		vs.Add("page_size", "must not be negative")
	}
	return vs.Err()
}

// GetCase reads a case by exactly one of id, case number, hotline order
// number, within sc. A merged case carries its primary's state as well.
func (s *Service) GetCase(ctx context.Context, sc policy.Scope, id, number, orderNo string) (*Case, *Case, error) {
	c, err := s.findCase(ctx, sc, id, number, orderNo)
	if err != nil || !c.Merged() {
		return c, nil, err
	}
	p, err := s.reader.FindCase(ctx, c.PrimaryCaseID, "", "")
	if fault.KindOf(err) == fault.NotFound {
		return c, nil, nil
	}
	return c, p, err
}

// ListCases lists cases newest first, within f.Scope. A street or district
// caller's area filter must lie in its area (another's is
// PERMISSION_DENIED, not an empty page); a department's filter its own.
func (s *Service) ListCases(ctx context.Context, f Filter) ([]*Case, string, error) {
	if err := f.Validate(); err != nil {
		return nil, "", err
	}
	sc := f.Scope
	switch {
	case f.AreaCode != "" && (sc.Kind == policy.Street || sc.Kind == policy.District) && !sc.AllowsArea(f.AreaCode):
		return nil, "", fault.New(fault.PermissionDenied, "area %s is outside the caller's %v", f.AreaCode, sc)
	case f.Department != "" && sc.Kind == policy.Department && f.Department != sc.Code:
		return nil, "", fault.New(fault.PermissionDenied, "department %s may list only its own cases", sc.Code)
	}
	return s.reader.ListCases(ctx, f)
}

// findCase reads a case by exactly one of id, case number and hotline
// order number, within sc; a case feedback does not know is NotFound naming
// what was asked (to admin).
func (s *Service) findCase(ctx context.Context, sc policy.Scope, id, number, orderNo string) (*Case, error) {
	ref, err := caseref.FromFields("", id, number, orderNo)
	if err != nil {
		return nil, err
	}
	// The reference as caseref read it: a case id in capitals is the
	// same case.
	id, number, orderNo = ref.Fields()
	c, err := s.reader.FindCase(ctx, id, number, orderNo)
	if fault.KindOf(err) == fault.NotFound {
		err = ref.NotFound("feedback")
	}
	// issue 20 (work tasks): a worker reads the patrol cases it re-checks.
	if err := s.readable(sc, "case "+ref.Value, c, err); err != nil {
		return nil, err
	}
	return c, nil
}

// Timeline reads a case, by id, case number or hotline order number, and
// its events in log order.
func (s *Service) Timeline(ctx context.Context, sc policy.Scope, id, number, orderNo string) (*Case, []Event, error) {
	c, err := s.findCase(ctx, sc, id, number, orderNo)
	if err != nil {
		return nil, nil, err
	}
	evs, err := s.reader.Timeline(ctx, c.ID)
	return c, evs, err
}

// ListReplies lists replies oldest first, of one case when caseID is set,
// within sc: a named case is checked like GetCase's, and the list is
// narrowed by the scope in SQL.
func (s *Service) ListReplies(ctx context.Context, sc policy.Scope, caseID string, since time.Time, size int, token string) ([]ReplyOf, string, error) {
	if err := checkReplies(caseID, since); err != nil {
		return nil, "", err
	}
	if caseID != "" {
		if _, err := s.findCase(ctx, sc, caseID, "", ""); err != nil {
			return nil, "", err
		}
	}
	caseID = strings.ToLower(caseID)
	return s.reader.ListReplies(ctx, sc, caseID, since, size, token)
}

// checkReplies checks a replies listing: a case id when one is named, a
// since time in range.
func checkReplies(caseID string, since time.Time) error {
	var vs fault.Violations
	if caseID != "" && !caseref.IsID(caseID) {
		vs.Add("case_id", "is not a case id")
	}
	checkTime("since", since, &vs)
	return vs.Err()
}

// Updates reads the log after cursor for watchers; cursor < 0 means "from
// now" and returns the current end.
func (s *Service) Updates(ctx context.Context, cursor int64, caseID string, limit int) ([]Event, int64, error) {
	if caseID != "" && !caseref.IsID(caseID) {
		var vs fault.Violations
		vs.Add("case_id", "is not a case id")
		return nil, cursor, vs.Err()
	}
	caseID = strings.ToLower(caseID)
	if cursor < 0 {
		last, err := s.reader.LastSeq(ctx)
		return nil, last, err
	}
	evs, err := s.reader.LogAfter(ctx, cursor, caseID, limit)
	if err != nil {
		return nil, cursor, err
	}
	if len(evs) > 0 {
		cursor = evs[len(evs)-1].Seq
	}
	return evs, cursor, nil
}

// Period is [Start, End).
type Period struct{ Start, End time.Time }

func (p Period) check(vs *fault.Violations) {
	n := len(*vs)
	checkTime("period.start", p.Start, vs)
	checkTime("period.end", p.End, vs)
	if len(*vs) > n {
		return
	}
	switch {
	case p.Start.IsZero():
		vs.Add("period.start", "is required")
	case p.End.IsZero():
		vs.Add("period.end", "is required")
	case !p.Start.Before(p.End):
		vs.Add("period.end", "must be after period.start")
	}
}

// Figures computes the loop's measures for a scope and period (cases count
// by when they were received). The store aggregates the tallies in SQL;
// the formulas are applied here (Tally.Figures).
//
// The caller's scope sc bounds them: admin any; the hotline any, counted
// over hotline cases only; a street's or district's dispatcher an area (a
// street, district or grid) or a department inside its own area; a
// department its own figures. Anything else is PERMISSION_DENIED.
func (s *Service) Figures(ctx context.Context, sc policy.Scope, scope Scope, code string, p Period) (Figures, error) {
	if err := checkFigures(scope, code, p); err != nil {
		return Figures{}, err
	}
	if scope == ScopeCity {
		code = ""
	}
	q := TallyQuery{Scope: scope, Code: code, Period: p, Now: s.now()}
	switch sc.Kind {
	case policy.All:
	case policy.Hotline:
		q.Source = reference.FromHotline
	case policy.Street, policy.District:
		if scope == ScopeCity || !sc.AllowsArea(code) {
			return Figures{}, fault.New(fault.PermissionDenied, "the figures of %s %s are outside the caller's %v", scope, code, sc)
		}
	case policy.Department:
		if scope != ScopeDepartment || code != sc.Code {
			return Figures{}, fault.New(fault.PermissionDenied, "a department reads its own figures only (scope department, code %s)", sc.Code)
		}
	default:
		return Figures{}, fault.New(fault.PermissionDenied, "the caller's %v reads no figures", sc)
	}
	t, err := s.reader.Tally(ctx, q)
	if err != nil {
		return Figures{}, err
	}
	return t.Figures(), nil
}

// checkFigures checks a figures query: a known scope, the code it needs,
// a period.
func checkFigures(scope Scope, code string, p Period) error {
	var vs fault.Violations
	switch scope {
	case ScopeDepartment, ScopeStreet, ScopeDistrict, ScopeGrid:
		if code == "" {
			vs.Add("code", "is required for scope %s", scope)
		}
		freetext.Code("code", code, MaxCodeBytes, &vs)
	case ScopeCity:
	default:
		vs.Add("scope", "must be department, street, district, grid or city")
	}
	p.check(&vs)
	return vs.Err()
}

// slice is the part of the city a caller's area figures count: the area
// asked for ("" the city; a street or district caller's own area when it
// asks for none), and the hotline's own cases only for the hotline.
func slice(sc policy.Scope, area string) (Slice, error) {
	switch sc.Kind {
	case policy.All:
		return Slice{Area: area}, nil
	case policy.Hotline:
		return Slice{Area: area, Source: reference.FromHotline}, nil
	case policy.Street, policy.District:
		if area == "" {
			area = sc.Area()
		}
		if sc.AllowsArea(area) {
			return Slice{Area: area}, nil
		}
		return Slice{}, fault.New(fault.PermissionDenied, "area %s is outside the caller's %v", area, sc)
	}
	return Slice{}, fault.New(fault.PermissionDenied, "the caller's %v reads no area figures", sc)
}

// Pareto ranks categories in an area and period, within sc (see slice).
func (s *Service) Pareto(ctx context.Context, sc policy.Scope, area string, p Period) ([]ParetoRow, int, error) {
	var vs fault.Violations
	freetext.Code("area_code", area, MaxCodeBytes, &vs)
	if p.check(&vs); vs.Err() != nil {
		return nil, 0, vs.Err()
	}
	sl, err := slice(sc, area)
	if err != nil {
		return nil, 0, err
	}
	counts, err := s.reader.CategoryCounts(ctx, sl, p)
	if err != nil {
		return nil, 0, err
	}
	rows, total := ParetoOf(counts)
	return rows, total, nil
}

// checkHotspots checks a hotspots query: an area code, a period, at most
// MaxBaselineWindows windows, a count that is not negative and a finite
// score (zeros take the defaults).
func checkHotspots(area string, p Period, windows, minCount int, minScore float64) error {
	var vs fault.Violations
	freetext.Code("area_code", area, MaxCodeBytes, &vs)
	p.check(&vs)
	if windows < 0 || windows > MaxBaselineWindows {
		vs.Add("baseline_windows", "must be between 0 (the default, 4) and %d", MaxBaselineWindows)
	}
	if minCount < 0 {
		vs.Add("min_count", "must not be negative")
	}
	if math.IsNaN(minScore) || math.IsInf(minScore, 0) {
		vs.Add("min_score", "must be a finite number")
	}
	return vs.Err()
}

// Hotspots finds places and sources rising against their baseline windows,
// within sc (see slice).
func (s *Service) Hotspots(ctx context.Context, sc policy.Scope, area string, p Period, windows, minCount int, minScore float64) ([]Hotspot, error) {
	if err := checkHotspots(area, p, windows, minCount, minScore); err != nil {
		return nil, err
	}
	sl, err := slice(sc, area)
	if err != nil {
		return nil, err
	}
	if windows <= 0 {
		windows = 4
	}
	if minCount <= 0 {
		minCount = 3
	}
	if minScore == 0 {
		minScore = 2
	}
	counts, err := s.reader.KeyCounts(ctx, sl, p, windows, minCount)
	if err != nil {
		return nil, err
	}
	hs := HotspotsOf(counts, windows, minCount, minScore)
	if len(hs) == 0 {
		return hs, nil
	}
	keys := make([]HotKey, len(hs))
	for i, h := range hs {
		keys[i] = HotKey{Kind: h.Kind, Key: h.Key}
	}
	ids, err := s.reader.KeyCases(ctx, sl, p, keys)
	if err != nil {
		return nil, err
	}
	for i := range hs {
		hs[i].CaseIDs = ids[keys[i]]
	}
	return hs, nil
}
