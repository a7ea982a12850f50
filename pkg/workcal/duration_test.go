package workcal

import (
	"testing"
	"time"
)

func TestParseDuration(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in   string
		want Duration
		out  string
	}{
		{"15m clock", ClockTime(15 * time.Minute), "15m clock"},
		{"2h clock", ClockTime(2 * time.Hour), "2h clock"},
		{"1h30m clock", ClockTime(90 * time.Minute), "1h30m clock"},
		{"24h clock", ClockTime(24 * time.Hour), "24h clock"},
		{"30 working_minutes", Working(30 * time.Minute), "30 working_minutes"},
		{"90 working_minutes", Working(90 * time.Minute), "90 working_minutes"},
		{"120 working_minutes", Working(2 * time.Hour), "2 working_hours"},
		{"1 working_hour", Working(time.Hour), "1 working_hour"},
		{"4 working_hours", Working(4 * time.Hour), "4 working_hours"},
		{"1 working_day", Days(1), "1 working_day"},
		{"15 working_days", Days(15), "15 working_days"},
		{"", Duration{}, ""},
	}
	for _, tt := range tests {
		got, err := ParseDuration(tt.in)
		if err != nil || got != tt.want || got.String() != tt.out {
			t.Errorf("ParseDuration(%q) = %#v (%q), %v; want %#v (%q)", tt.in, got, got.String(), err, tt.want, tt.out)
		}
	}
	for _, bad := range []string{
		"2h", "2 hours", "-1 working_days", "+1 working_days", "1.5 working_hours", "2x clock",
		"-5m clock", "251 working_days", "9000h clock", "2001 working_hours", "3 working_weeks", "clock",
	} {
		if d, err := ParseDuration(bad); err == nil {
			t.Errorf("ParseDuration(%q) = %v, want an error", bad, d)
		}
	}
}

func TestDurationText(t *testing.T) {
	t.Parallel()
	var d Duration
	if err := d.UnmarshalText([]byte("4 working_hours")); err != nil || d != Working(4*time.Hour) {
		t.Fatalf("UnmarshalText = %v, %v", d, err)
	}
	b, _ := d.MarshalText()
	if string(b) != "4 working_hours" {
		t.Errorf("MarshalText = %q", b)
	}
}
