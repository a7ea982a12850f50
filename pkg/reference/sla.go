package reference

import (
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/gridflow/gridflow/pkg/workcal"
)

// AppealType is a 12345 appeal type (诉求类型).
type AppealType string

// The 12345 appeal types.
const (
	Consultation AppealType = "consultation" // 咨询
	Help         AppealType = "help"         // 求助
	Complaint    AppealType = "complaint"    // 投诉
	Report       AppealType = "report"       // 举报
	Suggestion   AppealType = "suggestion"   // 建议
	Praise       AppealType = "praise"       // 表扬
)

// AppealTypes maps each appeal type to its Chinese name.
var AppealTypes = map[AppealType]string{
	Consultation: "咨询", Help: "求助", Complaint: "投诉", Report: "举报", Suggestion: "建议", Praise: "表扬",
}

// Valid reports whether a is a known appeal type.
func (a AppealType) Valid() bool { _, ok := AppealTypes[a]; return ok }

// Limits are the time limits of one SLA row or profile. A zero Duration is
// "no limit from this source".
type Limits struct {
	Ack      workcal.Duration // acknowledge (签收) within
	OnSite   workcal.Duration // report on site within (吹哨报到, stop-work orders)
	Complete workcal.Duration // complete (办结) within
	Warn     float64          // warning fraction; 0: inherit
}

// Profile is a named SLA profile that catalogue items and rules refer to.
// Its Limits compete with the urgency row (the strictest applies); its
// Urgency rows replace fields of the urgency row for cases of that urgency —
// the one way to relax a default, as utility repairs relax the emergency
// completion limit from 2 hours to 24.
type Profile struct {
	Name        string
	Description string
	Limits      Limits
	Urgency     map[Urgency]Limits
}

// Trigger is when an escalation step fires.
type Trigger string

// Escalation triggers.
const (
	AtWarning Trigger = "warning" // the warning fraction of the limit has run
	AtOverdue Trigger = "overdue" // the limit has run out
)

// Action is what an escalation step does.
type Action string

// Escalation actions.
const (
	Remind    Action = "remind"    // 催办: a reminder to the unit
	Supervise Action = "supervise" // 督办: formal supervision
	Escalate  Action = "escalate"  // raise to the next level
)

// Recipient is who an escalation step addresses.
type Recipient string

// Escalation recipients, resolved against the case's area.
const (
	ToUnit         Recipient = "unit"
	ToStreetDesk   Recipient = "street_desk"
	ToDistrictDesk Recipient = "district_desk"
)

// Step is one rung of an escalation ladder: After (clock or working time)
// past the trigger, do Action addressed to To.
type Step struct {
	When   Trigger
	After  workcal.Duration
	Action Action
	To     Recipient
}

// Escalation is the ladder for acknowledgement and completion limits
// separately, each in firing order.
type Escalation struct {
	Ack      []Step
	Complete []Step
}

type slaFile struct {
	Warn        float64                   `yaml:"warn"`
	Urgency     map[Urgency]rawLimits     `yaml:"urgency"`
	AppealTypes map[AppealType]rawLimits  `yaml:"appeal_types"`
	Whistle     rawLimits                 `yaml:"whistle"`
	Profiles    map[string]rawProfile     `yaml:"profiles"`
	Escalation  map[string][]rawStep      `yaml:"escalation"`
	lines       map[string]map[string]int // section → key → line
	stepLines   map[string][]int
}

type rawLimits struct {
	Name     string  `yaml:"name"`
	Ack      string  `yaml:"ack"`
	OnSite   string  `yaml:"on_site"`
	Complete string  `yaml:"complete"`
	Warn     float64 `yaml:"warn"`
}

type rawProfile struct {
	Description string                `yaml:"description"`
	Ack         string                `yaml:"ack"`
	OnSite      string                `yaml:"on_site"`
	Complete    string                `yaml:"complete"`
	Warn        float64               `yaml:"warn"`
	Urgency     map[Urgency]rawLimits `yaml:"urgency"`
}

type rawStep struct {
	When   Trigger   `yaml:"when"`
	After  string    `yaml:"after"`
	Action Action    `yaml:"action"`
	To     Recipient `yaml:"to"`
}

func (f *slaFile) setLines(doc *yaml.Node) {
	f.lines = map[string]map[string]int{}
	for _, sec := range []string{"urgency", "appeal_types", "profiles", "whistle"} {
		f.lines[sec] = keyLines(doc, sec)
	}
	f.lines[""] = keyLines(doc)
	f.stepLines = map[string][]int{}
	for _, sec := range []string{"ack", "complete"} {
		f.stepLines[sec] = seqLines(doc, "escalation", sec)
	}
}

func (f *slaFile) line(section, key string) int {
	if f.lines == nil {
		return 0
	}
	return f.lines[section][key]
}

// DefaultWarn is the warning fraction when sla.yaml gives none.
const DefaultWarn = 0.8

type slaConfig struct {
	warn        float64
	urgencyRows map[Urgency]Limits
	appealRows  map[AppealType]Limits
	whistle     Limits
	profiles    map[string]*Profile
	escalation  Escalation
}

// buildSLA parses sla.yaml. Limits that do not parse are reported here and
// left out, so Validate sees them as missing only where they are required.
func (s *Set) buildSLA(c *checker) {
	f := &s.raw.sla
	s.warn = f.Warn
	if s.warn == 0 {
		s.warn = DefaultWarn
	}
	limits := func(section, key string, r rawLimits) Limits {
		entry := section + " " + key
		if section == "" {
			entry = key
		}
		line := f.line(section, key)
		return Limits{
			Ack:      parseLimit(c, line, entry, "ack", r.Ack),
			OnSite:   parseLimit(c, line, entry, "on_site", r.OnSite),
			Complete: parseLimit(c, line, entry, "complete", r.Complete),
			Warn:     r.Warn,
		}
	}
	s.urgencyRows = map[Urgency]Limits{}
	for u, r := range f.Urgency {
		s.urgencyRows[u] = limits("urgency", string(u), r)
	}
	s.appealRows = map[AppealType]Limits{}
	for a, r := range f.AppealTypes {
		s.appealRows[a] = limits("appeal_types", string(a), r)
	}
	s.whistle = limits("", "whistle", f.Whistle)
	s.profiles = map[string]*Profile{}
	for name, r := range f.Profiles {
		p := &Profile{Name: name, Description: r.Description, Urgency: map[Urgency]Limits{},
			Limits: limits("profiles", name, rawLimits{Ack: r.Ack, OnSite: r.OnSite, Complete: r.Complete, Warn: r.Warn})}
		for u, ur := range r.Urgency {
			p.Urgency[u] = limits("profiles", name+" urgency "+string(u), ur)
		}
		s.profiles[name] = p
	}
	steps := func(sec string) []Step {
		var out []Step
		for i, r := range f.Escalation[sec] {
			out = append(out, Step{When: r.When, Action: r.Action, To: r.To,
				After: parseLimit(c, lineOf(f.stepLines[sec], i), fmt.Sprintf("escalation %s step %d", sec, i+1), "after", r.After)})
		}
		return out
	}
	s.escalation = Escalation{Ack: steps("ack"), Complete: steps("complete")}
}

func parseLimit(c *checker, line int, entry, field, v string) workcal.Duration {
	d, err := workcal.ParseDuration(v)
	if err != nil {
		c.add(FileSLA, line, entry, "%s: %s", field, strings.TrimPrefix(err.Error(), "workcal: "))
	}
	return d
}

var profileName = regexp.MustCompile(`^[a-z][a-z0-9_]*$`)

func (s *Set) checkSLA(c *checker) {
	if c.broken[FileSLA] {
		return
	}
	f := &s.raw.sla
	if f.Warn < 0 || f.Warn >= 1 {
		c.add(FileSLA, f.line("", "warn"), "warn", "must be a fraction between 0 and 1 (0.8)")
	}
	warn := func(line int, entry string, w float64) {
		if w < 0 || w >= 1 {
			c.add(FileSLA, line, entry, "warn must be a fraction between 0 and 1")
		}
	}
	for u := range f.Urgency {
		if !u.Valid() || u == "" {
			c.add(FileSLA, f.line("urgency", string(u)), "urgency "+string(u), "unknown urgency (want normal, urgent, emergency)")
		}
	}
	for _, u := range Urgencies {
		r, ok := s.urgencyRows[u]
		line := f.line("urgency", string(u))
		switch {
		case !ok:
			c.add(FileSLA, f.line("", "urgency"), "urgency", "no row for %s", u)
		case r.Ack.IsZero() || r.Complete.IsZero():
			c.add(FileSLA, line, "urgency "+string(u), "needs both ack and complete (normal's complete applies when a case has no appeal type)")
		}
		warn(line, "urgency "+string(u), r.Warn)
	}
	for a, r := range s.appealRows {
		line := f.line("appeal_types", string(a))
		switch {
		case !a.Valid():
			c.add(FileSLA, line, "appeal type "+string(a), "unknown appeal type")
		case r.Complete.IsZero():
			c.add(FileSLA, line, "appeal type "+string(a), "no complete limit")
		case !r.Ack.IsZero() || !r.OnSite.IsZero():
			c.add(FileSLA, line, "appeal type "+string(a), "appeal types set the complete limit only (they apply at normal urgency)")
		}
	}
	for _, a := range []AppealType{Consultation, Help, Complaint, Report, Suggestion} {
		if _, ok := s.appealRows[a]; !ok {
			c.add(FileSLA, f.line("", "appeal_types"), "appeal_types", "no limit for %s (%s)", a, AppealTypes[a])
		}
	}
	if s.whistle.OnSite.IsZero() {
		c.add(FileSLA, f.line("", "whistle"), "whistle", "no on_site limit for 吹哨报到")
	}
	for name, p := range s.profiles {
		entry := "profile " + name
		line := f.line("profiles", name)
		if !profileName.MatchString(name) {
			c.add(FileSLA, line, entry, "name must be lower-case letters, digits and _")
		}
		if p.Limits == (Limits{}) && len(p.Urgency) == 0 {
			c.add(FileSLA, line, entry, "sets no limit")
		}
		warn(line, entry, p.Limits.Warn)
		for u := range p.Urgency {
			if !u.Valid() || u == "" {
				c.add(FileSLA, line, entry, "unknown urgency %q", u)
			}
		}
	}
	for sec := range f.Escalation {
		if sec != "ack" && sec != "complete" {
			c.add(FileSLA, f.line("", "escalation"), "escalation "+sec, "unknown ladder (want ack and complete)")
		}
	}
	for sec, steps := range map[string][]Step{"ack": s.escalation.Ack, "complete": s.escalation.Complete} {
		if len(steps) == 0 {
			c.add(FileSLA, f.line("", "escalation"), "escalation", "no %s ladder", sec)
		}
		for i, st := range steps {
			entry := fmt.Sprintf("escalation %s step %d", sec, i+1)
			line := lineOf(f.stepLines[sec], i)
			if st.When != AtWarning && st.When != AtOverdue {
				c.add(FileSLA, line, entry, "when must be warning or overdue")
			}
			if st.Action != Remind && st.Action != Supervise && st.Action != Escalate {
				c.add(FileSLA, line, entry, "action must be remind, supervise or escalate")
			}
			if st.To != ToUnit && st.To != ToStreetDesk && st.To != ToDistrictDesk {
				c.add(FileSLA, line, entry, "to must be unit, street_desk or district_desk")
			}
			// Steps fire in order: a warning step after an overdue one, or
			// a shorter delay after a longer one of the same kind, would
			// fire out of order.
			if i > 0 {
				prev := steps[i-1]
				if prev.When == AtOverdue && st.When == AtWarning {
					c.add(FileSLA, line, entry, "a warning step after an overdue step")
				} else if prev.When == st.When && prev.After.Kind == st.After.Kind && lessLimit(st.After, prev.After) {
					c.add(FileSLA, line, entry, "fires before the previous step (%v < %v)", st.After, prev.After)
				}
			}
		}
	}
}

// lessLimit compares two limits of the same kind.
func lessLimit(a, b workcal.Duration) bool {
	if a.Kind == workcal.WorkingDays {
		return a.Days < b.Days
	}
	return a.Time < b.Time
}

// SLAProfile looks a profile up by name.
func (s *Set) SLAProfile(name string) (Profile, bool) {
	p, ok := s.profiles[name]
	if !ok {
		return Profile{}, false
	}
	return *p, true
}

// SLAProfiles lists the profile names, sorted.
func (s *Set) SLAProfiles() []string {
	names := make([]string, 0, len(s.profiles))
	for n := range s.profiles {
		names = append(names, n)
	}
	slices.Sort(names)
	return names
}

// Escalation is the escalation ladder.
func (s *Set) Escalation() Escalation { return s.escalation }

func (s *Set) knownProfile(c *checker, name string) bool {
	if c.broken[FileSLA] {
		return true
	}
	_, ok := s.profiles[name]
	return ok
}

// Errors of ResolveSLA.
var (
	ErrUnknownItem    = errors.New("reference: unknown catalogue item")
	ErrUnknownProfile = errors.New("reference: unknown SLA profile")
	ErrBadQuery       = errors.New("reference: invalid SLA query")
)

// SLAQuery is what decides a case's limits.
type SLAQuery struct {
	Item        string     // catalogue code; "" when not classified
	Urgency     Urgency    // "" is normal
	AppealType  AppealType // "" when none (patrol reports)
	RuleProfile string     // the profile of the routing rule that chose the lead; ""
	Whistle     bool       // 吹哨报到: departments named in a 一指通办 issue
	Received    time.Time  // the clock starts here (case received / dispatched)
}

// Limit is one resolved limit: its length, where it came from, and when it
// falls due. A zero Limit (Duration.IsZero) means no limit.
type Limit struct {
	Duration workcal.Duration
	Source   string // "urgency emergency", "appeal type complaint", "item 06010 profile garbage", "rule profile night_response", "whistle"
	Due      time.Time
	WarnAt   time.Time     // when the warning fraction has run
	Flags    workcal.Flags // the due time depends on an unconfirmed calendar year
}

// IsZero reports whether there is no limit.
func (l Limit) IsZero() bool { return l.Duration.IsZero() }

// SLA is a case's resolved limits.
type SLA struct {
	Ack      Limit
	OnSite   Limit // 吹哨报到 or a profile's on-site (e.g. stop-work) limit
	Complete Limit
	Warn     float64
}

type candidate struct {
	d   workcal.Duration
	src string
}

// ResolveSLA applies DOMAIN.md's rule: the strictest of the urgency row, the
// item's profile and the rule's profile applies, and at normal urgency the
// appeal type's limit takes the place of the row's completion limit.
// "Strictest" is the earliest due time from q.Received — limits of different
// kinds (2 working hours vs 24 clock hours) only compare at a given instant;
// on a tie the earlier source in that order wins. A profile's own urgency row
// replaces the urgency row's fields instead of competing with them. 吹哨报到
// adds the whistle's on-site limit. The warning fraction is the smallest
// given.
func (s *Set) ResolveSLA(q SLAQuery) (SLA, error) {
	if q.Received.IsZero() {
		return SLA{}, fmt.Errorf("%w: no received time", ErrBadQuery)
	}
	if !q.Urgency.Valid() {
		return SLA{}, fmt.Errorf("%w: urgency %q", ErrBadQuery, q.Urgency)
	}
	if q.AppealType != "" && !q.AppealType.Valid() {
		return SLA{}, fmt.Errorf("%w: appeal type %q", ErrBadQuery, q.AppealType)
	}
	u := q.Urgency.OrNormal()
	var profiles []*Profile
	var sources []string
	if q.Item != "" {
		it, ok := s.itemByCode[q.Item]
		if !ok {
			return SLA{}, fmt.Errorf("%w: %q", ErrUnknownItem, q.Item)
		}
		if it.SLA != "" {
			profiles = append(profiles, s.profiles[it.SLA])
			sources = append(sources, "item "+it.Code+" profile "+it.SLA)
		}
	}
	if q.RuleProfile != "" {
		p, ok := s.profiles[q.RuleProfile]
		if !ok {
			return SLA{}, fmt.Errorf("%w: %q", ErrUnknownProfile, q.RuleProfile)
		}
		profiles = append(profiles, p)
		sources = append(sources, "rule profile "+q.RuleProfile)
	}

	row := s.urgencyRows[u]
	rowSrc := [3]string{"urgency " + string(u), "urgency " + string(u), "urgency " + string(u)}
	if u == Normal && q.AppealType != "" {
		if a, ok := s.appealRows[q.AppealType]; ok && !a.Complete.IsZero() {
			row.Complete, rowSrc[2] = a.Complete, "appeal type "+string(q.AppealType)
		}
	}
	// Candidates per field: 0 ack, 1 on site, 2 complete.
	var cands [3][]candidate
	var overrides [3][]candidate
	for i, p := range profiles {
		if ov, ok := p.Urgency[u]; ok {
			for f, d := range fields(ov) {
				if !d.IsZero() {
					overrides[f] = append(overrides[f], candidate{d, sources[i] + " (" + string(u) + ")"})
				}
			}
		}
	}
	for f, d := range fields(row) {
		if len(overrides[f]) > 0 {
			cands[f] = append(cands[f], overrides[f]...)
		} else if !d.IsZero() {
			cands[f] = append(cands[f], candidate{d, rowSrc[f]})
		}
	}
	warn := s.warn
	if row.Warn > 0 {
		warn = min(warn, row.Warn)
	}
	for i, p := range profiles {
		for f, d := range fields(p.Limits) {
			if !d.IsZero() {
				cands[f] = append(cands[f], candidate{d, sources[i]})
			}
		}
		if p.Limits.Warn > 0 {
			warn = min(warn, p.Limits.Warn)
		}
	}
	if q.Whistle && !s.whistle.OnSite.IsZero() {
		cands[1] = append(cands[1], candidate{s.whistle.OnSite, "whistle"})
	}
	var out [3]Limit
	for f := range cands {
		out[f] = s.strictest(cands[f], q.Received, warn)
	}
	return SLA{Ack: out[0], OnSite: out[1], Complete: out[2], Warn: warn}, nil
}

func fields(l Limits) [3]workcal.Duration { return [3]workcal.Duration{l.Ack, l.OnSite, l.Complete} }

func (s *Set) strictest(cs []candidate, received time.Time, warn float64) Limit {
	var best Limit
	for _, c := range cs {
		due, flags := s.cal.AddWorking(received, c.d)
		if best.IsZero() || due.Before(best.Due) {
			best = Limit{Duration: c.d, Source: c.src, Due: due, Flags: flags}
		}
	}
	if !best.IsZero() {
		best.WarnAt = s.cal.WarningAt(received, best.Due, warn, best.Duration.Kind)
	}
	return best
}
