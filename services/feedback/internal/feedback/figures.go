package feedback

import (
	"time"

	"github.com/gridflow/gridflow/services/feedback/internal/metrics"
)

// Scope is what figures are computed over.
type Scope string

// Scopes.
const (
	ScopeDepartment Scope = "department"
	ScopeStreet     Scope = "street"
	ScopeDistrict   Scope = "district"
	ScopeGrid       Scope = "grid"
	ScopeCity       Scope = "city"
)

// Figures are the loop's measures for one scope and period.
type Figures struct {
	Cases, Excluded int
	Rates           metrics.ThreeRates
	Counts          metrics.TaskCounts
	Score           metrics.Score
	ToSignFor       metrics.Durations
	ToComplete      metrics.Durations
}

// Measure computes figures over cases (already filtered by area and
// period). With a department, only its tasks count, and closed cases are
// those it led. Excluded cases (不合理诉求) are left out and counted.
func Measure(cases []*Case, department string, now time.Time) Figures {
	var f Figures
	var cbs []metrics.Callback
	var toSign, toComplete []time.Duration
	for _, c := range cases {
		if c.Excluded {
			f.Excluded++
			for _, cb := range c.Callbacks {
				if cb.Reached {
					cbs = append(cbs, metrics.Callback{Reached: true, Excluded: true})
				}
			}
			continue
		}
		f.Cases++
		led := department == "" || c.LeadDepartment() == department
		for _, cb := range c.Callbacks {
			if !led {
				continue
			}
			cbs = append(cbs, metrics.Callback{Reached: cb.Reached, ContactedByUnit: cb.ContactedByUnit, Solved: cb.Solved,
				Satisfaction: rating(cb.Satisfaction)})
		}
		if c.State == Closed && led {
			f.Counts.Closed++
			if c.Round > 0 {
				f.Counts.Reworked++
			}
		}
		for _, t := range c.Tasks {
			if !t.counts() || (department != "" && t.Department != department) {
				continue
			}
			f.Counts.ToHandle++
			done := t.State == TaskStateCompleted && !t.CompletedAt.IsZero()
			if done {
				f.Counts.Handled++
				if t.CompleteDue.IsZero() || !t.CompletedAt.After(t.CompleteDue) {
					f.Counts.HandledOnTime++
				}
				if !t.DispatchedAt.IsZero() { // without its dispatch time the duration is unknown, not 292 years
					toComplete = append(toComplete, t.CompletedAt.Sub(t.DispatchedAt))
				}
			} else if !t.CompleteDue.IsZero() && now.After(t.CompleteDue) {
				f.Counts.OverdueOpen++
			}
			if t.Extended {
				f.Counts.Extended++
			}
			if !t.AckedAt.IsZero() && !t.DispatchedAt.IsZero() {
				toSign = append(toSign, t.AckedAt.Sub(t.DispatchedAt))
			}
		}
	}
	f.Rates = metrics.Rates(cbs)
	f.Score = metrics.Assess(f.Counts)
	f.ToSignFor, f.ToComplete = metrics.Summarise(toSign), metrics.Summarise(toComplete)
	return f
}

func rating(s Satisfaction) metrics.Satisfaction {
	switch s {
	case Satisfied:
		return metrics.Satisfied
	case Basic:
		return metrics.Basic
	case Unsatisfied:
		return metrics.Unsatisfied
	}
	return metrics.Unrated
}

// ParetoRow is a category's share.
type ParetoRow struct {
	metrics.ParetoRow
	Name string
}

// Pareto ranks the non-excluded cases' catalogue items.
func Pareto(cases []*Case) ([]ParetoRow, int) {
	counts, names := map[string]int{}, map[string]string{}
	total := 0
	for _, c := range cases {
		if c.Excluded || c.ItemCode == "" {
			continue
		}
		counts[c.ItemCode]++
		names[c.ItemCode] = c.ItemName
		total++
	}
	var out []ParetoRow
	for _, r := range metrics.Pareto(counts) {
		out = append(out, ParetoRow{ParetoRow: r, Name: names[r.Category]})
	}
	return out, total
}

// Hotspot is a place or source whose count rose.
type Hotspot struct {
	metrics.Hotspot
	Kind    string // "place" or "source"
	CaseIDs []string
}

// Hotspots compares [start, end) with the windows of the same length
// before it. cases must cover the whole range.
func Hotspots(cases []*Case, start, end time.Time, windows, minCount int, minScore float64) []Hotspot {
	if windows <= 0 {
		windows = 4
	}
	if minCount <= 0 {
		minCount = 3
	}
	span := end.Sub(start)
	keys := map[string]func(*Case) string{
		"place": func(c *Case) string {
			if c.PlaceKey != "" {
				return c.PlaceKey
			}
			return c.Area.Grid
		},
		"source": func(c *Case) string { return string(c.Source) },
	}
	var out []Hotspot
	for _, kind := range []string{"place", "source"} {
		key := keys[kind]
		current := map[string]int{}
		behind := map[string][]string{}
		baseline := make([]map[string]int, windows)
		for i := range baseline {
			baseline[i] = map[string]int{}
		}
		for _, c := range cases {
			k := key(c)
			if c.Excluded || k == "" || k == "0" {
				continue
			}
			switch at := c.ReceivedAt; {
			case !at.Before(start) && at.Before(end):
				current[k]++
				behind[k] = append(behind[k], c.ID)
			case at.Before(start) && span > 0:
				if w := int((start.Sub(at) - 1) / span); w < windows {
					baseline[w][k]++
				}
			}
		}
		for _, h := range metrics.Hotspots(current, baseline, minCount, minScore) {
			out = append(out, Hotspot{Hotspot: h, Kind: kind, CaseIDs: behind[h.Key]})
		}
	}
	return out
}

// Measure, Pareto and Hotspots above are the in-memory statement of the
// figures, kept as the reference the store's SQL aggregation is tested
// against. The service computes figures from Tally, CategoryCount and
// KeyCount rows the store aggregates, so memory does not grow with the
// number of cases.

// Tally is what a scope's figures are computed from, aggregated by the
// store over the cases of a period (Reader.Tally). Durations are complete
// statistics, as metrics.Summarise would give them.
type Tally struct {
	Cases, Excluded       int
	Callbacks             metrics.CallbackCounts
	Counts                metrics.TaskCounts
	ToSignFor, ToComplete metrics.Durations
}

// Figures applies the formulas to the tallies.
func (t Tally) Figures() Figures {
	return Figures{Cases: t.Cases, Excluded: t.Excluded, Rates: metrics.RatesOf(t.Callbacks), Counts: t.Counts,
		Score: metrics.Assess(t.Counts), ToSignFor: t.ToSignFor, ToComplete: t.ToComplete}
}

// TallyQuery selects what Reader.Tally aggregates: the cases received in
// Period within the scope; Now decides which open tasks are overdue.
type TallyQuery struct {
	Scope Scope
	Code  string
	// Source, when set, counts only the cases from it (the hotline's
	// figures are of its own cases).
	Source Source
	Period Period
	Now    time.Time
}

// Facts are what one case contributes to figures, derived from its view
// when the view is saved; the store keeps them as narrow rows it
// aggregates in SQL. They state Measure's rules case by case.
type Facts struct {
	Excluded bool
	Closed   bool // the case is closed
	Reworked bool // closed after at least one reopening
	Lead     string
	// Callbacks are the case's callbacks as metrics.Tally counts them when
	// the case is not excluded; when it is, its reached callbacks count as
	// excluded (Callbacks.Valid holds them).
	Callbacks metrics.CallbackCounts
	// Place is the hotspot key of the case: its place key, else its grid.
	Place string
	Tasks []TaskFacts
}

// TaskFacts are what one task contributes.
type TaskFacts struct {
	ID, Department string
	Counted        bool // not rejected, forwarded or withdrawn
	Done           bool // completed
	OnTime         bool // completed by its deadline (or without one)
	Extended       bool
	CompleteDue    time.Time // zero when none
	// ToSignFor and ToComplete are nil when the task has no such time.
	ToSignFor, ToComplete *time.Duration
}

// Facts derives the case's figure facts.
func (c *Case) Facts() Facts {
	f := Facts{Excluded: c.Excluded, Closed: c.State == Closed, Reworked: c.State == Closed && c.Round > 0,
		Lead: c.LeadDepartment(), Place: c.PlaceKey}
	if f.Place == "" {
		f.Place = c.Area.Grid
	}
	cbs := make([]metrics.Callback, 0, len(c.Callbacks))
	for _, cb := range c.Callbacks {
		cbs = append(cbs, metrics.Callback{Reached: cb.Reached, ContactedByUnit: cb.ContactedByUnit, Solved: cb.Solved,
			Satisfaction: rating(cb.Satisfaction)})
	}
	f.Callbacks = metrics.Tally(cbs)
	for _, t := range c.Tasks {
		tf := TaskFacts{ID: t.ID, Department: t.Department, Counted: t.counts(), Extended: t.Extended, CompleteDue: t.CompleteDue}
		tf.Done = t.State == TaskStateCompleted && !t.CompletedAt.IsZero()
		if tf.Done {
			tf.OnTime = t.CompleteDue.IsZero() || !t.CompletedAt.After(t.CompleteDue)
			if !t.DispatchedAt.IsZero() { // without its dispatch time the duration is unknown
				d := t.CompletedAt.Sub(t.DispatchedAt)
				tf.ToComplete = &d
			}
		}
		if !t.AckedAt.IsZero() && !t.DispatchedAt.IsZero() {
			d := t.AckedAt.Sub(t.DispatchedAt)
			tf.ToSignFor = &d
		}
		f.Tasks = append(f.Tasks, tf)
	}
	return f
}

// CategoryCount is one catalogue item's count in an area and period, with
// the name its most recently received case gave it.
type CategoryCount struct {
	Code, Name string
	Count      int
}

// ParetoOf ranks categories by count.
func ParetoOf(counts []CategoryCount) ([]ParetoRow, int) {
	m, names := make(map[string]int, len(counts)), make(map[string]string, len(counts))
	total := 0
	for _, c := range counts {
		m[c.Code] += c.Count
		names[c.Code] = c.Name
		total += c.Count
	}
	var out []ParetoRow
	for _, r := range metrics.Pareto(m) {
		out = append(out, ParetoRow{ParetoRow: r, Name: names[r.Category]})
	}
	return out, total
}

// KeyCount is a hotspot key's count in one window: Window 0 is the
// current period, w ≥ 1 the w-th period before it.
type KeyCount struct {
	Kind, Key string
	Window    int
	Count     int
}

// HotKey names a hotspot: its kind ("place" or "source") and key.
type HotKey struct{ Kind, Key string }

// HotspotsOf scores keys from their window counts (Hotspots' rule). The
// counts may leave out keys with fewer than minCount cases in the current
// window: they cannot be hot.
func HotspotsOf(counts []KeyCount, windows, minCount int, minScore float64) []Hotspot {
	var out []Hotspot
	for _, kind := range []string{"place", "source"} {
		current := map[string]int{}
		baseline := make([]map[string]int, windows)
		for i := range baseline {
			baseline[i] = map[string]int{}
		}
		for _, k := range counts {
			switch {
			case k.Kind != kind:
			case k.Window == 0:
				current[k.Key] += k.Count
			case k.Window <= windows:
				baseline[k.Window-1][k.Key] += k.Count
			}
		}
		for _, h := range metrics.Hotspots(current, baseline, minCount, minScore) {
			out = append(out, Hotspot{Hotspot: h, Kind: kind})
		}
	}
	return out
}
