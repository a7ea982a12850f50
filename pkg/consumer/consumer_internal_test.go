package consumer

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"
)

func TestNakDelayGrowsAndIsCapped(t *testing.T) {
	t.Parallel()
	r := &Runner{cfg: Config{NakDelay: time.Second, MaxNakDelay: time.Minute}}
	tests := []struct {
		delivered uint64
		want      time.Duration
	}{
		{1, time.Second},
		{2, 2 * time.Second},
		{4, 8 * time.Second},
		{7, time.Minute},
		{1000, time.Minute},
	}
	for _, tt := range tests {
		got := r.nakDelay(tt.delivered)
		lo, hi := time.Duration(float64(tt.want)*0.8), time.Duration(float64(tt.want)*1.2)
		if got < lo || got > hi {
			t.Errorf("nakDelay(%d) = %v, want %v ±20%%", tt.delivered, got, tt.want)
		}
	}
}

func TestHeaderValue(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, in string
		check    func(string) bool
	}{
		{"plain", "bad code", func(s string) bool { return s == "bad code" }},
		{"newlines", "a\r\nb\nc", func(s string) bool { return s == "a  b c" }},
		{"long", strings.Repeat("网", 1000), func(s string) bool {
			return len(s) <= 1024+len("…") && strings.HasSuffix(s, "…") && !strings.ContainsRune(s, '\uFFFD')
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := headerValue(tt.in); !tt.check(got) {
				t.Errorf("headerValue(%q) = %q", tt.in, got)
			}
		})
	}
}

func TestPermanent(t *testing.T) {
	t.Parallel()
	base := errors.New("boom")
	tests := []struct {
		name string
		err  error
		want bool
	}{
		{"nil", nil, false},
		{"plain", base, false},
		{"marked", Permanent(base), true},
		{"marked then wrapped", fmt.Errorf("apply: %w", Permanent(base)), true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := IsPermanent(tt.err); got != tt.want {
				t.Errorf("IsPermanent(%v) = %v, want %v", tt.err, got, tt.want)
			}
		})
	}
	if Permanent(nil) != nil {
		t.Error("Permanent(nil) != nil")
	}
	if !errors.Is(Permanent(base), base) {
		t.Error("Permanent hides the error it wraps")
	}
}
