// Package metrics holds the evaluation formulas of the closed loop
// (DOMAIN.md "Evaluation formulas"): the hotline's three rates and their
// composite, a department's 100-point score and grade, Pareto analysis,
// hotspots against a baseline, and time-to-act statistics. It is pure
// arithmetic over counts the feedback service keeps; every formula is tested
// on hand-computed examples.
package metrics

import (
	"cmp"
	"math"
	"math/big"
	"slices"
	"time"
)

// Satisfaction is the citizen's rating on a callback.
type Satisfaction int

// Ratings.
const (
	Unrated Satisfaction = iota
	Satisfied
	Basic // 基本满意
	Unsatisfied
)

// Callback is one callback (回访) result.
type Callback struct {
	Reached         bool // the citizen answered; an unreached callback is retried, not counted
	ContactedByUnit bool // the citizen says the handling unit contacted them
	Solved          bool
	Satisfaction    Satisfaction
	Excluded        bool // the case was excluded as 不合理诉求
}

// ThreeRates are Beijing's 接诉即办 三率, as fractions in [0,1], over valid
// callbacks: reached and not excluded.
type ThreeRates struct {
	Valid      int // the denominator
	Excluded   int // reached but excluded as 不合理诉求, left out of Valid
	Unreached  int // not counted
	Response   float64
	Resolution float64
	Satisfied  float64
	// Composite is 0.1 响应 + 0.5 解决 + 0.4 满意, shown ×100.
	Composite float64
}

// CallbackCounts are the tallies the three rates are computed from (what
// the store aggregates in SQL). Contacted, Solved, Satisfied and Basic
// count valid callbacks only.
type CallbackCounts struct {
	Valid, Excluded, Unreached int
	Contacted, Solved          int
	Satisfied, Basic           int
}

// Tally counts callbacks for RatesOf.
func Tally(cbs []Callback) CallbackCounts {
	var n CallbackCounts
	for _, c := range cbs {
		switch {
		case !c.Reached:
			n.Unreached++
			continue
		case c.Excluded:
			n.Excluded++
			continue
		}
		n.Valid++
		if c.ContactedByUnit {
			n.Contacted++
		}
		if c.Solved {
			n.Solved++
		}
		switch c.Satisfaction {
		case Satisfied:
			n.Satisfied++
		case Basic:
			n.Basic++
		}
	}
	return n
}

// Rates computes the three rates. With no valid callback every rate is 0
// and Valid says why.
func Rates(cbs []Callback) ThreeRates { return RatesOf(Tally(cbs)) }

// RatesOf computes the three rates from counts: 满意 weighs a basic rating
// 0.9.
func RatesOf(n CallbackCounts) ThreeRates {
	r := ThreeRates{Valid: n.Valid, Excluded: n.Excluded, Unreached: n.Unreached}
	if r.Valid == 0 {
		return r
	}
	v := float64(r.Valid)
	satisfied := float64(n.Satisfied) + 0.9*float64(n.Basic)
	r.Response, r.Resolution, r.Satisfied = float64(n.Contacted)/v, float64(n.Solved)/v, satisfied/v
	r.Composite = 100 * (0.1*r.Response + 0.5*r.Resolution + 0.4*r.Satisfied)
	return r
}

// TaskCounts are a department's (or an area's) counts over a period.
type TaskCounts struct {
	ToHandle      int // tasks due to be handled in the period
	Handled       int // of those, completed
	HandledOnTime int // of those, completed by their deadline
	Closed        int // cases closed
	Reworked      int // of the closed, reopened at least once (返工)
	OverdueOpen   int // to handle, not completed, past the deadline (超期待处置)
	Extended      int // tasks granted an extension (延期)
}

// Score is the 100-point assessment and its parts, each a fraction.
type Score struct {
	Disposal     float64 // 处置率 = handled / to-handle
	OnTime       float64 // 按期处置率 = handled on time / to-handle
	Rework       float64 // 返工率 = reworked / closed
	OverdueOpen  float64 // 超期待处置率 = overdue open / to-handle
	Extension    float64 // 延期率 = extended / to-handle
	Points       float64 // 30 处置 + 20 按期 + 20 (1−返工) + 20 (1−超期待处置) + 10 (1−延期)
	Grade        string  // A ≥ 90, B ≥ 75, C ≥ 60, D ≥ 40, E below
	NothingToAct bool    // ToHandle was 0: no score and no grade
}

func ratio(a, b int) float64 {
	if b == 0 {
		return 0
	}
	return float64(a) / float64(b)
}

// Assess computes the score from counts.
func Assess(c TaskCounts) Score {
	s := Score{
		Disposal:    ratio(c.Handled, c.ToHandle),
		OnTime:      ratio(c.HandledOnTime, c.ToHandle),
		Rework:      ratio(c.Reworked, c.Closed),
		OverdueOpen: ratio(c.OverdueOpen, c.ToHandle),
		Extension:   ratio(c.Extended, c.ToHandle),
	}
	if c.ToHandle == 0 {
		// A unit with nothing to act on has no score, not a bad one.
		s.NothingToAct = true
		return s
	}
	s.Points = 30*s.Disposal + 20*s.OnTime + 20*(1-s.Rework) + 20*(1-s.OverdueOpen) + 10*(1-s.Extension)
	s.Points = math.Round(s.Points*100) / 100
	s.Grade = Grade(s.Points)
	return s
}

// Grade maps a 100-point score to its letter.
func Grade(points float64) string {
	switch {
	case points >= 90:
		return "A"
	case points >= 75:
		return "B"
	case points >= 60:
		return "C"
	case points >= 40:
		return "D"
	}
	return "E"
}

// ParetoRow is one category in a Pareto table.
type ParetoRow struct {
	Category   string
	Count      int
	Share      float64 // of the total
	Cumulative float64 // running share, largest first
	VitalFew   bool    // within the first 80 %, including the category that crosses it
}

// Pareto orders categories by count (ties by name) with cumulative shares.
func Pareto(counts map[string]int) []ParetoRow {
	rows := make([]ParetoRow, 0, len(counts))
	total := 0
	for c, n := range counts {
		if n > 0 {
			rows = append(rows, ParetoRow{Category: c, Count: n})
			total += n
		}
	}
	slices.SortFunc(rows, func(a, b ParetoRow) int {
		return cmp.Or(cmp.Compare(b.Count, a.Count), cmp.Compare(a.Category, b.Category))
	})
	run := 0
	prev := 0.0
	for i := range rows {
		run += rows[i].Count
		rows[i].Share = float64(rows[i].Count) / float64(total)
		rows[i].Cumulative = float64(run) / float64(total)
		rows[i].VitalFew = prev < 0.8
		prev = rows[i].Cumulative
	}
	return rows
}

// Hotspot is a place or source whose count rose against its own baseline.
type Hotspot struct {
	Key      string
	Current  int
	Baseline float64 // mean count over the baseline periods
	// Score is how unusual Current is: (current − baseline) / √(baseline + 1),
	// a Poisson-style z-score that does not explode on a zero baseline.
	Score float64
}

// Hotspots compares the current period's counts with the mean of the
// baseline periods (e.g. this week against the four before) and returns the
// keys with at least minCount reports whose score reaches minScore, most
// unusual first.
func Hotspots(current map[string]int, baseline []map[string]int, minCount int, minScore float64) []Hotspot {
	var out []Hotspot
	for k, n := range current {
		if n < minCount {
			continue
		}
		mean := 0.0
		if len(baseline) > 0 {
			for _, b := range baseline {
				mean += float64(b[k])
			}
			mean /= float64(len(baseline))
		}
		score := (float64(n) - mean) / math.Sqrt(mean+1)
		if score >= minScore {
			out = append(out, Hotspot{Key: k, Current: n, Baseline: mean, Score: score})
		}
	}
	slices.SortFunc(out, func(a, b Hotspot) int {
		return cmp.Or(cmp.Compare(b.Score, a.Score), cmp.Compare(a.Key, b.Key))
	})
	return out
}

// Durations summarises times to act (to sign for, to complete).
type Durations struct {
	N   int
	Avg time.Duration
	P90 time.Duration // nearest-rank 90th percentile
}

// Summarise computes the average (the mean truncated to the nanosecond)
// and the 90th percentile. The store computes the same in SQL: div(sum, n)
// and percentile_disc(0.9), which is this nearest rank.
func Summarise(ds []time.Duration) Durations {
	if len(ds) == 0 {
		return Durations{}
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	// The sum of a city's year of durations overflows an int64 of
	// nanoseconds: sum exactly, then truncate the mean toward zero.
	sum := new(big.Int)
	var d big.Int
	for _, x := range s {
		sum.Add(sum, d.SetInt64(int64(x)))
	}
	avg := sum.Quo(sum, d.SetInt64(int64(len(s))))
	rank := int(math.Ceil(0.9*float64(len(s)))) - 1
	return Durations{N: len(s), Avg: time.Duration(avg.Int64()), P90: s[rank]}
}
