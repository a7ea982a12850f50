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
	cl, clConf, clOK := firstLevel(preds, ref)
	// A keyword that names an item of a class the model cannot predict
	// (a city model of seven classes reading about 低保) says the case lies
	// outside what the model knows: its best class would be a wrong one.
	if h, out := beyondModel(rr, m, ref); out && !c.Answered && (!clOK || clConf < s.cfg.ScopeThreshold) {
		d.reason = fmt.Sprintf("out of the model's scope: keyword rule %s names %s, a class model %s does not know (its best: %s at %.2f)",
			h.Rule, h.Item, d.modelVer, top.Label, top.Confidence)
		return d
	}
	if it, ok := ref.Item(top.Code); ok && (top.Confidence >= s.cfg.ReviewThreshold || c.Answered) {
		d.item, d.found, d.label, d.confidence, d.method = it, true, top.Label, top.Confidence, MethodModel
		d.reason = fmt.Sprintf("model %s: %s at %.2f", d.modelVer, top.Label, top.Confidence)
		if it.Class {
			s.itemInClass(&d, rr, ref, it, top.Confidence, text)
		}
		return d
	}
	if s.cfg.ClassThreshold <= 1 && clOK && clConf >= s.cfg.ClassThreshold {
		d.item, d.found, d.label, d.confidence, d.method = cl, true, cl.Name, clConf, MethodModelClass
		d.reason = fmt.Sprintf("model %s: item unsure (%s at %.2f), first-level class %s at %.2f", d.modelVer, top.Label, top.Confidence, cl.Code, clConf)
		s.itemInClass(&d, rr, ref, cl, clConf, text)
		return d
	}
	d.reason = fmt.Sprintf("model %s: best %s at %.2f, below %.2f", d.modelVer, top.Label, top.Confidence, s.cfg.ReviewThreshold)
	return d
}

// itemInClass files a case the model placed in class (at confidence conf)
// under the item a within_class keyword rule names in that class (the
// earliest named, within the opening ItemWindow characters), when the class
// is sure enough: the model knows classes, the rules know items, and
// neither alone decides the item. The confidence stays the class's: the
// item is right only as often as its class is (and the rule's words fit).
func (s *Service) itemInClass(d *decision, rr rules.Result, ref *reference.Set, class reference.Item, conf float64, text string) {
	if s.cfg.ItemThreshold > 1 || conf < s.cfg.ItemThreshold {
		return
	}
	if im := s.deps.Items(); im != nil {
		if s.itemByModel(d, im, text, conf, HintsIn(rr, class.Code, ref, s.cfg.ItemWindow), ref, class) {
			return
		}
	}
	h, ok := pickHint(rr, class.Code, ref, s.cfg.ItemWindow)
	if !ok {
		return
	}
	it, ok := ref.Item(h.Item)
	if !ok || it.Class {
		return
	}
	d.item, d.method = it, MethodRule
	d.reason = fmt.Sprintf("%s; keyword rule %s names %s %s within it", d.reason, h.Rule, it.Code, it.Name)
}

// beyondModel returns the first within_class hint whose first-level class
// none of the model's labels counts under; a model that does not list its
// labels is never said to lack a class.
func beyondModel(rr rules.Result, m Model, ref *reference.Set) (rules.Hint, bool) {
	lm, ok := m.(LabelledModel)
	if len(rr.Hints) == 0 || !ok {
		return rules.Hint{}, false
	}
	known := map[string]bool{}
	for _, code := range lm.Codes() {
		if fl, ok := ref.FirstLevel(code); ok {
			known[fl.Code] = true
		}
	}
	for _, h := range rr.Hints {
		if fl, ok := ref.FirstLevel(h.Item); ok && !known[fl.Code] {
			return h, true
		}
	}
	return rules.Hint{}, false
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

// Preview is the automatic decision Receive would take for a case, without
// storing or publishing anything: what `classify served` measures.
type Preview struct {
	// Item is the item or class the case would be filed under; zero when
	// Found is false (the case would wait for review).
	Item       reference.Item
	Found      bool
	Method     Method
	Confidence float64
	Reason     string
}

// Preview decides c with the current reference data, keyword rules and
// model.
func (s *Service) Preview(c Case) Preview {
	d := s.decide(&c, s.deps.Reference(), s.deps.Rules(), s.deps.Model())
	return Preview{Item: d.item, Found: d.found, Method: d.method, Confidence: d.confidence, Reason: d.reason}
}

// pickHint chooses, among the within_class hints that name items of class,
// the one whose words come first in the text, if they come within window
// characters (0: anywhere): a citizen names the matter in the title and
// the first lines, and a word deep in a long message is as often an aside
// (a pension complaint that mentions 医保 in passing).
func pickHint(rr rules.Result, class string, ref *reference.Set, window int) (rules.Hint, bool) {
	var best rules.Hint
	found := false
	for _, h := range rr.Hints {
		fl, ok := ref.FirstLevel(h.Item)
		if !ok || fl.Code != class || (window > 0 && h.At > window) {
			continue
		}
		if !found || h.At < best.At {
			best, found = h, true
		}
	}
	return best, found
}

// itemByModel lets the item model decide the item of class: the item it
// files (at its calibrated probability; the decision's confidence stays the
// class's, since the item is right only when the class is), or class only.
// It reports false when the model has nothing for the class, and the
// keyword rules decide as without a model.
func (s *Service) itemByModel(d *decision, im ItemModel, text string, conf float64, hints []string, ref *reference.Set, class reference.Item) bool {
	ch := im.Item(class.Code, text, conf, hints)
	if !ch.Covered {
		return false
	}
	if ch.Code == "" {
		d.reason = fmt.Sprintf("%s; item model %s: no item of %s sure enough (best at %.2f)", d.reason, im.Version(), class.Code, ch.Probability)
		return true
	}
	it, ok := ref.Item(ch.Code)
	if !ok || it.Class {
		return false
	}
	d.item, d.method = it, MethodModel
	if ch.Agreed {
		d.reason = fmt.Sprintf("%s; item model %s: %s %s at %.2f, named by a keyword rule", d.reason, im.Version(), it.Code, it.Name, ch.Probability)
	} else {
		d.reason = fmt.Sprintf("%s; item model %s: %s %s at %.2f", d.reason, im.Version(), it.Code, it.Name, ch.Probability)
	}
	return true
}
