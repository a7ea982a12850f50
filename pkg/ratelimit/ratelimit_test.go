package ratelimit

import (
	"strings"
	"testing"
	"time"

	"github.com/gridflow/gridflow/pkg/auth"
	"golang.org/x/time/rate"
)

func TestParse(t *testing.T) {
	t.Parallel()
	l, err := Parse("hotline=20000/s:20000, patrol=2/s:30,secretary=120/m,*=10/s:50")
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		role auth.Role
		want Rule
	}{
		{auth.RoleHotline, Rule{20000, 20000}},
		{auth.RolePatrol, Rule{2, 30}},
		{auth.RoleSecretary, Rule{2, 2}},
		{auth.RoleAdmin, Rule{10, 50}},
		{auth.RoleDepartment, Rule{10, 50}},
	} {
		if got := l.For(tc.role); got != tc.want {
			t.Errorf("For(%s) = %v, want %v", tc.role, got, tc.want)
		}
	}
	if got, want := l.String(), "hotline=20000/s:20000,patrol=2/s:30,secretary=2/s:2,*=10/s:50"; got != want {
		t.Errorf("String() = %q, want %q", got, want)
	}
	none, err := Parse("patrol=1/s")
	if err != nil {
		t.Fatal(err)
	}
	if got := none.For(auth.RoleHotline); got.Rate != rate.Inf {
		t.Errorf("a role not named without * = %v, want unlimited", got)
	}
	var zero Limits
	if got := zero.For(auth.RolePatrol); got.Rate != rate.Inf {
		t.Errorf("zero Limits = %v, want unlimited", got)
	}
}

func TestParseRefuses(t *testing.T) {
	t.Parallel()
	for spec, want := range map[string]string{
		"patrol":                "want role=rate",
		"patrol=5":              "want N/s",
		"patrol=5/d":            "unit",
		"patrol=-1/s":           "positive",
		"patrol=0/s":            "positive",
		"patrol=1/s:0":          "burst",
		"patrol=1/s:x":          "burst",
		"caller=1/s":            "unknown role",
		"patrol=1/s,patrol=2/s": "named twice",
	} {
		_, err := Parse(spec)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("Parse(%q) = %v, want an error with %q", spec, err, want)
		}
	}
}

func TestLimiterRefusesAndRecovers(t *testing.T) {
	t.Parallel()
	limits, err := Parse("patrol=2/s:3,hotline=inf")
	if err != nil {
		t.Fatal(err)
	}
	l := New(limits)
	now := time.Date(2026, 12, 3, 9, 0, 0, 0, time.UTC)
	l.now = func() time.Time { return now }
	w17 := auth.Principal{Role: auth.RolePatrol, Subject: "w-0017"}
	w21 := auth.Principal{Role: auth.RolePatrol, Subject: "w-0021"}
	for i := range 3 {
		if ok, _ := l.Allow(w17); !ok {
			t.Fatalf("call %d within the burst refused", i+1)
		}
	}
	ok, retry := l.Allow(w17)
	if ok || retry != 500*time.Millisecond {
		t.Fatalf("4th call = %v, retry %v; want refused, retry 500ms (2/s)", ok, retry)
	}
	// A refusal takes no token: asking again at once gets the same answer.
	if ok, again := l.Allow(w17); ok || again != retry {
		t.Fatalf("asked again = %v, %v; want refused, %v", ok, again, retry)
	}
	// Another worker has its own bucket.
	if ok, _ := l.Allow(w21); !ok {
		t.Fatal("w-0021 refused for w-0017's calls")
	}
	now = now.Add(retry)
	if ok, _ := l.Allow(w17); !ok {
		t.Fatal("refused after the retry delay")
	}
	for i := range 100 {
		if ok, _ := l.Allow(auth.Principal{Role: auth.RoleHotline}); !ok {
			t.Fatalf("unlimited hotline refused at call %d", i+1)
		}
	}
}

func TestLimiterDropsIdleBuckets(t *testing.T) {
	t.Parallel()
	limits, err := Parse("*=1/s:1")
	if err != nil {
		t.Fatal(err)
	}
	l := New(limits)
	now := time.Date(2026, 12, 3, 9, 0, 0, 0, time.UTC)
	l.now = func() time.Time { return now }
	for i := range maxIdle {
		l.Allow(auth.Principal{Role: auth.RoleDepartment, Subject: "d" + string(rune('a'+i%26)) + time.Duration(i).String()})
	}
	if len(l.buckets) != maxIdle {
		t.Fatalf("%d buckets, want %d", len(l.buckets), maxIdle)
	}
	now = now.Add(time.Second) // every bucket full again
	l.Allow(auth.Principal{Role: auth.RoleAdmin})
	if len(l.buckets) != 1 {
		t.Fatalf("%d buckets after the idle ones were dropped, want 1", len(l.buckets))
	}
}
