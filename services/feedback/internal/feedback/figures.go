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
			done := t.State == TaskCompleted && !t.CompletedAt.IsZero()
			if done {
				f.Counts.Handled++
				if t.CompleteDue.IsZero() || !t.CompletedAt.After(t.CompleteDue) {
					f.Counts.HandledOnTime++
				}
				toComplete = append(toComplete, t.CompletedAt.Sub(t.DispatchedAt))
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
