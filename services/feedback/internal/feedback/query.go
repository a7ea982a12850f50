package feedback

import (
	"context"
	"strings"
	"time"

	"github.com/gridflow/gridflow/pkg/caseref"
	"github.com/gridflow/gridflow/pkg/fault"
)

// GetCase reads a case by exactly one of id, case number, hotline order
// number. A merged case carries its primary's state as well.
func (s *Service) GetCase(ctx context.Context, id, number, orderNo string) (*Case, *Case, error) {
	c, err := s.findCase(ctx, id, number, orderNo)
	if err != nil || !c.Merged() {
		return c, nil, err
	}
	p, err := s.reader.FindCase(ctx, c.PrimaryCaseID, "", "")
	if fault.KindOf(err) == fault.NotFound {
		return c, nil, nil
	}
	return c, p, err
}

// ListCases lists cases newest first.
func (s *Service) ListCases(ctx context.Context, f Filter) ([]*Case, string, error) {
	return s.reader.ListCases(ctx, f)
}

// findCase reads a case by exactly one of id, case number and hotline
// order number; a case feedback does not know is NotFound naming what was
// asked.
func (s *Service) findCase(ctx context.Context, id, number, orderNo string) (*Case, error) {
	ref, err := caseref.FromFields("", id, number, orderNo)
	if err != nil {
		return nil, err
	}
	// The reference as caseref read it: a case id in capitals is the
	// same case.
	id, number, orderNo = ref.Fields()
	c, err := s.reader.FindCase(ctx, id, number, orderNo)
	if fault.KindOf(err) == fault.NotFound {
		return nil, ref.NotFound("feedback")
	}
	return c, err
}

// Timeline reads a case, by id, case number or hotline order number, and
// its events in log order.
func (s *Service) Timeline(ctx context.Context, id, number, orderNo string) (*Case, []Event, error) {
	c, err := s.findCase(ctx, id, number, orderNo)
	if err != nil {
		return nil, nil, err
	}
	evs, err := s.reader.Timeline(ctx, c.ID)
	return c, evs, err
}

// ListReplies lists replies oldest first, of one case when caseID is set.
func (s *Service) ListReplies(ctx context.Context, caseID string, since time.Time, size int, token string) ([]ReplyOf, string, error) {
	if caseID != "" && !caseref.IsID(caseID) {
		var vs fault.Violations
		vs.Add("case_id", "is not a case id")
		return nil, "", vs.Err()
	}
	caseID = strings.ToLower(caseID)
	return s.reader.ListReplies(ctx, caseID, since, size, token)
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
func (s *Service) Figures(ctx context.Context, scope Scope, code string, p Period) (Figures, error) {
	var vs fault.Violations
	switch scope {
	case ScopeDepartment, ScopeStreet, ScopeDistrict, ScopeGrid:
		if code == "" {
			vs.Add("code", "is required for scope %s", scope)
		}
	case ScopeCity:
		code = ""
	default:
		vs.Add("scope", "must be department, street, district, grid or city")
	}
	p.check(&vs)
	if err := vs.Err(); err != nil {
		return Figures{}, err
	}
	t, err := s.reader.Tally(ctx, TallyQuery{Scope: scope, Code: code, Period: p, Now: s.now()})
	if err != nil {
		return Figures{}, err
	}
	return t.Figures(), nil
}

// Pareto ranks categories in an area and period.
func (s *Service) Pareto(ctx context.Context, area string, p Period) ([]ParetoRow, int, error) {
	var vs fault.Violations
	if p.check(&vs); vs.Err() != nil {
		return nil, 0, vs.Err()
	}
	counts, err := s.reader.CategoryCounts(ctx, area, p)
	if err != nil {
		return nil, 0, err
	}
	rows, total := ParetoOf(counts)
	return rows, total, nil
}

// Hotspots finds places and sources rising against their baseline windows.
func (s *Service) Hotspots(ctx context.Context, area string, p Period, windows, minCount int, minScore float64) ([]Hotspot, error) {
	var vs fault.Violations
	if p.check(&vs); vs.Err() != nil {
		return nil, vs.Err()
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
	counts, err := s.reader.KeyCounts(ctx, area, p, windows, minCount)
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
	ids, err := s.reader.KeyCases(ctx, area, p, keys)
	if err != nil {
		return nil, err
	}
	for i := range hs {
		hs[i].CaseIDs = ids[keys[i]]
	}
	return hs, nil
}
