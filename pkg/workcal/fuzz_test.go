package workcal

import (
	"testing"
	"time"
)

// FuzzAddWorking checks the invariants deadlines rely on, over 2025–2028
// (listed, provisional and unlisted years):
//   - adding more never gives an earlier time, for every kind;
//   - a later start never gives an earlier deadline;
//   - a working-time or working-day deadline is inside working hours (or at
//     the end of a span), and never before the start;
//   - the working time between start and a working-time deadline is exactly
//     the limit (AddWorking and WorkingBetween agree).
func FuzzAddWorking(f *testing.F) {
	c := cal2026(f)
	lo := time.Date(2025, 12, 1, 0, 0, 0, 0, shanghai).Unix()
	hi := time.Date(2028, 2, 1, 0, 0, 0, 0, shanghai).Unix()
	f.Fuzz(func(t *testing.T, startSec int64, amount, extra uint32, kind uint8, delay uint32) {
		start := time.Unix(lo+mod(startSec, hi-lo), 0)
		var d1, d2 Duration
		switch kind % 3 {
		case 0:
			a := time.Duration(amount%(48*60)) * time.Minute
			d1, d2 = ClockTime(a), ClockTime(a+time.Duration(extra%(48*60))*time.Minute)
		case 1:
			a := time.Duration(amount%(200*60)) * time.Minute
			d1, d2 = Working(a), Working(a+time.Duration(extra%(48*60))*time.Minute)
		case 2:
			a := int(amount % 40)
			d1, d2 = Days(a), Days(a+int(extra%20))
		}
		r1, _ := c.AddWorking(start, d1)
		r2, _ := c.AddWorking(start, d2)
		if r2.Before(r1) {
			t.Fatalf("%v + %v = %v but + %v = %v (earlier)", start, d1, r1, d2, r2)
		}
		later := start.Add(time.Duration(delay%(72*3600)) * time.Second)
		if r3, _ := c.AddWorking(later, d1); r3.Before(r1) {
			t.Fatalf("%v + %v = %v but later start %v gives %v", start, d1, r1, later, r3)
		}
		if r1.Before(start) {
			t.Fatalf("%v + %v = %v, before the start", start, d1, r1)
		}
		if d1.Kind == Clock {
			return
		}
		if !inWorkingHours(c, r1) {
			t.Fatalf("%v + %v = %v, outside working hours", start, d1, r1)
		}
		if d1.Kind == WorkingTime {
			if got := c.WorkingBetween(start, r1); got != d1.Time {
				t.Fatalf("WorkingBetween(%v, %v) = %v, want %v", start, r1, got, d1.Time)
			}
		}
	})
}

// inWorkingHours accepts the closed spans of working days: a deadline may be
// exactly the end of a span (12:00, 17:30).
func inWorkingHours(c *Calendar, t time.Time) bool {
	d, off := c.split(t)
	if w, _ := c.IsWorkingDate(d); !w {
		return false
	}
	for _, s := range c.hours {
		if s.Start <= off && off <= s.End {
			return true
		}
	}
	return false
}

func mod(a, m int64) int64 {
	r := a % m
	if r < 0 {
		r += m
	}
	return r
}

// FuzzParseDuration: limits come from city-supplied YAML. Whatever is accepted
// must be within the bounds and round-trip through String.
func FuzzParseDuration(f *testing.F) {
	f.Fuzz(func(t *testing.T, s string) {
		d, err := ParseDuration(s)
		if err != nil {
			return
		}
		if d.Time < 0 || d.Time > MaxClock || d.Days < 0 || d.Days > MaxWorkingDays ||
			(d.Kind == WorkingTime && d.Time > MaxWorkingTime) {
			t.Fatalf("ParseDuration(%q) = %#v, out of bounds", s, d)
		}
		back, err := ParseDuration(d.String())
		if err != nil || back != d {
			t.Fatalf("round trip of %q: %q → %#v, %v", s, d.String(), back, err)
		}
	})
}
