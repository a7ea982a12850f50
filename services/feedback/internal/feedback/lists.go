package feedback

// The three lists (issue 20, 社区分析工具): a community's or street's
// problem list (recurring subjects and places, with their Pareto), needs list
// (a needs survey aggregated on import, plus the 建议/求助 cases) and service
// list (each need with the services that answer it, unanswered needs
// first), and the month's figures a community hands in instead of typing
// them again (减负).

import (
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"hash"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/gridflow/gridflow/pkg/fault"
	"github.com/gridflow/gridflow/pkg/freetext"
	"github.com/gridflow/gridflow/pkg/policy"
	"github.com/gridflow/gridflow/pkg/reference"
	"github.com/gridflow/gridflow/services/feedback/internal/metrics"
)

// Need levels of a survey answer: 无 0, 低 1, 中 2, 高 3. A household asks
// for a category when its level is at least AskingLevel (中).
const (
	LevelNone = iota
	LevelLow
	LevelMiddle
	LevelHigh
	NeedLevels  = 4
	AskingLevel = LevelMiddle
)

// levelNames are the Chinese words a survey CSV may use for the levels.
var levelNames = [NeedLevels]string{"无", "低", "中", "高"}

// LevelName is the word of a need level.
func LevelName(l int) string { return levelNames[l] }

// ParseLevel reads a need level: 0–3 or 无/低/中/高.
func ParseLevel(s string) (int, bool) {
	s = strings.TrimSpace(s)
	for i, n := range levelNames {
		if s == n || s == strconv.Itoa(i) {
			return i, true
		}
	}
	return 0, false
}

// Limits of the lists.
const (
	// MaxSurveyAnswers bounds one import: 14 categories for 50,000
	// households.
	MaxSurveyAnswers = 700_000
	// MaxSurveyIDBytes bounds a survey id, like a request id.
	MaxSurveyIDBytes = 64
	// MaxTitleBytes bounds a survey's title.
	MaxTitleBytes = 200
	// MaxHouseholdBytes bounds a household's questionnaire number.
	MaxHouseholdBytes = 64
	// DefaultListLimit and MaxListLimit bound the problem list's rows.
	DefaultListLimit = 20
	MaxListLimit     = 500
	// RecurringCount is how many cases make a place recur.
	RecurringCount = 2
)

// ListsStore is what the lists need of the store.
type ListsStore interface {
	// CategoryCounts counts the non-excluded cases received in p per
	// catalogue item.
	CategoryCounts(ctx context.Context, sl Slice, p Period) ([]CategoryCount, error)
	// PlaceCounts counts the non-excluded cases received in p per place
	// key (cases without a place are left out).
	PlaceCounts(ctx context.Context, sl Slice, p Period) ([]CategoryCount, error)
	// RequestCounts counts the non-excluded 建议 and 求助 cases received in
	// p per catalogue item.
	RequestCounts(ctx context.Context, sl Slice, p Period) ([]CategoryCount, error)
	// SaveSurvey stores an aggregated survey once per id: a second import
	// with the same hash returns the first result (Replayed), with another
	// hash fault.AlreadyExists.
	SaveSurvey(ctx context.Context, s *Survey) (SurveyResult, error)
	// LatestSurveys returns, for each community, the tally of the newest
	// survey that counted it.
	LatestSurveys(ctx context.Context, communities []string) ([]SurveyTally, error)
	// MonthTallies aggregates a community's cases received in p per grid
	// ("" for cases of no known grid).
	MonthTallies(ctx context.Context, community string, p Period, now time.Time) (map[string]AreaTally, error)
	// InspectionCounts are a community's inspections of a month per grid.
	InspectionCounts(ctx context.Context, community string, month time.Time) (map[string]InspectionCount, error)
}

// Lists serves the three lists and the month's figures.
type Lists struct {
	store ListsStore
	ref   func() *reference.Set
	now   func() time.Time
}

// NewLists returns the lists over a store and the current reference set.
func NewLists(store ListsStore, ref func() *reference.Set, now func() time.Time) *Lists {
	return &Lists{store: store, ref: ref, now: now}
}

// listArea checks that area names a known area the caller reaches: admin
// any; a street's or district's dispatcher one inside its own; a community's
// secretary its community or a grid of it.
func listArea(sc policy.Scope, ref *reference.Set, field, area string, levels ...reference.Level) (reference.Area, error) {
	var vs fault.Violations
	freetext.Code(field, area, MaxCodeBytes, &vs)
	if area == "" {
		vs.Add(field, "is required")
	}
	if err := vs.Err(); err != nil {
		return reference.Area{}, err
	}
	a, ok := ref.Area(area)
	if !ok {
		vs.Add(field, "unknown area %q", area)
		return reference.Area{}, vs.Err()
	}
	if len(levels) > 0 && !slices.Contains(levels, a.Level) {
		names := make([]string, len(levels))
		for i, l := range levels {
			names[i] = l.String()
		}
		vs.Add(field, "%s is a %v: want a %s", area, a.Level, strings.Join(names, " or "))
		return reference.Area{}, vs.Err()
	}
	if !reaches(sc, area) {
		return reference.Area{}, fault.New(fault.PermissionDenied, "area %s is outside the caller's %v", area, sc)
	}
	return a, nil
}

func reaches(sc policy.Scope, area string) bool {
	if sc.Kind == policy.Community {
		return sc.Code != "" && strings.HasPrefix(area, sc.Code)
	}
	return sc.AllowsArea(area)
}

// ProblemRow is a recurring subject or place with its Pareto share.
type ProblemRow struct {
	metrics.ParetoRow
	Name string
}

// ProblemList is the problem list of an area and period.
type ProblemList struct {
	// Total counts the cases; PlaceTotal those with a place.
	Total, PlaceTotal int
	Subjects, Places  []ProblemRow
}

// ProblemList ranks an area's subjects (catalogue items) and recurring
// places (at least RecurringCount cases) in a period, each with its share
// and cumulative share of the cases (of the cases with a place, for
// places), at most limit of each.
func (l *Lists) ProblemList(ctx context.Context, sc policy.Scope, area string, p Period, limit int) (ProblemList, error) {
	var vs fault.Violations
	p.check(&vs)
	if limit < 0 || limit > MaxListLimit {
		vs.Add("limit", "must be between 0 (the default, %d) and %d", DefaultListLimit, MaxListLimit)
	}
	if err := vs.Err(); err != nil {
		return ProblemList{}, err
	}
	if limit == 0 {
		limit = DefaultListLimit
	}
	if _, err := listArea(sc, l.ref(), "area_code", area); err != nil {
		return ProblemList{}, err
	}
	sl := Slice{Area: area}
	subjects, err := l.store.CategoryCounts(ctx, sl, p)
	if err != nil {
		return ProblemList{}, err
	}
	places, err := l.store.PlaceCounts(ctx, sl, p)
	if err != nil {
		return ProblemList{}, err
	}
	var out ProblemList
	rows, total := ParetoOf(subjects)
	out.Total = total
	for _, r := range rows[:min(limit, len(rows))] {
		out.Subjects = append(out.Subjects, ProblemRow(r))
	}
	rows, out.PlaceTotal = ParetoOf(places)
	for _, r := range rows {
		if r.Count < RecurringCount || len(out.Places) == limit {
			break
		}
		out.Places = append(out.Places, ProblemRow(r))
	}
	return out, nil
}

// PlaceName renders a place key (district|place|lane|number|shop) as an
// address: 长乐路340号 (兰州拉面), 共和新路/延长路, 彭浦新村12弄.
func PlaceName(key string) string {
	parts := strings.Split(key, "|")
	if len(parts) != 5 {
		return key
	}
	var b strings.Builder
	b.WriteString(parts[1])
	if parts[2] != "" {
		b.WriteString(parts[2] + "弄")
	}
	if parts[3] != "" {
		b.WriteString(parts[3] + "号")
	}
	if parts[4] != "" {
		b.WriteString(" (" + parts[4] + ")")
	}
	return b.String()
}

// LaneKey cuts a place key at the lane: the number and shop of a private
// location (an anonymous caller's home) are never kept.
func LaneKey(key string) string {
	parts := strings.Split(key, "|")
	if len(parts) != 5 {
		return key
	}
	return strings.Join(parts[:3], "|") + "||"
}

// SurveyAnswer is one household's answer for one category, as a survey CSV
// row gives it (Line is the row, for errors).
type SurveyAnswer struct {
	Line                                  int
	Household, Community, Category, Level string
}

// Survey is a needs survey aggregated as it is imported: no household's
// answers are kept, only counts per community × category × level and the
// households per community.
type Survey struct {
	ID, Title string
	Principal string
	Answers   int
	// Counts[community][category][level] counts households.
	Counts map[string]map[string]*[NeedLevels]int
	// Households counts each community's households.
	Households map[string]int

	seen map[string]map[string]map[string]bool // community → household → category
	h    hash.Hash
}

// SurveyResult is what an import did.
type SurveyResult struct {
	SurveyID                         string
	Answers, Households, Communities int
	ImportedAt                       time.Time
	// Replayed: the survey was imported before with the same answers.
	Replayed bool
}

// SurveyTally is a community's counts in one survey.
type SurveyTally struct {
	SurveyID, Title string
	Community       string
	ImportedAt      time.Time
	Households      int
	Counts          map[string][NeedLevels]int
}

// StartSurvey begins an import by the caller sc (principal names it for
// the record).
func (l *Lists) StartSurvey(sc policy.Scope, principal, id, title string) (*Survey, error) {
	var vs fault.Violations
	freetext.Code("survey_id", id, MaxSurveyIDBytes, &vs)
	if id == "" {
		vs.Add("survey_id", "is required")
	}
	freetext.Check("title", title, MaxTitleBytes, false, &vs)
	if err := vs.Err(); err != nil {
		return nil, err
	}
	switch sc.Kind {
	case policy.All, policy.Street, policy.District, policy.Community:
	default:
		return nil, fault.New(fault.PermissionDenied, "the caller's %v imports no survey", sc)
	}
	h := sha256.New()
	h.Write([]byte(title))
	h.Write([]byte{0})
	return &Survey{ID: id, Title: title, Principal: principal, Counts: map[string]map[string]*[NeedLevels]int{},
		Households: map[string]int{}, seen: map[string]map[string]map[string]bool{}, h: h}, nil
}

// Add checks and counts a batch of answers. Every answer names a community
// the caller reaches, a category of servicecategories.yaml (code or name)
// and a level; a household answers each category once. A bad answer is
// INVALID_ARGUMENT naming its line.
func (l *Lists) Add(sc policy.Scope, s *Survey, answers []SurveyAnswer) error {
	ref := l.ref()
	var vs fault.Violations
	if s.Answers+len(answers) > MaxSurveyAnswers {
		vs.Add("answers", "a survey has at most %d answers", MaxSurveyAnswers)
		return vs.Err()
	}
	for _, a := range answers {
		field := "answers[line " + strconv.Itoa(a.Line) + "]"
		n := len(vs)
		freetext.Code(field+".household", a.Household, MaxHouseholdBytes, &vs)
		if strings.TrimSpace(a.Household) == "" {
			vs.Add(field+".household", "is required")
		}
		if ar, ok := ref.Area(a.Community); !ok || ar.Level != reference.LevelCommunity {
			vs.Add(field+".community", "%q is not a community code of areas.yaml", a.Community)
		} else if !reaches(sc, a.Community) {
			return fault.New(fault.PermissionDenied, "%s: community %s is outside the caller's %v", field, a.Community, sc)
		}
		cat, ok := categoryOf(ref, a.Category)
		if !ok {
			vs.Add(field+".category", "%q is not a service category (code or name of servicecategories.yaml)", a.Category)
		}
		level, ok := ParseLevel(a.Level)
		if !ok {
			vs.Add(field+".level", "%q: want 0–3 or 无/低/中/高", a.Level)
		}
		if len(vs) > n {
			if len(vs) >= 20 {
				break
			}
			continue
		}
		hh := s.seen[a.Community]
		if hh == nil {
			hh = map[string]map[string]bool{}
			s.seen[a.Community] = hh
		}
		cats := hh[a.Household]
		if cats == nil {
			cats = map[string]bool{}
			hh[a.Household] = cats
			s.Households[a.Community]++
		}
		if cats[cat] {
			vs.Add(field+".category", "household %s of %s answered %s twice", a.Household, a.Community, cat)
			continue
		}
		cats[cat] = true
		byCat := s.Counts[a.Community]
		if byCat == nil {
			byCat = map[string]*[NeedLevels]int{}
			s.Counts[a.Community] = byCat
		}
		if byCat[cat] == nil {
			byCat[cat] = &[NeedLevels]int{}
		}
		byCat[cat][level]++
		s.Answers++
		var rec [8]byte
		binary.BigEndian.PutUint64(rec[:], uint64(level))
		for _, part := range []string{a.Community, a.Household, cat} {
			s.h.Write([]byte(part))
			s.h.Write([]byte{0})
		}
		s.h.Write(rec[:])
	}
	return vs.Err()
}

func categoryOf(ref *reference.Set, s string) (string, bool) {
	s = strings.TrimSpace(s)
	if c, ok := ref.ServiceCategory(s); ok {
		return c.Code, true
	}
	for _, c := range ref.ServiceCategories() {
		if c.Name == s {
			return c.Code, true
		}
	}
	return "", false
}

// Hash is the survey's content hash so far (its answers in order).
func (s *Survey) Hash() string { return hex.EncodeToString(s.h.Sum(nil)) }

// Finish stores the survey. The household numbers are forgotten: only the
// counts are stored.
func (l *Lists) Finish(ctx context.Context, s *Survey) (SurveyResult, error) {
	if s.Answers == 0 {
		var vs fault.Violations
		vs.Add("answers", "the survey has no answer")
		return SurveyResult{}, vs.Err()
	}
	s.seen = nil
	return l.store.SaveSurvey(ctx, s)
}

// Need is one category's need in a community or street.
type Need struct {
	Category reference.ServiceCategory
	// Levels counts households per need level.
	Levels [NeedLevels]int
	// Asking counts households at AskingLevel or above; Share is Asking
	// over the households surveyed.
	Asking int
	Share  float64
	// Cases counts the 建议/求助 cases of the period mapped to the category.
	Cases    int
	Services []reference.Service
}

// NeedsList is an area's needs, ranked.
type NeedsList struct {
	Area string
	// Surveys are the surveys counted (the newest of each community).
	Surveys    []SurveyTally
	Households int
	Needs      []Need
	// Unmapped are the 建议/求助 cases whose item maps to no category, per
	// item.
	Unmapped []CategoryCount
}

// NeedsList ranks the needs of a community or street: every category with
// the share of surveyed households asking for it (level 中 or 高; the newest
// survey of each community), and the 建议/求助 cases received in p mapped to
// it; by share, then cases, then category code.
func (l *Lists) NeedsList(ctx context.Context, sc policy.Scope, area string, p Period) (NeedsList, error) {
	var vs fault.Violations
	if p.check(&vs); vs.Err() != nil {
		return NeedsList{}, vs.Err()
	}
	ref := l.ref()
	a, err := listArea(sc, ref, "area_code", area, reference.LevelStreet, reference.LevelCommunity)
	if err != nil {
		return NeedsList{}, err
	}
	communities := []string{a.Code}
	if a.Level == reference.LevelStreet {
		communities = nil
		for _, c := range ref.Areas(reference.LevelCommunity) {
			if c.Parent == a.Code {
				communities = append(communities, c.Code)
			}
		}
	}
	surveys, err := l.store.LatestSurveys(ctx, communities)
	if err != nil {
		return NeedsList{}, err
	}
	requests, err := l.store.RequestCounts(ctx, Slice{Area: area}, p)
	if err != nil {
		return NeedsList{}, err
	}
	out := NeedsList{Area: area, Surveys: surveys}
	byCat := map[string]*Need{}
	for _, c := range ref.ServiceCategories() {
		out.Needs = append(out.Needs, Need{Category: c, Services: ref.ServicesFor(c.Code, area)})
	}
	for i := range out.Needs {
		byCat[out.Needs[i].Category.Code] = &out.Needs[i]
	}
	for _, s := range surveys {
		out.Households += s.Households
		for cat, levels := range s.Counts {
			n, ok := byCat[cat]
			if !ok {
				continue // a category since removed from the reference data
			}
			for lv, k := range levels {
				n.Levels[lv] += k
				if lv >= AskingLevel {
					n.Asking += k
				}
			}
		}
	}
	for _, r := range requests {
		cat, ok := ref.CategoryOfItem(r.Code)
		if n := byCat[cat]; ok && n != nil {
			n.Cases += r.Count
			continue
		}
		out.Unmapped = append(out.Unmapped, r)
	}
	for i := range out.Needs {
		if out.Households > 0 {
			out.Needs[i].Share = float64(out.Needs[i].Asking) / float64(out.Households)
		}
	}
	slices.SortStableFunc(out.Needs, func(x, y Need) int {
		return cmp.Or(cmp.Compare(y.Share, x.Share), cmp.Compare(y.Cases, x.Cases), cmp.Compare(x.Category.Code, y.Category.Code))
	})
	slices.SortStableFunc(out.Unmapped, func(x, y CategoryCount) int {
		return cmp.Or(cmp.Compare(y.Count, x.Count), cmp.Compare(x.Code, y.Code))
	})
	return out, nil
}

// ServiceList is the needs of a community or street that someone asks for
// (a household at 中 or above, or a 建议/求助 case), each with the services
// that answer it: the needs no service answers first, then by the needs
// list's rank.
func (l *Lists) ServiceList(ctx context.Context, sc policy.Scope, area string, p Period) (NeedsList, error) {
	nl, err := l.NeedsList(ctx, sc, area, p)
	if err != nil {
		return NeedsList{}, err
	}
	needs := nl.Needs[:0:0]
	for _, n := range nl.Needs {
		if n.Asking > 0 || n.Cases > 0 {
			needs = append(needs, n)
		}
	}
	slices.SortStableFunc(needs, func(x, y Need) int {
		return cmp.Compare(min(len(x.Services), 1), min(len(y.Services), 1))
	})
	nl.Needs = needs
	return nl, nil
}

// AreaTally is what an area's month figures are computed from.
type AreaTally struct {
	Tally
	// SelfDisposed counts the cases a grid worker reported as settled on
	// the spot (CaseReceived.self_disposed).
	SelfDisposed int
}

// InspectionCount counts a grid's inspections of a month: recorded as done
// (OnTime of them by their due time) and missed.
type InspectionCount struct{ Done, OnTime, Missed int }

// AreaFigures are one area's figures of a month.
type AreaFigures struct {
	Area         reference.Area
	Cases        int
	Rates        metrics.ThreeRates
	Counts       metrics.TaskCounts
	OnTimeRate   float64 // handled on time / to handle (按期处置率)
	SelfDisposed int
	Inspections  InspectionCount
	Subjects     []CategoryCount
}

// MonthFigures are a community's figures of a month: the community first,
// then each of its grids.
type MonthFigures struct {
	Month  string
	Period Period
	Areas  []AreaFigures
}

// ParseMonth reads a month "2026-11" as its period in the calendar's zone.
func ParseMonth(field, month string, loc *time.Location) (Period, error) {
	t, err := time.ParseInLocation("2006-01", month, loc)
	if err != nil {
		var vs fault.Violations
		vs.Add(field, "%q is not a month (2026-11)", month)
		return Period{}, vs.Err()
	}
	return Period{Start: t, End: t.AddDate(0, 1, 0)}, nil
}

// MonthFigures computes a community's month (cases by when they were
// received): cases by subject, the three rates, the on-time rate, the
// self-disposals and the inspections done and missed, for the community and
// for each of its grids.
func (l *Lists) MonthFigures(ctx context.Context, sc policy.Scope, community, month string) (MonthFigures, error) {
	ref := l.ref()
	p, err := ParseMonth("month", month, ref.Calendar().Location())
	if err != nil {
		return MonthFigures{}, err
	}
	c, err := listArea(sc, ref, "community_code", community, reference.LevelCommunity)
	if err != nil {
		return MonthFigures{}, err
	}
	tallies, err := l.store.MonthTallies(ctx, community, p, l.now())
	if err != nil {
		return MonthFigures{}, err
	}
	insp, err := l.store.InspectionCounts(ctx, community, p.Start)
	if err != nil {
		return MonthFigures{}, err
	}
	areas := []reference.Area{c}
	for _, g := range ref.Areas(reference.LevelGrid) {
		if g.Parent == community {
			areas = append(areas, g)
		}
	}
	out := MonthFigures{Month: month, Period: p}
	for _, a := range areas {
		var t AreaTally
		var in InspectionCount
		if a.Level == reference.LevelCommunity {
			for _, g := range tallies {
				t = t.add(g)
			}
			for _, g := range insp {
				in = InspectionCount{Done: in.Done + g.Done, OnTime: in.OnTime + g.OnTime, Missed: in.Missed + g.Missed}
			}
		} else {
			t, in = tallies[a.Code], insp[a.Code]
		}
		subjects, err := l.store.CategoryCounts(ctx, Slice{Area: a.Code}, p)
		if err != nil {
			return MonthFigures{}, err
		}
		slices.SortStableFunc(subjects, func(x, y CategoryCount) int {
			return cmp.Or(cmp.Compare(y.Count, x.Count), cmp.Compare(x.Code, y.Code))
		})
		f := t.Figures()
		af := AreaFigures{Area: a, Cases: f.Cases, Rates: f.Rates, Counts: f.Counts, SelfDisposed: t.SelfDisposed,
			Inspections: in, Subjects: subjects}
		if f.Counts.ToHandle > 0 {
			af.OnTimeRate = float64(f.Counts.HandledOnTime) / float64(f.Counts.ToHandle)
		}
		out.Areas = append(out.Areas, af)
	}
	return out, nil
}

func (a AreaTally) add(b AreaTally) AreaTally {
	a.Cases += b.Cases
	a.Excluded += b.Excluded
	x, y := &a.Callbacks, b.Callbacks
	x.Valid, x.Excluded, x.Unreached = x.Valid+y.Valid, x.Excluded+y.Excluded, x.Unreached+y.Unreached
	x.Contacted, x.Solved, x.Satisfied, x.Basic = x.Contacted+y.Contacted, x.Solved+y.Solved, x.Satisfied+y.Satisfied, x.Basic+y.Basic
	c, d := &a.Counts, b.Counts
	c.ToHandle, c.Handled, c.HandledOnTime = c.ToHandle+d.ToHandle, c.Handled+d.Handled, c.HandledOnTime+d.HandledOnTime
	c.OverdueOpen, c.Extended, c.Closed, c.Reworked = c.OverdueOpen+d.OverdueOpen, c.Extended+d.Extended, c.Closed+d.Closed, c.Reworked+d.Reworked
	a.SelfDisposed += b.SelfDisposed
	return a
}

// Inspection is one inspection event counted on its grid's month: done
// (OnTime by its due time) or Missed.
type Inspection struct {
	District, Street, Community, Grid string
	// Month is the first day of the month in the calendar's zone.
	Month          time.Time
	Missed, OnTime bool
}
