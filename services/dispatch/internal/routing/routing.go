// Package routing is dispatch's routing decision: given a classified case and
// the reference set, which unit leads, which units co-handle, and by when —
// with the path of rules that fired and why, so a dispatcher (and the
// task.dispatched event) can see the reason for every assignment.
//
// Rule parsing, validation and SLA arithmetic live in pkg/reference and
// pkg/workcal; this package only evaluates the validated rules against a
// case. A Router compiles a Set's rules once (item index, keyword lists,
// bitmasks); Decide keeps the Router of the last Set it saw, so services that
// swap sets on SIGHUP recompile once per reload.
package routing

import (
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
	"time"

	"github.com/gridflow/gridflow/pkg/reference"
)

// Case is what routing needs to know about a case. Area codes may be "" or
// reference.Unknown ("0"); higher levels are derived from lower ones (a grid
// code names its community, street and district).
type Case struct {
	Item  string // catalogue code; "" for an unclassified case
	Label string // the model's label
	// Labels are the classification's labels (e.g. 重复投诉); a rule's
	// labels matcher matches Label or any of these.
	Labels     []string
	District   string
	Street     string
	Community  string
	Grid       string
	AppealType reference.AppealType
	Source     reference.Source
	// Urgency; "" takes the item's default urgency.
	Urgency  reference.Urgency
	Received time.Time
	// Text is the case text keyword matchers search.
	Text string
	// Named are departments a community secretary asked to come (吹哨报到):
	// they join as co-handlers and must report on site within the whistle
	// limit.
	Named []string
}

// Role of a unit in a case.
type Role string

// Roles.
const (
	Lead      Role = "lead"       // 主办
	CoHandler Role = "co_handler" // 协办
)

// Assignment is one unit's part in a case.
type Assignment struct {
	Department string
	Role       Role
	// Rule is the rule that brought the unit in, or "whistle" for a unit
	// named in a 吹哨报到 issue.
	Rule string
	// Whistle: the unit was named by the secretary; OnSite is then the
	// whistle's report-on-site limit.
	Whistle bool
	// OnSite is the unit's report-on-site limit, zero when it has none. The
	// lead inherits an on-site limit of the case's SLA (a stop-work order).
	OnSite reference.Limit
}

// Step is one entry of the decision path.
type Step struct {
	Rule string `json:"Rule"` // rule name; "whistle", "redecide" and "retired" for the steps routing adds
	Line int    `json:"Line"` // in rules.yaml; 0 for added steps
	Why  string `json:"Why"`  // what matched, or why a matching rule was passed over
	// Fired is false for a rule that matched but could not name its lead
	// (its street is unknown, or the lead lacks the power the item needs);
	// the path keeps it so the skip is visible.
	Fired bool `json:"Fired"`
}

// Decision is the outcome of routing one case.
type Decision struct {
	Lead       Assignment
	CoHandlers []Assignment
	// SLA holds the case's limits with their due times computed on the
	// working calendar from Case.Received; the clock belongs to the case,
	// so a re-decision keeps them.
	SLA reference.SLA
	// Urgency is the urgency the SLA was resolved for (the case's, or the
	// item's default).
	Urgency reference.Urgency
	Path    []Step
	// Digest identifies the reference set that decided.
	Digest string
}

// Errors of Decide and Redecide.
var (
	ErrUnknownItem = errors.New("routing: unknown catalogue item")
	ErrUnknownArea = errors.New("routing: unknown area")
	ErrNoRoute     = errors.New("routing: no rule names a unit for this case")
	ErrBadCase     = errors.New("routing: invalid case")
)

// last is the Router of the most recent Set passed to Decide.
var last atomic.Pointer[Router]

// Decide routes a case with the set's rules. It compiles the set's rules the
// first time it sees the set; hold a Router to control that yourself.
func Decide(set *reference.Set, c Case) (Decision, error) {
	return routerFor(set).Decide(c)
}

// Redecide routes a case again after a not_my_area rejection that named the
// right area: the case's area becomes area (its codes below area's level are
// dropped), the rest — received time included, so deadlines stay — is kept.
func Redecide(set *reference.Set, c Case, area string) (Decision, error) {
	return routerFor(set).Redecide(c, area)
}

func routerFor(set *reference.Set) *Router {
	if r := last.Load(); r != nil && r.set == set {
		return r
	}
	r := New(set)
	last.Store(r)
	return r
}

// Redecide is the Router form of the package function Redecide.
func (r *Router) Redecide(c Case, area string) (Decision, error) {
	a, ok := r.set.Area(area)
	if !ok {
		return Decision{}, fmt.Errorf("%w: %q named by the rejection", ErrUnknownArea, area)
	}
	c.District, c.Street, c.Community, c.Grid = a.District, a.Street, a.Community, ""
	if a.Level == reference.LevelGrid {
		c.Grid = a.Code
	}
	d, err := r.Decide(c)
	if err != nil {
		return Decision{}, err
	}
	d.Path = append([]Step{{Rule: "redecide", Fired: true,
		Why: fmt.Sprintf("not_my_area: re-decided for %s %s %s", a.Level, a.Code, a.Name)}}, d.Path...)
	return d, nil
}

// normalise fills the area codes implied by the most specific one known and
// validates the rest of the case.
func (r *Router) normalise(c *Case) (*reference.Item, []Step, error) {
	var notes []Step
	if c.Received.IsZero() {
		return nil, nil, fmt.Errorf("%w: no received time", ErrBadCase)
	}
	if !c.Urgency.Valid() {
		return nil, nil, fmt.Errorf("%w: urgency %q", ErrBadCase, c.Urgency)
	}
	var item *reference.Item
	if c.Item != "" {
		it, ok := r.set.Item(c.Item)
		if !ok {
			return nil, nil, fmt.Errorf("%w: %q", ErrUnknownItem, c.Item)
		}
		item = &it
		if it.Code != c.Item {
			// A retired code (an older classification) routes as the item
			// that took it over; the path says so.
			notes = append(notes, Step{Rule: "retired", Why: fmt.Sprintf("item %s is retired: routed as its successor %s", c.Item, it.Code)})
			c.Item = it.Code
		}
		if c.Urgency == "" {
			c.Urgency = it.Urgency
		}
	}
	c.Urgency = c.Urgency.OrNormal()
	for _, p := range []*string{&c.District, &c.Street, &c.Community, &c.Grid} {
		if *p == reference.Unknown {
			*p = ""
		}
	}
	// Codes nest, so the most specific known code names every level above it.
	if most := mostSpecific(c); most != "" {
		a, ok := r.set.Area(most)
		if !ok {
			return nil, nil, fmt.Errorf("%w: %q", ErrUnknownArea, most)
		}
		c.District, c.Street, c.Community = a.District, a.Street, a.Community
	} else if r.onlyDistrict != "" {
		c.District = r.onlyDistrict
		notes = append(notes, Step{Rule: "area", Why: "no area known: the set's only district " + r.onlyDistrict + " assumed"})
	}
	return item, notes, nil
}

func mostSpecific(c *Case) string {
	for _, code := range []string{c.Grid, c.Community, c.Street, c.District} {
		if code != "" {
			return code
		}
	}
	return ""
}

// Decide routes one case. It is safe for concurrent use.
func (r *Router) Decide(c Case) (Decision, error) {
	item, notes, err := r.normalise(&c)
	if err != nil {
		return Decision{}, err
	}
	ev := evaluation{c: &c, r: r}
	ev.area = mostSpecific(&c)
	d := Decision{Urgency: c.Urgency, Digest: r.set.Digest(), Path: notes}
	var leadRule *compiledRule
	seen := map[string]bool{}
	addCo := func(code, rule string) {
		if seen[code] {
			return
		}
		seen[code] = true
		d.CoHandlers = append(d.CoHandlers, Assignment{Department: code, Role: CoHandler, Rule: rule})
	}
	for _, i := range r.candidates(c.Item) {
		cr := &r.rules[i]
		why, ok := cr.match(&ev)
		if !ok {
			continue
		}
		if leadRule != nil && cr.Match.IsEmpty() && !cr.Lead.IsZero() {
			// A catch-all with a lead is a fallback: it only ever supplies
			// a lead. Reaching it after a continuing rule found one ends the
			// evaluation instead of making the desk a co-handler of
			// everything.
			break
		}
		var skipped []string
		if leadRule == nil && !cr.Lead.IsZero() {
			code, ok := cr.Lead.Resolve(c.District, c.Street)
			if !ok {
				d.Path = append(d.Path, Step{Rule: cr.Name, Line: cr.Line,
					Why: why + "; passed over: lead " + cr.Lead.String() + " needs the case's street, which is unknown"})
				continue
			}
			if note := r.cannotLead(cr, code, item); note != "" {
				d.Path = append(d.Path, Step{Rule: cr.Name, Line: cr.Line, Why: why + "; passed over: " + note})
				continue
			}
			leadRule = cr
			seen[code] = true
			d.Lead = Assignment{Department: code, Role: Lead, Rule: cr.Name}
		} else if !cr.Lead.IsZero() {
			if code, ok := cr.Lead.Resolve(c.District, c.Street); ok {
				addCo(code, cr.Name)
			} else {
				skipped = append(skipped, cr.Lead.String())
			}
		}
		for _, t := range cr.Co {
			if code, ok := t.Resolve(c.District, c.Street); ok {
				addCo(code, cr.Name)
			} else {
				skipped = append(skipped, t.String())
			}
		}
		if len(skipped) > 0 {
			why += "; not added (area unknown): " + strings.Join(skipped, ", ")
		}
		d.Path = append(d.Path, Step{Rule: cr.Name, Line: cr.Line, Why: why, Fired: true})
		if !cr.Continue && leadRule != nil {
			break
		}
	}
	if leadRule == nil {
		return Decision{}, fmt.Errorf("%w (district %q, street %q)", ErrNoRoute, c.District, c.Street)
	}
	// The lead may have been added as a co-handler by a continuing rule
	// before the lead was known; one unit has one role.
	co := d.CoHandlers[:0]
	for _, a := range d.CoHandlers {
		if a.Department != d.Lead.Department {
			co = append(co, a)
		}
	}
	d.CoHandlers = co

	q := reference.SLAQuery{Urgency: c.Urgency, AppealType: c.AppealType, RuleProfile: leadRule.SLA, Received: c.Received}
	if item != nil {
		q.Item = item.Code
	}
	if d.SLA, err = r.set.ResolveSLA(q); err != nil {
		return Decision{}, fmt.Errorf("routing: %w", err)
	}
	d.Lead.OnSite = d.SLA.OnSite
	if len(c.Named) > 0 {
		if err := r.whistle(&d, &c, q); err != nil {
			return Decision{}, err
		}
	}
	return d, nil
}

// cannotLead says why a rule's lead, resolved to code, may not lead a case
// of item, or "" when it may: the lead must hold the power the item needs
// (the guarantee pkg/reference checks when rules load, checked again here
// for the department the case actually resolves to). A fallback — a
// catch-all to a desk — takes what no power holder could.
func (r *Router) cannotLead(cr *compiledRule, code string, item *reference.Item) string {
	if item == nil || item.Power == "" || (cr.fallback && r.isDesk(code)) {
		return ""
	}
	err := r.set.CanLead(code, item.Code)
	if err == nil {
		return ""
	}
	var mp *reference.MissingPowerError
	if errors.As(err, &mp) {
		return "lead " + mp.Error()
	}
	return "lead " + code + ": " + err.Error()
}

func (r *Router) isDesk(code string) bool {
	d, ok := r.set.Department(code)
	return ok && d.Desk
}

// whistle adds the departments named in a 吹哨报到 issue as co-handlers with
// the whistle's on-site limit. A named unit already involved keeps its role
// and gets the limit too. Unknown codes are noted in the path, not fatal:
// the rest of the case must still be routed.
func (r *Router) whistle(d *Decision, c *Case, q reference.SLAQuery) error {
	q.Whistle = true
	w, err := r.set.ResolveSLA(q)
	if err != nil {
		return fmt.Errorf("routing: %w", err)
	}
	var named, unknown []string
	for _, code := range c.Named {
		if _, ok := r.set.Department(code); !ok {
			unknown = append(unknown, code)
			continue
		}
		named = append(named, code)
		switch i := indexOf(d.CoHandlers, code); {
		case code == d.Lead.Department:
			d.Lead.Whistle, d.Lead.OnSite = true, w.OnSite
		case i >= 0:
			d.CoHandlers[i].Whistle, d.CoHandlers[i].OnSite = true, w.OnSite
		default:
			d.CoHandlers = append(d.CoHandlers, Assignment{Department: code, Role: CoHandler, Rule: "whistle", Whistle: true, OnSite: w.OnSite})
		}
	}
	why := "吹哨报到: report on site within " + w.OnSite.Duration.String()
	if len(named) > 0 {
		why += ": " + strings.Join(named, ", ")
	}
	if len(unknown) > 0 {
		why += "; ignored, not in the reference set: " + strings.Join(unknown, ", ")
	}
	d.Path = append(d.Path, Step{Rule: "whistle", Why: why, Fired: len(named) > 0})
	return nil
}

func indexOf(as []Assignment, code string) int {
	for i, a := range as {
		if a.Department == code {
			return i
		}
	}
	return -1
}
