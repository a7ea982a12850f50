package workcal

import (
	"strings"
	"testing"
	"time"
)

var shanghai = mustLoad("Asia/Shanghai")

func mustLoad(name string) *time.Location {
	loc, err := time.LoadLocation(name)
	if err != nil {
		panic(err)
	}
	return loc
}

// cal2026 is DOMAIN.md's shipped calendar: the official 2026 schedule and a
// provisional 2027. The reference package ships the same data as YAML; it is
// spelled out here so workcal's tests stand alone.
func cal2026(tb testing.TB) *Calendar {
	tb.Helper()
	var hol []Date
	for _, r := range [][2]string{
		{"2026-01-01", "2026-01-03"}, {"2026-02-15", "2026-02-23"}, {"2026-04-04", "2026-04-06"},
		{"2026-05-01", "2026-05-05"}, {"2026-06-19", "2026-06-21"}, {"2026-09-25", "2026-09-27"},
		{"2026-10-01", "2026-10-07"},
	} {
		for d := mustDate(r[0]); d.Compare(mustDate(r[1])) <= 0; d = d.AddDays(1) {
			hol = append(hol, d)
		}
	}
	var work []Date
	for _, s := range []string{"2026-01-04", "2026-02-14", "2026-02-28", "2026-05-09", "2026-09-20", "2026-10-10"} {
		work = append(work, mustDate(s))
	}
	c, err := New(Config{
		Location: shanghai,
		Hours:    []Span{{9 * time.Hour, 12 * time.Hour}, {13*time.Hour + 30*time.Minute, 17*time.Hour + 30*time.Minute}},
		Years: []Year{
			{Year: 2026, Holidays: hol, WorkingDays: work},
			{Year: 2027, Provisional: true},
		},
	})
	if err != nil {
		tb.Fatal(err)
	}
	return c
}

func mustDate(s string) Date {
	d, err := ParseDate(s)
	if err != nil {
		panic(err)
	}
	return d
}

// at parses "2026-02-13 16:00" in Shanghai.
func at(s string) time.Time {
	t, err := time.ParseInLocation("2006-01-02 15:04", s, shanghai)
	if err != nil {
		panic(err)
	}
	return t
}

func TestIsWorkingDay(t *testing.T) {
	t.Parallel()
	c := cal2026(t)
	tests := []struct {
		date string
		want bool
		why  string
	}{
		{"2026-01-01", false, "New Year holiday (Thu)"},
		{"2026-01-04", true, "make-up Sunday"},
		{"2026-01-05", true, "ordinary Monday"},
		{"2026-02-13", true, "Friday before the Spring Festival"},
		{"2026-02-14", true, "make-up Saturday"},
		{"2026-02-15", false, "Spring Festival, a Sunday"},
		{"2026-02-16", false, "Spring Festival, a Monday"},
		{"2026-02-23", false, "last Spring Festival day, a Monday"},
		{"2026-02-24", true, "first day back"},
		{"2026-02-28", true, "make-up Saturday"},
		{"2026-03-01", false, "ordinary Sunday"},
		{"2026-03-07", false, "ordinary Saturday"},
		{"2026-05-09", true, "make-up Saturday"},
		{"2026-09-20", true, "make-up Sunday"},
		{"2026-10-07", false, "National Day"},
		{"2026-10-10", true, "make-up Saturday"},
		{"2027-01-01", true, "provisional 2027: a Friday, weekends only"},
		{"2027-01-02", false, "provisional 2027: Saturday"},
	}
	for _, tt := range tests {
		if got := c.IsWorkingDay(at(tt.date + " 10:00")); got != tt.want {
			t.Errorf("IsWorkingDay(%s) = %v, want %v (%s)", tt.date, got, tt.want, tt.why)
		}
	}
	if _, f := c.IsWorkingDate(mustDate("2027-03-01")); f != Provisional {
		t.Errorf("2027 flags = %v, want provisional", f)
	}
	if _, f := c.IsWorkingDate(mustDate("2028-03-01")); f != Unlisted {
		t.Errorf("2028 flags = %v, want unlisted", f)
	}
}

func TestAddWorking(t *testing.T) {
	t.Parallel()
	c := cal2026(t)
	tests := []struct {
		name  string
		start string
		limit string
		want  string
		flags Flags
	}{
		// Working time.
		{"within a morning", "2026-03-02 09:30", "2 working_hours", "2026-03-02 11:30", 0},
		{"ends exactly at noon, not after lunch", "2026-03-02 09:00", "3 working_hours", "2026-03-02 12:00", 0},
		{"across the lunch break", "2026-03-02 11:00", "2 working_hours", "2026-03-02 14:30", 0},
		{"received during lunch", "2026-03-02 12:15", "30 working_minutes", "2026-03-02 14:00", 0},
		{"received at noon sharp starts after lunch", "2026-03-02 12:00", "30 working_minutes", "2026-03-02 14:00", 0},
		{"across the day end", "2026-03-02 17:00", "1 working_hour", "2026-03-03 09:30", 0},
		{"urgent ack at 17:20", "2026-03-02 17:20", "30 working_minutes", "2026-03-03 09:20", 0},
		{"received in the evening", "2026-03-02 20:00", "2 working_hours", "2026-03-03 11:00", 0},
		{"received before opening", "2026-03-02 07:00", "0 working_hours", "2026-03-02 09:00", 0},
		{"a whole day of hours", "2026-03-02 09:00", "7 working_hours", "2026-03-02 17:30", 0},
		{"over a weekend", "2026-03-06 16:30", "2 working_hours", "2026-03-09 10:00", 0},
		{"into the 2/14 make-up Saturday", "2026-02-13 16:00", "4 working_hours", "2026-02-14 11:30", 0},
		{"over the Spring Festival", "2026-02-14 17:00", "1 working_hour", "2026-02-24 09:30", 0},
		{"New Year holiday to the make-up Sunday", "2026-01-02 10:00", "1 working_hour", "2026-01-04 10:00", 0},
		// Working days.
		{"12345 practice: Monday 10:00 + 2", "2026-03-02 10:00", "2 working_days", "2026-03-04 10:00", 0},
		{"received on Saturday starts Monday 09:00", "2026-03-07 10:00", "2 working_days", "2026-03-11 09:00", 0},
		{"received after hours", "2026-03-02 18:00", "1 working_day", "2026-03-04 09:00", 0},
		{"received during lunch keeps 13:30", "2026-03-02 12:30", "1 working_day", "2026-03-03 13:30", 0},
		{"Friday to the make-up Saturday", "2026-02-27 10:00", "1 working_day", "2026-02-28 10:00", 0},
		{"over the 2/28 make-up Saturday", "2026-02-27 10:00", "2 working_days", "2026-03-02 10:00", 0},
		{"consultation over the Spring Festival", "2026-02-13 10:00", "2 working_days", "2026-02-24 10:00", 0},
		{"complaint over the Spring Festival", "2026-02-10 10:00", "15 working_days", "2026-03-09 10:00", 0},
		{"over National Day", "2026-09-30 15:00", "1 working_day", "2026-10-08 15:00", 0},
		{"to the 10/10 make-up Saturday", "2026-10-09 15:00", "1 working_day", "2026-10-10 15:00", 0},
		{"zero days is the next working instant", "2026-03-07 10:00", "0 working_days", "2026-03-09 09:00", 0},
		// Clock time ignores the calendar and is never flagged.
		{"emergency ack on a Saturday night", "2026-03-07 22:00", "15m clock", "2026-03-07 22:15", 0},
		{"emergency completion over midnight", "2026-03-07 23:30", "2h clock", "2026-03-08 01:30", 0},
		{"utility repair on a holiday", "2026-02-16 08:00", "24h clock", "2026-02-17 08:00", 0},
		{"clock time past the calendar", "2027-12-31 23:00", "2h clock", "2028-01-01 01:00", 0},
		// Past the confirmed calendar.
		{"into provisional 2027", "2026-12-31 10:00", "2 working_days", "2027-01-04 10:00", Provisional},
		{"inside provisional 2027", "2027-03-01 10:00", "1 working_hour", "2027-03-01 11:00", Provisional},
		{"into unlisted 2028", "2027-12-31 10:00", "1 working_day", "2028-01-03 10:00", Provisional | Unlisted},
		{"from unlisted 2025", "2025-12-31 17:00", "1 working_hour", "2026-01-04 09:30", Unlisted},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			d, err := ParseDuration(tt.limit)
			if err != nil {
				t.Fatal(err)
			}
			got, flags := c.AddWorking(at(tt.start), d)
			if !got.Equal(at(tt.want)) || flags != tt.flags {
				t.Errorf("AddWorking(%s, %s) = %s %q, want %s %q", tt.start, tt.limit,
					got.In(shanghai).Format("2006-01-02 15:04 Mon"), flags, tt.want, tt.flags)
			}
		})
	}
}

func TestAddWorkingAcceptsAnyZone(t *testing.T) {
	t.Parallel()
	c := cal2026(t)
	// 01:00 UTC is 09:00 in Shanghai: the calendar must use its own zone.
	got, _ := c.AddWorking(time.Date(2026, 3, 2, 1, 0, 0, 0, time.UTC), Working(time.Hour))
	if want := at("2026-03-02 10:00"); !got.Equal(want) {
		t.Errorf("got %v, want %v", got, want)
	}
}

func TestWorkingBetween(t *testing.T) {
	t.Parallel()
	c := cal2026(t)
	tests := []struct {
		from, to string
		want     time.Duration
	}{
		{"2026-03-02 09:00", "2026-03-02 17:30", 7 * time.Hour},
		{"2026-03-02 11:00", "2026-03-02 14:30", 2 * time.Hour},
		{"2026-03-02 12:10", "2026-03-02 13:20", 0},
		{"2026-03-06 16:00", "2026-03-09 10:00", 2*time.Hour + 30*time.Minute},
		{"2026-02-13 09:00", "2026-02-25 09:00", 3 * 7 * time.Hour}, // 2/13, 2/14, 2/24
		{"2026-03-02 10:00", "2026-03-02 09:00", 0},
		{"2026-03-07 08:00", "2026-03-08 20:00", 0},
	}
	for _, tt := range tests {
		if got := c.WorkingBetween(at(tt.from), at(tt.to)); got != tt.want {
			t.Errorf("WorkingBetween(%s, %s) = %v, want %v", tt.from, tt.to, got, tt.want)
		}
	}
}

func TestWarningAtAndLights(t *testing.T) {
	t.Parallel()
	c := cal2026(t)
	tests := []struct {
		name             string
		start, due, want string
		kind             Kind
	}{
		// 2 working days = 14 working hours; 80 % = 11h12m: all of Monday
		// (7h), then 4h12m into Tuesday.
		{"two working days", "2026-03-02 09:00", "2026-03-04 09:00", "2026-03-03 14:42", WorkingDays},
		{"working hours over lunch", "2026-03-02 11:00", "2026-03-02 14:30", "2026-03-02 14:06", WorkingTime},
		{"clock emergency", "2026-03-07 22:00", "2026-03-07 22:15", "2026-03-07 22:12", Clock},
		{"received at night", "2026-03-02 20:00", "2026-03-03 11:00", "2026-03-03 10:36", WorkingTime},
	}
	for _, tt := range tests {
		got := c.WarningAt(at(tt.start), at(tt.due), 0.8, tt.kind)
		if !got.Equal(at(tt.want)) {
			t.Errorf("%s: WarningAt = %s, want %s", tt.name, got.In(shanghai).Format("2006-01-02 15:04"), tt.want)
		}
	}
	start, due := at("2026-03-02 09:00"), at("2026-03-04 09:00")
	for now, want := range map[string]Light{
		"2026-03-02 15:00": Green,
		"2026-03-03 14:41": Green,
		"2026-03-03 14:42": Yellow,
		"2026-03-04 09:00": Yellow,
		"2026-03-04 09:01": Red,
	} {
		if got := c.LightAt(start, due, at(now), 0.8, WorkingDays); got != want {
			t.Errorf("LightAt(%s) = %v, want %v", now, got, want)
		}
	}
}

func TestNewRejectsBadConfig(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		cfg  Config
		want string
	}{
		{"no zone", Config{Hours: []Span{{9 * time.Hour, 17 * time.Hour}}}, "no time zone"},
		{"no hours", Config{Location: shanghai}, "no working hours"},
		{"overlapping hours", Config{Location: shanghai, Hours: []Span{{9 * time.Hour, 13 * time.Hour}, {12 * time.Hour, 17 * time.Hour}}}, "must start after"},
		{"empty span", Config{Location: shanghai, Hours: []Span{{9 * time.Hour, 9 * time.Hour}}}, "non-empty span"},
		{"year twice", Config{Location: shanghai, Hours: []Span{{9 * time.Hour, 17 * time.Hour}}, Years: []Year{{Year: 2026}, {Year: 2026}}}, "listed twice"},
		{"holiday of another year", Config{Location: shanghai, Hours: []Span{{9 * time.Hour, 17 * time.Hour}},
			Years: []Year{{Year: 2026, Holidays: []Date{{2025, 12, 31}}}}}, "not a date of that year"},
		{"holiday and working day", Config{Location: shanghai, Hours: []Span{{9 * time.Hour, 17 * time.Hour}},
			Years: []Year{{Year: 2026, Holidays: []Date{{2026, 2, 14}}, WorkingDays: []Date{{2026, 2, 14}}}}}, "both a holiday and a working day"},
	}
	for _, tt := range tests {
		_, err := New(tt.cfg)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: New error = %v, want it to mention %q", tt.name, err, tt.want)
		}
	}
}

func TestParseSpanAndClock(t *testing.T) {
	t.Parallel()
	s, err := ParseSpan("13:30-17:30")
	if err != nil || s != (Span{13*time.Hour + 30*time.Minute, 17*time.Hour + 30*time.Minute}) || s.String() != "13:30-17:30" {
		t.Errorf("ParseSpan = %v, %v", s, err)
	}
	for _, bad := range []string{"9:00-12:00", "09:00", "25:00-26:00", "09:60-10:00", "24:30-24:45", "+9:00-12:00", "0x:00-12:00"} {
		if _, err := ParseSpan(bad); err == nil {
			t.Errorf("ParseSpan(%q) accepted", bad)
		}
	}
}
