// Package ratelimit keeps one token bucket (golang.org/x/time/rate) per
// principal, sized by the principal's role. It protects a service from a
// client gone wrong — an app retrying in a loop, a script without a sleep —
// and is not there to ration honest work: the limits sit well above what a
// role sends on its busiest day, and a refused caller is told when to retry.
//
// Limits are written "role=rate[:burst]" separated by commas, the rate as
// N/s, N/m or N/h, or "inf" for no limit; "*" sizes every role not named:
//
//	hotline=20000/s:20000,patrol=2/s:30,secretary=2/s:30,*=10/s:50
//
// The bucket is per principal ("patrol:w-0017"), so one worker's broken app
// spends only its own tokens. A bucket holds its burst when full; buckets that
// are full (idle) are dropped when many have piled up, and a dropped bucket
// comes back full, which is what it held.
package ratelimit

import (
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/gridflow/gridflow/pkg/auth"
	"golang.org/x/time/rate"
)

// Rule is one role's limit: tokens per second and the bucket's size.
type Rule struct {
	Rate  rate.Limit
	Burst int
}

func (r Rule) String() string {
	if r.Rate == rate.Inf {
		return "inf"
	}
	return strconv.FormatFloat(float64(r.Rate), 'f', -1, 64) + "/s:" + strconv.Itoa(r.Burst)
}

// Limits are the rules per role, with a default for roles not named. The
// zero value limits nothing. It decodes itself from the environment
// (go-envconfig's Decoder), so a bad setting stops the start.
type Limits struct {
	roles map[auth.Role]Rule
	def   Rule
}

// roles a limit may name: every role of package auth.
var roles = []auth.Role{auth.RoleHotline, auth.RolePatrol, auth.RoleSecretary, auth.RoleDispatcher,
	auth.RoleDistrict, auth.RoleDepartment, auth.RoleAdmin, auth.RoleSystem}

// Parse reads a limits setting (see the package doc). Every role it does not
// name, with no "*", is unlimited.
func Parse(spec string) (Limits, error) {
	l := Limits{roles: map[auth.Role]Rule{}, def: Rule{Rate: rate.Inf}}
	seen := map[string]bool{}
	for item := range strings.SplitSeq(spec, ",") {
		item = strings.TrimSpace(item)
		if item == "" {
			continue
		}
		name, val, ok := strings.Cut(item, "=")
		name = strings.TrimSpace(name)
		if !ok {
			return Limits{}, fmt.Errorf("rate limit %q: want role=rate[:burst], e.g. patrol=2/s:30", item)
		}
		if seen[name] {
			return Limits{}, fmt.Errorf("rate limit %q: %s is named twice", item, name)
		}
		seen[name] = true
		r, err := parseRule(strings.TrimSpace(val))
		if err != nil {
			return Limits{}, fmt.Errorf("rate limit %q: %w", item, err)
		}
		if name == "*" {
			l.def = r
			continue
		}
		if !slices.Contains(roles, auth.Role(name)) {
			return Limits{}, fmt.Errorf("rate limit %q: unknown role %q (want one of %v or *)", item, name, roles)
		}
		l.roles[auth.Role(name)] = r
	}
	return l, nil
}

func parseRule(s string) (Rule, error) {
	if s == "inf" {
		return Rule{Rate: rate.Inf}, nil
	}
	rs, bs, hasBurst := strings.Cut(s, ":")
	num, per, ok := strings.Cut(rs, "/")
	if !ok {
		return Rule{}, fmt.Errorf("rate %q: want N/s, N/m or N/h", rs)
	}
	n, err := strconv.ParseFloat(num, 64)
	if err != nil || n <= 0 || math.IsInf(n, 0) || math.IsNaN(n) {
		return Rule{}, fmt.Errorf("rate %q: want a positive number per s, m or h", rs)
	}
	var unit time.Duration
	switch per {
	case "s":
		unit = time.Second
	case "m":
		unit = time.Minute
	case "h":
		unit = time.Hour
	default:
		return Rule{}, fmt.Errorf("rate %q: unit %q, want s, m or h", rs, per)
	}
	r := Rule{Rate: rate.Limit(n / unit.Seconds())}
	// Without a burst the bucket holds one second's tokens (at least one).
	r.Burst = max(1, int(math.Ceil(float64(r.Rate))))
	if hasBurst {
		b, err := strconv.Atoi(bs)
		if err != nil || b < 1 {
			return Rule{}, fmt.Errorf("burst %q: want a whole number ≥ 1", bs)
		}
		r.Burst = b
	}
	return r, nil
}

// EnvDecode implements go-envconfig's Decoder.
func (l *Limits) EnvDecode(val string) error {
	p, err := Parse(val)
	if err != nil {
		return err
	}
	*l = p
	return nil
}

// For returns the rule of role.
func (l Limits) For(role auth.Role) Rule {
	if r, ok := l.roles[role]; ok {
		return r
	}
	if l.roles == nil && l.def == (Rule{}) {
		return Rule{Rate: rate.Inf}
	}
	return l.def
}

// String renders the limits in the form Parse reads, roles in order, for
// the configuration log.
func (l Limits) String() string {
	var parts []string
	for _, role := range roles {
		if r, ok := l.roles[role]; ok {
			parts = append(parts, string(role)+"="+r.String())
		}
	}
	if l.roles != nil || l.def != (Rule{}) {
		parts = append(parts, "*="+l.For("*").String())
	}
	return strings.Join(parts, ",")
}

// maxIdle is how many buckets are kept before full ones are dropped: a city
// has a few thousand patrol workers and secretaries.
const maxIdle = 10_000

// Limiter holds the buckets. It is safe for concurrent use.
type Limiter struct {
	limits Limits
	now    func() time.Time

	mu      sync.Mutex
	buckets map[string]*rate.Limiter
}

// New returns a limiter enforcing limits.
func New(limits Limits) *Limiter {
	return &Limiter{limits: limits, now: time.Now, buckets: map[string]*rate.Limiter{}}
}

// Allow takes a token from p's bucket. When there is none it takes nothing
// and says how long until there is one.
func (l *Limiter) Allow(p auth.Principal) (ok bool, retryAfter time.Duration) {
	rule := l.limits.For(p.Role)
	if rule.Rate == rate.Inf {
		return true, 0
	}
	now := l.now()
	b := l.bucket(p.String(), rule, now)
	res := b.ReserveN(now, 1)
	if d := res.DelayFrom(now); d > 0 {
		res.CancelAt(now)
		return false, d
	}
	return true, 0
}

// Rule returns the rule that applies to p (for refusal messages).
func (l *Limiter) Rule(p auth.Principal) Rule { return l.limits.For(p.Role) }

func (l *Limiter) bucket(key string, rule Rule, now time.Time) *rate.Limiter {
	l.mu.Lock()
	defer l.mu.Unlock()
	if b, ok := l.buckets[key]; ok {
		return b
	}
	if len(l.buckets) >= maxIdle {
		for k, b := range l.buckets {
			if b.TokensAt(now) >= float64(b.Burst()) {
				delete(l.buckets, k)
			}
		}
	}
	b := rate.NewLimiter(rule.Rate, rule.Burst)
	l.buckets[key] = b
	return b
}
