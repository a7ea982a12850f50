package routing

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gridflow/gridflow/pkg/reference"
)

// naiveDecide evaluates the rules the slow, obvious way — every rule, in
// order, each matcher straight from reference.Rule — for the differential
// fuzz test of the compiled, indexed Router. It reads the rules from the
// Router so that a test may give a rule a lead without the power.
func naiveDecide(r *Router, c Case) (string, []string, error) {
	if _, _, err := r.normalise(&c); err != nil {
		return "", nil, err
	}
	area := mostSpecific(&c)
	t := c.Received.In(r.cal.Location())
	off := time.Duration(t.Hour())*time.Hour + time.Duration(t.Minute())*time.Minute + time.Duration(t.Second())*time.Second
	working := r.cal.IsWorkingDay(t)
	text := strings.ToLower(c.Text)
	matches := func(m reference.Match) bool {
		switch {
		case len(m.Items) > 0 && !slices.ContainsFunc(m.Items, func(x string) bool { return c.Item != "" && reference.ItemCovers(x, c.Item) }):
		case len(m.Labels) > 0 && !slices.Contains(m.Labels, c.Label):
		case len(m.Areas) > 0 && !slices.ContainsFunc(m.Areas, func(a string) bool { return area != "" && strings.HasPrefix(area, a) }):
		case len(m.AppealTypes) > 0 && !slices.Contains(m.AppealTypes, c.AppealType):
		case len(m.Sources) > 0 && !slices.Contains(m.Sources, c.Source):
		case len(m.Urgencies) > 0 && !slices.Contains(m.Urgencies, c.Urgency):
		case m.Hours != nil && !m.Hours.Contains(off):
		case m.Day == reference.WorkingDay && !working, m.Day == reference.RestDay && working:
		case len(m.Keywords) > 0 && !slices.ContainsFunc(m.Keywords, func(k string) bool { return strings.Contains(text, strings.ToLower(k)) }):
		default:
			return true
		}
		return false
	}
	lead := ""
	var co []string
	add := func(code string) {
		if !slices.Contains(co, code) {
			co = append(co, code)
		}
	}
	for _, cr := range r.rules {
		rule := cr.Rule
		if !matches(rule.Match) {
			continue
		}
		if lead != "" && rule.Match.IsEmpty() && !rule.Lead.IsZero() {
			break
		}
		if lead == "" && !rule.Lead.IsZero() {
			code, ok := rule.Lead.Resolve(c.District, c.Street)
			if !ok {
				continue
			}
			// The lead holds the item's power, unless the rule is a
			// fallback to a desk.
			if it, known := r.set.Item(c.Item); known && it.Power != "" {
				d, _ := r.set.Department(code)
				if !d.Holds(it.Power) && !(rule.Match.IsEmpty() && d.Desk) {
					continue
				}
			}
			lead = code
		} else if code, ok := rule.Lead.Resolve(c.District, c.Street); ok && !rule.Lead.IsZero() {
			add(code)
		}
		for _, t := range rule.Co {
			if code, ok := t.Resolve(c.District, c.Street); ok {
				add(code)
			}
		}
		if !rule.Continue && lead != "" {
			break
		}
	}
	co = slices.DeleteFunc(co, func(s string) bool { return s == lead })
	return lead, co, nil
}

// FuzzDecide: the compiled Router decides exactly as the naive evaluation,
// always finds a lead (the fallbacks guarantee one), never gives a unit two
// roles, and its path ends with the rule that stopped the evaluation.
func FuzzDecide(f *testing.F) {
	base := defaults(f)
	routers := []*Router{New(base), New(withRules(f, genRules(f, base, 500, false, 7))),
		powerless(f, base, map[string]string{"noise": "{street}-cgzd", "night-noise": "{street}-fgb", "education": "310106-zjw", "gas-leak": "{street}-pcs"})}
	var codes []string
	for _, t := range []reference.Tree{reference.TreeUrban, reference.TreeHotline} {
		for _, it := range base.Items(t) {
			codes = append(codes, it.Code)
		}
	}
	grids := base.Areas(reference.LevelGrid)
	sources := []reference.Source{"", reference.FromHotline, reference.FromPatrol, reference.FromSecretary}
	appeals := []reference.AppealType{"", reference.Complaint, reference.Help, reference.Consultation, reference.Report}
	urgencies := []reference.Urgency{"", reference.Normal, reference.Urgent, reference.Emergency}
	labels := []string{"", "重复投诉", "敏感"}
	start := time.Date(2026, 1, 1, 0, 0, 0, 0, shanghai)
	f.Fuzz(func(t *testing.T, which, item, grid, src, appeal, urg, label uint8, minutes uint32, text string) {
		r := routers[int(which)%len(routers)]
		c := Case{
			Source:     sources[int(src)%len(sources)],
			AppealType: appeals[int(appeal)%len(appeals)],
			Urgency:    urgencies[int(urg)%len(urgencies)],
			Label:      labels[int(label)%len(labels)],
			Received:   start.Add(time.Duration(minutes%(730*24*60)) * time.Minute),
			Text:       text,
		}
		if int(item) < len(codes) {
			c.Item = codes[item]
		}
		switch g := int(grid) % (len(grids) + 3); {
		case g < len(grids):
			c.Grid = grids[g].Code
		case g == len(grids):
			c.Street = grids[0].Street
		case g == len(grids)+1:
			c.District, c.Street = "310106", reference.Unknown
		}
		d, err := r.Decide(c)
		lead, co, nerr := naiveDecide(r, c)
		if (err != nil) != (nerr != nil) {
			t.Fatalf("Decide error %v, naive %v", err, nerr)
		}
		if err != nil {
			return
		}
		var gotCo []string
		for _, a := range d.CoHandlers {
			if a.Rule != "whistle" {
				gotCo = append(gotCo, a.Department)
			}
		}
		if d.Lead.Department != lead || !slices.Equal(gotCo, co) {
			t.Fatalf("case %+v:\nDecide: %s %v\nnaive:  %s %v\npath: %+v", c, d.Lead.Department, gotCo, lead, co, d.Path)
		}
		if slices.Contains(gotCo, lead) || len(slices.Compact(slices.Clone(gotCo))) != len(gotCo) {
			t.Fatalf("a unit with two roles: %s %v", lead, gotCo)
		}
		last := d.Path[len(d.Path)-1]
		if !last.Fired || last.Line == 0 {
			t.Fatalf("path ends with %+v", last)
		}
		if d.SLA.Ack.IsZero() || d.SLA.Complete.IsZero() || d.SLA.Ack.Due.Before(c.Received) {
			t.Fatalf("SLA %+v", d.SLA)
		}
	})
}
