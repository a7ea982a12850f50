package feedback

import (
	"context"
	"time"
	"unicode/utf8"

	"github.com/gridflow/gridflow/pkg/fault"
)

// GetCase reads a case by exactly one of id, case number, hotline order
// number. A merged case carries its primary's state as well.
func (s *Service) GetCase(ctx context.Context, id, number, orderNo string) (*Case, *Case, error) {
	n := 0
	for _, v := range []string{id, number, orderNo} {
		if v != "" {
			n++
		}
		if len(v) > 128 || !utf8.ValidString(v) {
			return nil, nil, fault.New(fault.InvalidArgument, "a case key is at most 128 bytes of UTF-8")
		}
	}
	if n != 1 {
		return nil, nil, fault.New(fault.InvalidArgument, "name exactly one of case_id, case_number, hotline_order_no")
	}
	c, err := s.reader.FindCase(ctx, id, number, orderNo)
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

// Timeline reads a case and its events in log order.
func (s *Service) Timeline(ctx context.Context, id, number string) (*Case, []Event, error) {
	if (id == "") == (number == "") {
		return nil, nil, fault.New(fault.InvalidArgument, "name exactly one of case_id, case_number")
	}
	c, err := s.reader.FindCase(ctx, id, number, "")
	if err != nil {
		return nil, nil, err
	}
	evs, err := s.reader.Timeline(ctx, c.ID)
	return c, evs, err
}

// ListReplies lists replies oldest first.
func (s *Service) ListReplies(ctx context.Context, caseID string, since time.Time, size int, token string) ([]ReplyOf, string, error) {
	return s.reader.ListReplies(ctx, caseID, since, size, token)
}

// Updates reads the log after cursor for watchers; cursor < 0 means "from
// now" and returns the current end.
func (s *Service) Updates(ctx context.Context, cursor int64, caseID string, limit int) ([]Event, int64, error) {
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

func (p Period) check() error {
	if p.Start.IsZero() || p.End.IsZero() || !p.Start.Before(p.End) {
		return fault.New(fault.InvalidArgument, "period needs a start before its end")
	}
	return nil
}

// Figures computes the loop's measures for a scope and period (cases count
// by when they were received).
func (s *Service) Figures(ctx context.Context, scope Scope, code string, p Period) (Figures, error) {
	if err := p.check(); err != nil {
		return Figures{}, err
	}
	f := Filter{From: p.Start, To: p.End}
	switch scope {
	case ScopeDepartment:
		f.Department = code
	case ScopeStreet, ScopeDistrict, ScopeGrid:
		f.AreaCode = code
	case ScopeCity:
		code = ""
	default:
		return Figures{}, fault.New(fault.InvalidArgument, "scope must be department, street, district, grid or city")
	}
	if scope != ScopeCity && code == "" {
		return Figures{}, fault.New(fault.InvalidArgument, "code is required for scope %s", scope)
	}
	cases, err := s.reader.Cases(ctx, f)
	if err != nil {
		return Figures{}, err
	}
	return Measure(cases, f.Department, s.now()), nil
}

// Pareto ranks categories in an area and period.
func (s *Service) Pareto(ctx context.Context, area string, p Period) ([]ParetoRow, int, error) {
	if err := p.check(); err != nil {
		return nil, 0, err
	}
	cases, err := s.reader.Cases(ctx, Filter{AreaCode: area, From: p.Start, To: p.End})
	if err != nil {
		return nil, 0, err
	}
	rows, total := Pareto(cases)
	return rows, total, nil
}

// Hotspots finds places and sources rising against their baseline windows.
func (s *Service) Hotspots(ctx context.Context, area string, p Period, windows, minCount int, minScore float64) ([]Hotspot, error) {
	if err := p.check(); err != nil {
		return nil, err
	}
	if windows <= 0 {
		windows = 4
	}
	if minScore == 0 {
		minScore = 2
	}
	from := p.Start.Add(-time.Duration(windows) * p.End.Sub(p.Start))
	cases, err := s.reader.Cases(ctx, Filter{AreaCode: area, From: from, To: p.End})
	if err != nil {
		return nil, err
	}
	return Hotspots(cases, p.Start, p.End, windows, minCount, minScore), nil
}
