package reference

import (
	"fmt"
	"regexp"
	"slices"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/gridflow/gridflow/pkg/workcal"
)

// Source is the door a case came in by.
type Source string

// Case sources.
const (
	FromHotline   Source = "hotline"   // 12345 work order
	FromPatrol    Source = "patrol"    // grid worker's patrol report
	FromSecretary Source = "secretary" // community secretary's 一指通办 issue
	FromPublic    Source = "public"    // the public's Open311 request (issue 19)
)

// Valid reports whether s is a known source.
func (s Source) Valid() bool {
	return s == FromHotline || s == FromPatrol || s == FromSecretary || s == FromPublic
}

// DayKind restricts a rule to working days or rest days (weekends and
// official holidays, make-up working days excluded): the holiday flag.
type DayKind string

// Day kinds; "" matches any day.
const (
	AnyDay     DayKind = ""
	WorkingDay DayKind = "working"
	RestDay    DayKind = "rest"
)

// Window is a wall-clock window in the calendar's zone, [From, To). From >
// To wraps midnight: 22:00-06:00 is the night.
type Window struct {
	From, To time.Duration
}

// parseWindow parses "22:00-06:00".
func parseWindow(s string) (*Window, error) {
	sp := strings.SplitN(s, "-", 2)
	if len(sp) != 2 {
		return nil, fmt.Errorf("hours %q: want HH:MM-HH:MM", s)
	}
	from, err := workcal.ParseClock(strings.TrimSpace(sp[0]))
	if err != nil {
		return nil, fmt.Errorf("hours %q: want HH:MM-HH:MM", s)
	}
	to, err := workcal.ParseClock(strings.TrimSpace(sp[1]))
	if err != nil {
		return nil, fmt.Errorf("hours %q: want HH:MM-HH:MM", s)
	}
	if from == to || from >= 24*time.Hour {
		return nil, fmt.Errorf("hours %q: an empty or whole-day window; leave hours out to match any time", s)
	}
	return &Window{From: from, To: to}, nil
}

// Contains reports whether a wall-clock offset from midnight is inside the
// window.
func (w Window) Contains(off time.Duration) bool {
	if w.From < w.To {
		return off >= w.From && off < w.To
	}
	return off >= w.From || off < w.To
}

// String formats the window as it is written.
func (w Window) String() string { return workcal.FormatClock(w.From) + "-" + workcal.FormatClock(w.To) }

// covers reports whether every minute of v is inside w.
func (w Window) covers(v Window) bool {
	for m := time.Duration(0); m < 24*time.Hour; m += time.Minute {
		if v.Contains(m) && !w.Contains(m) {
			return false
		}
	}
	return true
}

// Match is a rule's matchers. Each non-empty matcher must match (AND); within
// one matcher any listed value may match (OR). An empty Match matches every
// case: a catch-all.
type Match struct {
	// Items are catalogue item codes or class codes (06, H01000): a class
	// matches itself and every item under it, within its own tree.
	Items  []string
	Labels []string
	// Areas are district, street, community or grid codes: a case matches
	// when its most specific known area lies in one of them.
	Areas       []string
	AppealTypes []AppealType
	Sources     []Source
	Urgencies   []Urgency
	// Hours is a time-of-day window on the received time; nil for any time.
	Hours *Window
	Day   DayKind
	// Keywords match the case text, any one of them, case-insensitively.
	Keywords []string
}

// IsEmpty reports whether the match is a catch-all.
func (m Match) IsEmpty() bool {
	return len(m.Items) == 0 && len(m.Labels) == 0 && len(m.Areas) == 0 && len(m.AppealTypes) == 0 &&
		len(m.Sources) == 0 && len(m.Urgencies) == 0 && m.Hours == nil && m.Day == AnyDay && len(m.Keywords) == 0
}

// onlyItems reports whether items are the only matcher: such a rule claims
// every case of its items unconditionally.
func (m Match) onlyItems() bool {
	return len(m.Items) > 0 && (Match{Items: nil, Labels: m.Labels, Areas: m.Areas, AppealTypes: m.AppealTypes,
		Sources: m.Sources, Urgencies: m.Urgencies, Hours: m.Hours, Day: m.Day, Keywords: m.Keywords}).IsEmpty()
}

// ItemCovers reports whether an item matcher entry covers a case's catalogue
// code. An entry is an item code, a class code (the class and all its
// items), or "=" and a class code: the class alone, i.e. a case classified
// only to the class, which is how a class's triage route leaves the items
// to their own rules.
func ItemCovers(matcher, code string) bool {
	if exact, ok := strings.CutPrefix(matcher, ExactPrefix); ok {
		return exact == code
	}
	if matcher == code {
		return true
	}
	if _, class, ok := TreeOf(matcher); !ok || !class {
		return false
	}
	_, codeIsClass, ok := TreeOf(code)
	return ok && !codeIsClass && classOf(code) == matcher
}

// ExactPrefix marks an item matcher entry that covers a class code alone
// ("=H04000"), not the class's items.
const ExactPrefix = "="

// matcherCovers reports whether item matcher entry outer accepts every case
// inner accepts.
func matcherCovers(outer, inner string) bool {
	if exact, ok := strings.CutPrefix(inner, ExactPrefix); ok {
		return ItemCovers(outer, exact)
	}
	if _, class, ok := TreeOf(inner); ok && class {
		return outer == inner // only the whole class covers the whole class
	}
	return ItemCovers(outer, inner)
}

// Scope says how a target names its department.
type Scope uint8

// Target scopes.
const (
	// Fixed: a department code.
	Fixed Scope = iota
	// StreetScoped: "{street}-<unit>", the unit of that name in the case's
	// street (the street's 城管执法中队 for "{street}-cgzd").
	StreetScoped
	// DistrictScoped: "{district}-<unit>", the unit in the case's district.
	DistrictScoped
)

// Target is a rule's lead or co-handler.
type Target struct {
	Scope Scope
	Code  string // the department code, for Fixed
	Unit  string // the unit name, for the scoped forms
}

// IsZero reports whether there is no target (a rule without a lead).
func (t Target) IsZero() bool { return t == Target{} }

var unitName = regexp.MustCompile(`^[a-z][a-z0-9]*$`)

// ParseTarget parses "310106-sthjj", "{street}-cgzd" or "{district}-cyzx".
func ParseTarget(s string) (Target, error) {
	for prefix, scope := range map[string]Scope{"{street}-": StreetScoped, "{district}-": DistrictScoped} {
		if unit, ok := strings.CutPrefix(s, prefix); ok {
			if !unitName.MatchString(unit) {
				return Target{}, fmt.Errorf("target %q: unit must be lower-case letters and digits", s)
			}
			return Target{Scope: scope, Unit: unit}, nil
		}
	}
	if strings.Contains(s, "{") {
		return Target{}, fmt.Errorf("target %q: the placeholders are {street} and {district}", s)
	}
	if !deptCode.MatchString(s) {
		return Target{}, fmt.Errorf("target %q: want a department code or {street}-<unit> / {district}-<unit>", s)
	}
	return Target{Scope: Fixed, Code: s}, nil
}

// String formats the target as it is written.
func (t Target) String() string {
	switch t.Scope {
	case StreetScoped:
		return "{street}-" + t.Unit
	case DistrictScoped:
		return "{district}-" + t.Unit
	}
	return t.Code
}

// Resolve returns the department code for a case in district and street.
// ok is false when the target needs an area the case does not know (Unknown
// or "").
func (t Target) Resolve(district, street string) (string, bool) {
	switch t.Scope {
	case StreetScoped:
		if street == "" || street == Unknown {
			return "", false
		}
		return street + "-" + t.Unit, true
	case DistrictScoped:
		if district == "" || district == Unknown {
			return "", false
		}
		return district + "-" + t.Unit, true
	}
	return t.Code, t.Code != ""
}

// Rule is one entry of the 责任清单, in order. The first matching rule with a
// lead decides the lead unit; a matching rule with Continue lets later rules
// match too, their leads and co-handlers joining as co-handlers, until a
// matching rule without Continue. A rule without a lead only adds
// co-handlers and must continue. A catch-all with a lead (a fallback) only
// ever supplies a lead: reached after a lead is found, it ends the
// evaluation without joining.
type Rule struct {
	Name        string
	Description string
	Match       Match
	Lead        Target
	Co          []Target
	SLA         string // SLA profile; "" for none
	Continue    bool
	Line        int // in rules.yaml, for messages
}

type rulesFile struct {
	Rules []rawRule `yaml:"rules"`
}

type rawRule struct {
	Name        string   `yaml:"name"`
	Description string   `yaml:"description"`
	Match       rawMatch `yaml:"match"`
	Lead        string   `yaml:"lead"`
	Co          []string `yaml:"co"`
	SLA         string   `yaml:"sla"`
	Continue    bool     `yaml:"continue"`
	line        int
}

type rawMatch struct {
	Items       []string     `yaml:"items"`
	Labels      []string     `yaml:"labels"`
	Areas       []string     `yaml:"areas"`
	AppealTypes []AppealType `yaml:"appeal_types"`
	Sources     []Source     `yaml:"sources"`
	Urgency     []Urgency    `yaml:"urgency"`
	Hours       string       `yaml:"hours"`
	Day         DayKind      `yaml:"day"`
	Keywords    []string     `yaml:"keywords"`
}

func (f *rulesFile) setLines(doc *yaml.Node) {
	l := seqLines(doc, "rules")
	for i := range f.Rules {
		f.Rules[i].line = lineOf(l, i)
	}
}

// buildRules parses rules.yaml, reporting what does not parse (targets,
// hours); checkRules checks the parsed rules against the rest of the set.
func (s *Set) buildRules(c *checker) {
	for _, r := range s.raw.rules.Rules {
		entry := "rule " + r.Name
		m := r.Match
		rule := Rule{Name: r.Name, Description: r.Description, SLA: r.SLA, Continue: r.Continue, Line: r.line,
			Match: Match{Items: m.Items, Labels: m.Labels, Areas: m.Areas, AppealTypes: m.AppealTypes,
				Sources: m.Sources, Urgencies: m.Urgency, Day: m.Day, Keywords: m.Keywords}}
		if m.Hours != "" {
			w, err := parseWindow(m.Hours)
			if err != nil {
				c.add(FileRules, r.line, entry, "%v", err)
			}
			rule.Match.Hours = w
		}
		if r.Lead != "" {
			t, err := ParseTarget(r.Lead)
			if err != nil {
				c.add(FileRules, r.line, entry, "lead: %v", err)
			}
			rule.Lead = t
		}
		for _, co := range r.Co {
			t, err := ParseTarget(co)
			if err != nil {
				c.add(FileRules, r.line, entry, "co: %v", err)
				continue
			}
			rule.Co = append(rule.Co, t)
		}
		s.rules = append(s.rules, rule)
	}
}

// Rules returns the routing rules in order. The rules share their slices:
// do not modify them.
func (s *Set) Rules() []Rule { return slices.Clone(s.rules) }

var ruleName = regexp.MustCompile(`^[a-z0-9][a-z0-9_.-]*$`)

func (s *Set) checkRules(c *checker) {
	if c.broken[FileRules] {
		return
	}
	names := map[string]int{}
	for _, r := range s.rules {
		entry := "rule " + r.Name
		switch {
		case !ruleName.MatchString(r.Name):
			c.add(FileRules, r.Line, entry, "name must be lower-case letters, digits, '-', '_' or '.'")
		case names[r.Name] > 0:
			c.add(FileRules, r.Line, entry, "name already used on line %d", names[r.Name])
		default:
			names[r.Name] = r.Line
		}
		s.checkMatch(c, r)
		if r.Lead.IsZero() && !r.Continue {
			c.add(FileRules, r.Line, entry, "no lead: a rule that only adds co-handlers must continue")
		}
		if r.Lead.IsZero() && len(r.Co) == 0 {
			c.add(FileRules, r.Line, entry, "no lead and no co-handlers")
		}
		for _, t := range s.ruleTargets(r) {
			s.checkTarget(c, r, t)
		}
		if r.SLA != "" && !s.knownProfile(c, r.SLA) {
			c.add(FileRules, r.Line, entry, "unknown SLA profile %q", r.SLA)
		}
	}
	if c.broken[FileCatalogue] || c.broken[FileDepartments] || c.broken[FileAreas] {
		return
	}
	s.checkPowersOfLeads(c)
	s.checkShadowed(c)
	s.checkFallbacks(c)
}

func (s *Set) ruleTargets(r Rule) []Target {
	var ts []Target
	if !r.Lead.IsZero() {
		ts = append(ts, r.Lead)
	}
	return append(ts, r.Co...)
}

func (s *Set) checkMatch(c *checker, r Rule) {
	entry := "rule " + r.Name
	m := r.Match
	for _, code := range m.Items {
		exact, isExact := strings.CutPrefix(code, ExactPrefix)
		switch {
		case c.broken[FileCatalogue]:
		case isExact:
			if it, ok := s.itemByCode[exact]; !ok || !it.Class {
				c.add(FileRules, r.Line, entry, "%q: %s marks a class alone, and %q is not a class", code, ExactPrefix, exact)
			}
		case !s.knownItem(c, code):
			if succ, retired := s.Successor(code); retired {
				c.add(FileRules, r.Line, entry, "catalogue item %q is retired: name its successor %s", code, succ)
			} else {
				c.add(FileRules, r.Line, entry, "unknown catalogue item or class %q", code)
			}
		}
	}
	for _, l := range m.Labels {
		if strings.TrimSpace(l) == "" {
			c.add(FileRules, r.Line, entry, "empty label")
		}
	}
	for _, a := range m.Areas {
		if !s.knownArea(c, a) {
			c.add(FileRules, r.Line, entry, "unknown area %q", a)
		}
	}
	for _, a := range m.AppealTypes {
		if !a.Valid() {
			c.add(FileRules, r.Line, entry, "unknown appeal type %q", a)
		}
	}
	for _, src := range m.Sources {
		if !src.Valid() {
			c.add(FileRules, r.Line, entry, "unknown source %q (want hotline, patrol or secretary)", src)
		}
	}
	for _, u := range m.Urgencies {
		if !u.Valid() || u == "" {
			c.add(FileRules, r.Line, entry, "unknown urgency %q", u)
		}
	}
	if m.Day != AnyDay && m.Day != WorkingDay && m.Day != RestDay {
		c.add(FileRules, r.Line, entry, "day must be working or rest")
	}
	for _, k := range m.Keywords {
		if strings.TrimSpace(k) == "" {
			c.add(FileRules, r.Line, entry, "empty keyword")
		}
	}
}

// scopeStreets lists the streets a rule can see: those under its area
// matchers, or all.
func (s *Set) scopeStreets(r Rule) []string {
	if len(r.Match.Areas) == 0 {
		return s.streetsUnder("")
	}
	var out []string
	for _, a := range r.Match.Areas {
		out = append(out, s.streetsUnder(a)...)
	}
	slices.Sort(out)
	return slices.Compact(out)
}

func (s *Set) scopeDistricts(r Rule) []string {
	if len(r.Match.Areas) == 0 {
		return s.districtsUnder("")
	}
	var out []string
	for _, a := range r.Match.Areas {
		out = append(out, s.districtsUnder(a)...)
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// resolveAll lists the departments a target can resolve to for the cases a
// rule sees.
func (s *Set) resolveAll(r Rule, t Target) []string {
	switch t.Scope {
	case StreetScoped:
		var out []string
		for _, st := range s.scopeStreets(r) {
			out = append(out, st+"-"+t.Unit)
		}
		return out
	case DistrictScoped:
		var out []string
		for _, d := range s.scopeDistricts(r) {
			out = append(out, d+"-"+t.Unit)
		}
		return out
	}
	return []string{t.Code}
}

func (s *Set) checkTarget(c *checker, r Rule, t Target) {
	if c.broken[FileDepartments] || (t.Scope != Fixed && c.broken[FileAreas]) {
		return
	}
	for _, code := range s.resolveAll(r, t) {
		if _, ok := s.deptByCode[code]; !ok {
			if t.Scope == Fixed {
				c.add(FileRules, r.Line, "rule "+r.Name, "unknown department %q", code)
			} else {
				c.add(FileRules, r.Line, "rule "+r.Name, "target %s: no department %s in %s", t, code, code[:strings.IndexByte(code, '-')])
			}
		}
	}
}

// expandItems lists the items a rule's item matchers cover: each item, and
// each class with all its items.
func (s *Set) expandItems(codes []string) []*Item {
	var out []*Item
	for _, code := range codes {
		exact, isExact := strings.CutPrefix(code, ExactPrefix)
		it, ok := s.itemByCode[exact]
		if !ok {
			continue
		}
		out = append(out, it)
		if it.Class && !isExact {
			out = append(out, s.classItems[code]...)
		}
	}
	return out
}

func (t Target) needsStreet() bool   { return t.Scope == StreetScoped }
func (t Target) needsDistrict() bool { return t.Scope == DistrictScoped }

func (s *Set) needs(r Rule, f func(Target) bool) bool {
	for _, t := range s.ruleTargets(r) {
		if f(t) {
			return true
		}
	}
	return false
}

// subsumes reports whether rule a, not continuing, would stop every case that
// reaches rule b: a's matchers each accept everything b's accept, and a can
// name its departments whenever b can fire (a {street} target does not
// resolve for a case whose street is unknown).
func (s *Set) subsumes(a, b Rule) bool {
	ma, mb := a.Match, b.Match
	if !coversAll(ma.Items, mb.Items, matcherCovers) ||
		!coversAll(ma.Labels, mb.Labels, func(x, y string) bool { return x == y }) ||
		!coversAll(ma.Areas, mb.Areas, strings.HasPrefix) ||
		!coversAll(ma.AppealTypes, mb.AppealTypes, func(x, y AppealType) bool { return x == y }) ||
		!coversAll(ma.Sources, mb.Sources, func(x, y Source) bool { return x == y }) ||
		!coversAll(ma.Urgencies, mb.Urgencies, func(x, y Urgency) bool { return x.OrNormal() == y.OrNormal() }) ||
		!coversAll(ma.Keywords, mb.Keywords, func(x, y string) bool {
			return strings.Contains(strings.ToLower(y), strings.ToLower(x))
		}) {
		return false
	}
	if ma.Hours != nil && (mb.Hours == nil || !ma.Hours.covers(*mb.Hours)) {
		return false
	}
	if ma.Day != AnyDay && ma.Day != mb.Day {
		return false
	}
	bKnowsStreet := s.needs(b, Target.needsStreet) || allAtLeast(mb.Areas, LevelStreet)
	if s.needs(a, Target.needsStreet) && !bKnowsStreet {
		return false
	}
	bKnowsDistrict := bKnowsStreet || s.needs(b, Target.needsDistrict) || len(mb.Areas) > 0
	if s.needs(a, Target.needsDistrict) && !bKnowsDistrict {
		return false
	}
	return true
}

// coversAll: an empty outer matcher accepts anything; otherwise the inner
// matcher must be non-empty and each of its values accepted by some outer
// value.
func coversAll[T any](outer, inner []T, covers func(o, i T) bool) bool {
	if len(outer) == 0 {
		return true
	}
	if len(inner) == 0 {
		return false
	}
	for _, i := range inner {
		if !slices.ContainsFunc(outer, func(o T) bool { return covers(o, i) }) {
			return false
		}
	}
	return true
}

func allAtLeast(areas []string, l Level) bool {
	if len(areas) == 0 {
		return false
	}
	for _, a := range areas {
		if LevelOf(a) < l {
			return false
		}
	}
	return true
}

func (s *Set) checkShadowed(c *checker) {
	for j, b := range s.rules {
		for _, a := range s.rules[:j] {
			if a.Continue || a.Lead.IsZero() || !s.subsumes(a, b) {
				continue
			}
			c.add(FileRules, b.Line, "rule "+b.Name, "unreachable: rule %s (line %d) takes every case this rule matches and does not continue", a.Name, a.Line)
			break
		}
	}
}

// checkFallbacks: the last rules must be the fallbacks of DESIGN.md — the
// street desk for anything no rule claims, then the district desk for a case
// whose street is unknown.
func (s *Set) checkFallbacks(c *checker) {
	const want = "the last rules must be catch-alls to the street desk ({street}-<desk unit>) and then the district desk ({district}-<desk unit>)"
	isCatchAll := func(r Rule) bool { return r.Match.IsEmpty() && !r.Continue && !r.Lead.IsZero() }
	streetFallback := slices.IndexFunc(s.rules, func(r Rule) bool {
		return isCatchAll(r) && r.Lead.Scope == StreetScoped && s.allDesks(s.streetsUnder(""), r.Lead.Unit)
	})
	if streetFallback < 0 {
		c.add(FileRules, 0, "", "missing the street-desk fallback: %s", want)
	}
	if len(s.rules) == 0 {
		c.add(FileRules, 0, "", "no rules")
		return
	}
	last := s.rules[len(s.rules)-1]
	switch {
	case !isCatchAll(last) || s.needs(last, Target.needsStreet):
		c.add(FileRules, last.Line, "rule "+last.Name, "missing the district-desk fallback: %s", want)
	case last.Lead.Scope == DistrictScoped:
		if !s.allDesks(s.districtsUnder(""), last.Lead.Unit) {
			c.add(FileRules, last.Line, "rule "+last.Name, "fallback lead %s is not every district's desk", last.Lead)
		}
	default:
		d, ok := s.deptByCode[last.Lead.Code]
		switch {
		case !ok:
		case !d.Desk || d.Level != LevelDistrict:
			c.add(FileRules, last.Line, "rule "+last.Name, "fallback lead %s is not a district desk", last.Lead)
		case len(s.byLevel[LevelDistrict]) > 1:
			c.add(FileRules, last.Line, "rule "+last.Name, "fallback lead %s serves one district of %d: use {district}-%s", last.Lead, len(s.byLevel[LevelDistrict]), d.Unit)
		}
	}
}

func (s *Set) allDesks(areas []string, unit string) bool {
	for _, a := range areas {
		d, ok := s.desks[a]
		if !ok || d.Unit != unit {
			return false
		}
	}
	return len(areas) > 0
}
