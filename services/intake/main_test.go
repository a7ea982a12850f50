package main

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/gridflow/gridflow/pkg/auth"
	"github.com/gridflow/gridflow/pkg/config"
	"github.com/gridflow/gridflow/pkg/ratelimit"
	"github.com/sethvargo/go-envconfig"
)

// The default limits: the hotline's bucket above what bench-intake offers
// (intake's capacity, ~9,600 orders/s on a good host), a worker's app held to
// a trickle after a day's offline queue.
func TestDefaultRateLimits(t *testing.T) {
	t.Parallel()
	cfg, err := config.LoadFrom[Config](context.Background(), envconfig.MapLookuper(nil))
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		role auth.Role
		want ratelimit.Rule
	}{
		{auth.RoleHotline, ratelimit.Rule{Rate: 20000, Burst: 20000}},
		{auth.RolePatrol, ratelimit.Rule{Rate: 2, Burst: 30}},
		{auth.RoleSecretary, ratelimit.Rule{Rate: 2, Burst: 30}},
		{auth.RoleDispatcher, ratelimit.Rule{Rate: 20, Burst: 100}},
		{auth.RoleAdmin, ratelimit.Rule{Rate: 20, Burst: 100}},
	} {
		if got := cfg.RateLimits.For(tc.role); got != tc.want {
			t.Errorf("%s: %v, want %v", tc.role, got, tc.want)
		}
	}
}

func TestRateLimitsSetting(t *testing.T) {
	t.Parallel()
	cfg, err := config.LoadFrom[Config](context.Background(), envconfig.MapLookuper(map[string]string{
		"INTAKE_RATE_LIMITS": "hotline=500/s,patrol=5/s,*=2/s"}))
	if err != nil {
		t.Fatal(err)
	}
	if got := cfg.RateLimits.For(auth.RoleHotline); got != (ratelimit.Rule{Rate: 500, Burst: 500}) {
		t.Errorf("hotline: %v", got)
	}
	_, err = config.LoadFrom[Config](context.Background(), envconfig.MapLookuper(map[string]string{
		"INTAKE_RATE_LIMITS": "hotlines=500/s"}))
	if err == nil || !strings.Contains(err.Error(), "unknown role") {
		t.Errorf("a misspelt role: %v, want the start refused", err)
	}
}

// Retention of the clear contact: 15 days after a case ends by default
// (README, "Personal data"), positive or the start is refused.
func TestContactRetentionSetting(t *testing.T) {
	t.Parallel()
	cfg, err := config.LoadFrom[Config](context.Background(), envconfig.MapLookuper(nil))
	if err != nil {
		t.Fatal(err)
	}
	if cfg.ContactRetention != 15*24*time.Hour || cfg.ContactSweep != time.Hour {
		t.Errorf("defaults: retention %v, sweep %v; want 360h, 1h", cfg.ContactRetention, cfg.ContactSweep)
	}
	if _, err := config.LoadFrom[Config](context.Background(), envconfig.MapLookuper(map[string]string{
		"INTAKE_CONTACT_RETENTION": "0s"})); err == nil || !strings.Contains(err.Error(), "INTAKE_CONTACT_RETENTION") {
		t.Errorf("a zero retention: %v, want the start refused", err)
	}
}
