// Package workcal is the working calendar: which days are working days
// (weekdays, minus official holidays, plus make-up working weekends), the
// daily working hours, and deadline arithmetic over them in one time zone
// (Asia/Shanghai for gridflow).
//
// A Calendar is built from plain configuration (Config), so this package
// knows nothing of YAML or of the reference data set that usually supplies it
// (pkg/reference builds the Calendar from calendar.yaml).
//
// # Semantics
//
// Working hours are half-open spans of wall-clock time, by default
// [09:00, 12:00) and [13:30, 17:30) — seven working hours a day. An instant is
// "in working time" when it falls inside a span of a working day.
//
//   - Clock limits are plain elapsed time: received + d.
//   - Working-time limits count only time inside working hours. The clock
//     starts at the first working instant at or after the received time (a
//     case received at 20:00 starts at 09:00 the next working day), and a
//     limit that runs out exactly at the end of a span is due at that end
//     (09:00 + 3 working hours = 12:00, not 13:30).
//   - Working-day limits follow common 12345 practice: N working days after a
//     case received at 10:00 on a working day are due at 10:00 on the Nth
//     working day after it (received Monday 10:00, 2 working days: due
//     Wednesday 10:00). A case received outside working time is taken as
//     received at the next working instant (Saturday 10:00 → Monday 09:00,
//     so 2 working days are due Wednesday 09:00). With the same hours every
//     day this equals N × the daily working time, which is how elapsed
//     fractions (80 % warnings) of day limits are measured.
//
// Years the calendar does not list are assumed to have weekend rest days
// only; a deadline whose computation touches such a year, or a year marked
// provisional (next year's schedule is published each November), carries a
// Flags value saying so, so callers can show it as unconfirmed.
//
// Arithmetic works on the zone's wall clock. Asia/Shanghai has had no daylight
// saving since 1991; in a zone with transitions, a span crossing one would be
// counted by wall clock, not by elapsed time.
package workcal

import (
	"errors"
	"fmt"
	"slices"
	"time"
	// The calendar must work in containers without a system zoneinfo
	// database: a deadline computed in UTC by mistake is eight hours off.
	_ "time/tzdata"
)

// Span is one stretch of working hours, as offsets from local midnight;
// Start < End <= 24h.
type Span struct {
	Start, End time.Duration
}

// ParseSpan parses "09:00-12:00".
func ParseSpan(s string) (Span, error) {
	from, to, ok := cutAny(s, "-–")
	if !ok {
		return Span{}, fmt.Errorf("workcal: hours %q: want HH:MM-HH:MM", s)
	}
	a, err := ParseClock(from)
	if err != nil {
		return Span{}, err
	}
	b, err := ParseClock(to)
	if err != nil {
		return Span{}, err
	}
	return Span{Start: a, End: b}, nil
}

// String formats the span as ParseSpan reads it.
func (s Span) String() string { return FormatClock(s.Start) + "-" + FormatClock(s.End) }

func cutAny(s, seps string) (string, string, bool) {
	for _, r := range seps {
		if a, b, ok := cutRune(s, r); ok {
			return a, b, true
		}
	}
	return s, "", false
}

func cutRune(s string, r rune) (string, string, bool) {
	for i, c := range s {
		if c == r {
			return s[:i], s[i+len(string(r)):], true
		}
	}
	return s, "", false
}

// ParseClock parses a wall-clock time "HH:MM" (00:00 to 24:00) into an offset
// from midnight.
func ParseClock(s string) (time.Duration, error) {
	bad := func() (time.Duration, error) {
		return 0, fmt.Errorf("workcal: time of day %q: want HH:MM between 00:00 and 24:00", s)
	}
	if len(s) != 5 || s[2] != ':' {
		return bad()
	}
	for _, i := range []int{0, 1, 3, 4} {
		if s[i] < '0' || s[i] > '9' {
			return bad()
		}
	}
	h := int(s[0]-'0')*10 + int(s[1]-'0')
	m := int(s[3]-'0')*10 + int(s[4]-'0')
	if h > 24 || m > 59 || (h == 24 && m != 0) {
		return bad()
	}
	return time.Duration(h)*time.Hour + time.Duration(m)*time.Minute, nil
}

// FormatClock formats an offset from midnight as HH:MM.
func FormatClock(d time.Duration) string {
	return fmt.Sprintf("%02d:%02d", int(d/time.Hour), int(d%time.Hour/time.Minute))
}

// Year is one year's official schedule.
type Year struct {
	Year int
	// Provisional marks a year whose schedule is not yet published (only
	// weekends are known): deadlines touching it are flagged.
	Provisional bool
	// Holidays are rest days, whatever the weekday.
	Holidays []Date
	// WorkingDays are make-up working days (调休), usually weekends.
	WorkingDays []Date
}

// Config is everything a Calendar is built from.
type Config struct {
	Location *time.Location
	// Hours are the daily working hours, ascending and disjoint; every
	// working day has the same hours.
	Hours []Span
	Years []Year
}

// Flags qualify a computed deadline.
type Flags uint8

const (
	// Provisional: the computation used days of a provisional year.
	Provisional Flags = 1 << iota
	// Unlisted: the computation used days of a year the calendar does not
	// list at all (weekends assumed to be the only rest days).
	Unlisted
)

// Unconfirmed reports whether the deadline depends on days past the loaded,
// confirmed calendar and may move once the schedule is published.
func (f Flags) Unconfirmed() bool { return f&(Provisional|Unlisted) != 0 }

// String lists the flags.
func (f Flags) String() string {
	switch f & (Provisional | Unlisted) {
	case 0:
		return ""
	case Provisional:
		return "provisional"
	case Unlisted:
		return "unlisted"
	}
	return "provisional|unlisted"
}

// Calendar answers working-day questions and computes deadlines. It is
// immutable after New and safe for concurrent use.
type Calendar struct {
	loc   *time.Location
	hours []Span
	daily time.Duration
	years map[int]*yearTable
	// lastConfirmed is the last listed, non-provisional year (0 if none).
	lastConfirmed int
}

type yearTable struct {
	provisional bool
	// working[yday] for yday 1..366: precomputed so a day lookup is one map
	// access and one index, whatever the number of holidays.
	working [367]bool
}

// New builds a Calendar, reporting every problem in the configuration at
// once.
func New(cfg Config) (*Calendar, error) {
	var errs []error
	if cfg.Location == nil {
		errs = append(errs, errors.New("workcal: no time zone"))
	}
	if len(cfg.Hours) == 0 {
		errs = append(errs, errors.New("workcal: no working hours"))
	}
	c := &Calendar{loc: cfg.Location, hours: slices.Clone(cfg.Hours), years: map[int]*yearTable{}}
	for i, h := range cfg.Hours {
		switch {
		case h.Start < 0 || h.End > 24*time.Hour || h.Start >= h.End:
			errs = append(errs, fmt.Errorf("workcal: working hours %v: want a non-empty span within the day", h))
		case i > 0 && h.Start < cfg.Hours[i-1].End:
			errs = append(errs, fmt.Errorf("workcal: working hours %v: must start after %v ends", h, cfg.Hours[i-1]))
		}
		c.daily += h.End - h.Start
	}
	for _, y := range cfg.Years {
		if _, dup := c.years[y.Year]; dup {
			errs = append(errs, fmt.Errorf("workcal: year %d listed twice", y.Year))
			continue
		}
		t := &yearTable{provisional: y.Provisional}
		for d := (Date{y.Year, time.January, 1}); d.Year == y.Year; d = d.AddDays(1) {
			t.working[d.yearDay()] = !isWeekend(d)
		}
		holiday := map[Date]bool{}
		for _, d := range y.Holidays {
			if !d.Valid() || d.Year != y.Year {
				errs = append(errs, fmt.Errorf("workcal: year %d: holiday %v is not a date of that year", y.Year, d))
				continue
			}
			holiday[d] = true
			t.working[d.yearDay()] = false
		}
		for _, d := range y.WorkingDays {
			if !d.Valid() || d.Year != y.Year {
				errs = append(errs, fmt.Errorf("workcal: year %d: working day %v is not a date of that year", y.Year, d))
				continue
			}
			if holiday[d] {
				errs = append(errs, fmt.Errorf("workcal: year %d: %v is both a holiday and a working day", y.Year, d))
			}
			t.working[d.yearDay()] = true
		}
		c.years[y.Year] = t
		if !y.Provisional && y.Year > c.lastConfirmed {
			c.lastConfirmed = y.Year
		}
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return c, nil
}

// Location is the calendar's time zone.
func (c *Calendar) Location() *time.Location { return c.loc }

// Hours returns the daily working hours.
func (c *Calendar) Hours() []Span { return slices.Clone(c.hours) }

// DailyWorkingTime is the working time of one working day (7h by default).
func (c *Calendar) DailyWorkingTime() time.Duration { return c.daily }

// LastConfirmedYear is the last listed, non-provisional year, 0 if none.
func (c *Calendar) LastConfirmedYear() int { return c.lastConfirmed }

// IsWorkingDay reports whether t's date, in the calendar's zone, is a working
// day.
func (c *Calendar) IsWorkingDay(t time.Time) bool {
	w, _ := c.IsWorkingDate(DateOf(t.In(c.loc)))
	return w
}

// IsWorkingDate reports whether d is a working day, flagging answers that come
// from a provisional or unlisted year.
func (c *Calendar) IsWorkingDate(d Date) (bool, Flags) {
	t, ok := c.years[d.Year]
	if !ok {
		return !isWeekend(d), Unlisted
	}
	var f Flags
	if t.provisional {
		f = Provisional
	}
	return t.working[d.yearDay()], f
}

// IsWorkingTime reports whether t falls inside the working hours of a working
// day.
func (c *Calendar) IsWorkingTime(t time.Time) bool {
	d, off := c.split(t)
	if w, _ := c.IsWorkingDate(d); !w {
		return false
	}
	for _, s := range c.hours {
		if s.Start <= off && off < s.End {
			return true
		}
	}
	return false
}

// split turns an instant into its local date and wall-clock offset from
// midnight.
func (c *Calendar) split(t time.Time) (Date, time.Duration) {
	t = t.In(c.loc)
	h, m, s := t.Clock()
	return DateOf(t), time.Duration(h)*time.Hour + time.Duration(m)*time.Minute +
		time.Duration(s)*time.Second + time.Duration(t.Nanosecond())
}

// at is the inverse of split. An offset of 24h is the next midnight.
func (c *Calendar) at(d Date, off time.Duration) time.Time {
	h := off / time.Hour
	off -= h * time.Hour
	m := off / time.Minute
	off -= m * time.Minute
	s := off / time.Second
	off -= s * time.Second
	return time.Date(d.Year, d.Month, d.Day, int(h), int(m), int(s), int(off), c.loc)
}

// NextWorking returns the first instant at or after t inside working time
// (t itself when it already is). An instant exactly at the end of a span is
// not inside it: 12:00 moves to 13:30.
func (c *Calendar) NextWorking(t time.Time) time.Time {
	r, _ := c.addWorkingTime(t, 0)
	return r
}

// AddWorking returns the deadline d after start, and flags saying whether it
// depends on an unconfirmed calendar year. Clock limits are start + d and
// never flagged; working-time and working-day limits follow the rules in the
// package documentation and always end inside working hours (or exactly at
// the end of a span). A zero (no limit) or negative duration returns start
// unchanged for clock time and the next working instant otherwise.
func (c *Calendar) AddWorking(start time.Time, d Duration) (time.Time, Flags) {
	switch d.Kind {
	case Clock:
		if d.Time < 0 {
			return start, 0
		}
		return start.Add(d.Time), 0
	case WorkingTime:
		return c.addWorkingTime(start, max(d.Time, 0))
	case WorkingDays:
		t, f := c.addWorkingTime(start, 0)
		date, off := c.split(t)
		for n := d.Days; n > 0; {
			date = date.AddDays(1)
			w, ff := c.IsWorkingDate(date)
			f |= ff
			if w {
				n--
			}
		}
		// off lies inside a span of the start day, and every working day has
		// the same spans, so the result is inside working hours too.
		return c.at(date, off), f
	}
	return start, 0
}

func (c *Calendar) addWorkingTime(start time.Time, rem time.Duration) (time.Time, Flags) {
	date, off := c.split(start)
	var f Flags
	for {
		w, ff := c.IsWorkingDate(date)
		f |= ff
		if w {
			for _, s := range c.hours {
				if s.End <= off {
					continue
				}
				begin := max(off, s.Start)
				avail := s.End - begin
				if rem <= avail {
					return c.at(date, begin+rem), f
				}
				rem -= avail
			}
		}
		date, off = date.AddDays(1), 0
	}
}

// WorkingBetween is the working time inside [a, b); zero when b is not after
// a.
func (c *Calendar) WorkingBetween(a, b time.Time) time.Duration {
	if !b.After(a) {
		return 0
	}
	da, oa := c.split(a)
	db, ob := c.split(b)
	var total time.Duration
	for d := da; d.Compare(db) <= 0; d = d.AddDays(1) {
		if w, _ := c.IsWorkingDate(d); !w {
			continue
		}
		lo, hi := time.Duration(0), 24*time.Hour
		if d == da {
			lo = oa
		}
		if d == db {
			hi = ob
		}
		for _, s := range c.hours {
			if from, to := max(lo, s.Start), min(hi, s.End); to > from {
				total += to - from
			}
		}
	}
	return total
}

// Elapsed is how much of a limit of kind k has run between start and now:
// clock time for Clock limits, working time otherwise (working-day limits are
// measured in working time, N days being N × the daily working time).
func (c *Calendar) Elapsed(start, now time.Time, k Kind) time.Duration {
	if k == Clock {
		return max(now.Sub(start), 0)
	}
	return c.WorkingBetween(start, now)
}

// WarningAt is the instant when frac (0.8 for the yellow light) of the limit
// that runs from start to due has elapsed, measured as Elapsed measures kind
// k. It never lies after due.
func (c *Calendar) WarningAt(start, due time.Time, frac float64, k Kind) time.Time {
	if !due.After(start) || frac >= 1 {
		return due
	}
	frac = max(frac, 0)
	if k == Clock {
		return start.Add(time.Duration(float64(due.Sub(start)) * frac))
	}
	total := c.WorkingBetween(start, due)
	w, _ := c.addWorkingTime(start, time.Duration(float64(total)*frac))
	if w.After(due) {
		return due
	}
	return w
}

// Light is the stage light of an open limit.
type Light uint8

// Stage lights: green below the warning fraction, yellow from it up to the
// due time, red past it.
const (
	Green Light = iota
	Yellow
	Red
)

// String names the light.
func (l Light) String() string {
	return [...]string{"green", "yellow", "red"}[l]
}

// LightAt is the stage light at now of a limit of kind k running from start
// to due with warning fraction warn.
func (c *Calendar) LightAt(start, due, now time.Time, warn float64, k Kind) Light {
	switch {
	case now.After(due):
		return Red
	case !now.Before(c.WarningAt(start, due, warn, k)):
		return Yellow
	}
	return Green
}
