package classify

import (
	"fmt"
	"strings"

	"github.com/gridflow/gridflow/pkg/reference"
	"github.com/gridflow/gridflow/services/classify/internal/rules"
)

// decision is what the automatic steps concluded about a new case.
type decision struct {
	item       reference.Item
	found      bool // an item was chosen; otherwise the case needs review
	label      string
	confidence float64
	method     Method
	reason     string
	// urgency from the submission and the rules (the item's default is
	// added once the item is known).
	ruleUrgency reference.Urgency
	labels      []string
	modelVer    string
	choices     []Choice
}

// decide runs the automatic steps in order: keyword rules (which may set
// the item, the urgency, labels), a patrol report's valid catalogue code
// (which beats a rule's item), the model's item when its confidence reaches
// the review threshold, the model's first-level class when that reaches the
// class threshold; otherwise the case needs review. The model is always
// consulted, so every classification records its version and a reviewer
// gets its choices.
func (s *Service) decide(c *Case, ref *reference.Set, rs *rules.Set, m Model) decision {
	text := c.Text()
	var d decision
	rr := rs.Match(text)
	d.ruleUrgency, d.labels = rr.Urgency, rr.Labels
	var preds []Choice
	if m != nil {
		d.modelVer = m.Version()
		preds = m.Predict(text)
		d.choices = append(d.choices, preds[:min(len(preds), s.cfg.Choices)]...)
	}
	if c.Source == reference.FromPatrol && c.CatalogueCode != "" {
		if it, ok := ref.Item(c.CatalogueCode); ok {
			d.item, d.found, d.confidence, d.method = it, true, 1, MethodPatrolCode
			d.reason = "the grid worker's catalogue code"
			return d
		}
	}
	if rr.Item != "" {
		if it, ok := ref.Item(rr.Item); ok {
			d.item, d.found, d.confidence, d.method = it, true, 1, MethodRule
			d.reason = "keyword rule " + rr.ItemRule
			return d
		}
	}
	if len(preds) == 0 {
		d.reason = "no model"
		return d
	}
	top := preds[0]
	if it, ok := ref.Item(top.Code); ok && (top.Confidence >= s.cfg.ReviewThreshold || c.Answered) {
		d.item, d.found, d.label, d.confidence, d.method = it, true, top.Label, top.Confidence, MethodModel
		d.reason = fmt.Sprintf("model %s: %s at %.2f", d.modelVer, top.Label, top.Confidence)
		return d
	}
	if s.cfg.ClassThreshold <= 1 {
		if cl, conf, ok := firstLevel(preds, ref); ok && conf >= s.cfg.ClassThreshold {
			d.item, d.found, d.label, d.confidence, d.method = cl, true, cl.Name, conf, MethodModelClass
			d.reason = fmt.Sprintf("model %s: item unsure (%s at %.2f), first-level class %s at %.2f", d.modelVer, top.Label, top.Confidence, cl.Code, conf)
			return d
		}
	}
	d.reason = fmt.Sprintf("model %s: best %s at %.2f, below %.2f", d.modelVer, top.Label, top.Confidence, s.cfg.ReviewThreshold)
	return d
}

// firstLevel sums the confidences of the predictions by first-level hotline
// class and returns the best class.
func firstLevel(preds []Choice, ref *reference.Set) (reference.Item, float64, bool) {
	sums := map[string]float64{}
	var order []string
	for _, p := range preds {
		fl, ok := ref.FirstLevel(p.Code)
		if !ok {
			continue
		}
		if _, seen := sums[fl.Code]; !seen {
			order = append(order, fl.Code)
		}
		sums[fl.Code] += p.Confidence
	}
	var best string
	for _, code := range order {
		if best == "" || sums[code] > sums[best] {
			best = code
		}
	}
	if best == "" {
		return reference.Item{}, 0, false
	}
	it, ok := ref.Item(best)
	return it, sums[best], ok
}

// urgencyFor is the urgency of a case filed under item: the most urgent of
// the submission's, the rules' and the item's default.
func urgencyFor(submitted, rule reference.Urgency, item reference.Item) reference.Urgency {
	u := rules.Max(reference.Normal, submitted)
	u = rules.Max(u, rule)
	return rules.Max(u, item.Urgency)
}

// raise returns the urgency one step up (emergency stays).
func raise(u reference.Urgency) reference.Urgency {
	switch u.OrNormal() {
	case reference.Normal:
		return reference.Urgent
	default:
		return reference.Emergency
	}
}

// groupable reports whether cases of an item are grouped into incidents: a
// class or the catch-all is too broad a subject to say two reports are one
// problem.
func groupable(it reference.Item) bool { return !it.Class && !it.CatchAll }

func addLabel(labels []string, l string) []string {
	for _, x := range labels {
		if x == l {
			return labels
		}
	}
	return append(append([]string(nil), labels...), l)
}

func joinReason(parts ...string) string {
	var out []string
	for _, p := range parts {
		if p != "" {
			out = append(out, p)
		}
	}
	return strings.Join(out, "; ")
}
