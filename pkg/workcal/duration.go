package workcal

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Kind says how a Duration is measured.
type Kind uint8

// The kinds of time limit. The zero Kind is "no limit".
const (
	// Clock time runs day and night, weekends and holidays included
	// (emergencies, 吹哨报到's 30 minutes on site).
	Clock Kind = iota + 1
	// WorkingTime runs only inside the working hours of working days.
	WorkingTime
	// WorkingDays counts whole working days; see Calendar.AddWorking for the
	// exact rule.
	WorkingDays
)

// String names the kind as it is written after the number in a limit.
func (k Kind) String() string {
	switch k {
	case Clock:
		return "clock"
	case WorkingTime:
		return "working time"
	case WorkingDays:
		return "working days"
	}
	return "none"
}

// Bounds on parsed limits. They keep configuration mistakes (and fuzzed
// input) from asking the calendar to walk decades of days for one deadline.
const (
	MaxClock       = 366 * 24 * time.Hour
	MaxWorkingTime = 2000 * time.Hour
	MaxWorkingDays = 250
)

// Duration is a time limit in one of three kinds. The zero value means "no
// limit". Time holds the length for Clock and WorkingTime; Days for
// WorkingDays. Values are comparable with ==.
type Duration struct {
	Kind Kind
	Time time.Duration
	Days int
}

// ClockTime is a limit of d in clock time.
func ClockTime(d time.Duration) Duration { return Duration{Kind: Clock, Time: d} }

// Working is a limit of d in working time (counted inside working hours only).
func Working(d time.Duration) Duration { return Duration{Kind: WorkingTime, Time: d} }

// Days is a limit of n working days.
func Days(n int) Duration { return Duration{Kind: WorkingDays, Days: n} }

// IsZero reports whether the duration is "no limit".
func (d Duration) IsZero() bool { return d.Kind == 0 }

// ParseDuration parses a limit as written in reference data:
//
//	"15m clock", "2h clock", "1h30m clock"   clock time (a Go duration + "clock")
//	"30 working_minutes", "4 working_hours"  working time
//	"1 working_day", "15 working_days"       working days
//
// Amounts are non-negative whole numbers; singular and plural unit names are
// both accepted. The empty string is the zero Duration (no limit).
func ParseDuration(s string) (Duration, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return Duration{}, nil
	}
	amount, unit, ok := strings.Cut(s, " ")
	unit = strings.TrimSpace(unit)
	if !ok || unit == "" {
		return Duration{}, fmt.Errorf("workcal: limit %q: want \"<amount> <unit>\", e.g. \"2h clock\" or \"4 working_hours\"", s)
	}
	if unit == "clock" {
		d, err := time.ParseDuration(amount)
		if err != nil || d < 0 {
			return Duration{}, fmt.Errorf("workcal: limit %q: clock amount must be a non-negative Go duration such as 15m or 2h", s)
		}
		if d > MaxClock {
			return Duration{}, fmt.Errorf("workcal: limit %q: longer than %v", s, MaxClock)
		}
		return ClockTime(d), nil
	}
	n, err := strconv.Atoi(amount)
	if err != nil || n < 0 || strings.HasPrefix(amount, "+") {
		return Duration{}, fmt.Errorf("workcal: limit %q: amount must be a non-negative whole number", s)
	}
	switch unit {
	case "working_minute", "working_minutes":
		if n > int(MaxWorkingTime/time.Minute) {
			return Duration{}, fmt.Errorf("workcal: limit %q: longer than %v of working time", s, MaxWorkingTime)
		}
		return Working(time.Duration(n) * time.Minute), nil
	case "working_hour", "working_hours":
		if n > int(MaxWorkingTime/time.Hour) {
			return Duration{}, fmt.Errorf("workcal: limit %q: longer than %v of working time", s, MaxWorkingTime)
		}
		return Working(time.Duration(n) * time.Hour), nil
	case "working_day", "working_days":
		if n > MaxWorkingDays {
			return Duration{}, fmt.Errorf("workcal: limit %q: longer than %d working days", s, MaxWorkingDays)
		}
		return Days(n), nil
	}
	return Duration{}, fmt.Errorf("workcal: limit %q: unknown unit %q (want clock, working_minutes, working_hours or working_days)", s, unit)
}

// String writes the duration in the form ParseDuration reads, so a parsed
// limit round-trips.
func (d Duration) String() string {
	switch d.Kind {
	case Clock:
		return shortDuration(d.Time) + " clock"
	case WorkingTime:
		if d.Time%time.Hour == 0 {
			return plural(int64(d.Time/time.Hour), "working_hour")
		}
		if d.Time%time.Minute == 0 {
			return plural(int64(d.Time/time.Minute), "working_minute")
		}
		// Not writable in whole minutes (a computed fraction of a limit):
		// readable, though ParseDuration rejects it.
		return d.Time.String() + " working"
	case WorkingDays:
		return plural(int64(d.Days), "working_day")
	}
	return ""
}

// shortDuration drops the zero tails time.Duration.String adds ("2h0m0s").
func shortDuration(d time.Duration) string {
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}

func plural(n int64, unit string) string {
	if n == 1 {
		return "1 " + unit
	}
	return strconv.FormatInt(n, 10) + " " + unit + "s"
}

// MarshalText implements encoding.TextMarshaler.
func (d Duration) MarshalText() ([]byte, error) { return []byte(d.String()), nil }

// UnmarshalText implements encoding.TextUnmarshaler, so limits decode
// straight from YAML or JSON strings.
func (d *Duration) UnmarshalText(b []byte) error {
	v, err := ParseDuration(string(b))
	if err != nil {
		return err
	}
	*d = v
	return nil
}
