package routing

import (
	"slices"
	"strings"
	"time"

	"github.com/gridflow/gridflow/pkg/reference"
	"github.com/gridflow/gridflow/pkg/workcal"
)

// Router evaluates one Set's rules. It is immutable after New and safe for
// concurrent use.
type Router struct {
	set   *reference.Set
	cal   *workcal.Calendar
	rules []compiledRule
	// byCode lists, for every catalogue code, the rules that can match a
	// case of that code, in rule order: those whose item matchers cover it
	// and those without item matchers. Most rules name items, so a decision
	// looks at a handful of rules whatever the size of the 责任清单.
	byCode map[string][]int32
	// anyItem lists the rules without item matchers: the candidates of an
	// unclassified case.
	anyItem []int32
	// onlyDistrict is the set's district when it has exactly one: a case
	// with no area at all belongs to it.
	onlyDistrict string
	// keywords holds every rule's keywords; a decision scans the text once,
	// and only if a candidate rule has keywords.
	keywords     *keywordSet
	keywordNames []string
}

type compiledRule struct {
	reference.Rule
	labels  []string
	areas   []string
	appeal  uint8 // bitmasks over the vocabularies below; 0 = any
	source  uint8
	urgency uint8
	// keywords are ids in the Router's keywordSet (lower-cased keywords).
	keywords []int32
	// fallback: a catch-all to the desks, which may lead any item.
	fallback bool
}

var (
	appealBits  = []reference.AppealType{reference.Consultation, reference.Help, reference.Complaint, reference.Report, reference.Suggestion, reference.Praise}
	sourceBits  = []reference.Source{reference.FromHotline, reference.FromPatrol, reference.FromSecretary, reference.FromPublic}
	urgencyBits = []reference.Urgency{reference.Normal, reference.Urgent, reference.Emergency}
)

func bit[T comparable](vocab []T, v T) uint8 {
	if i := slices.Index(vocab, v); i >= 0 {
		return 1 << i
	}
	return 0
}

func mask[T comparable](vocab []T, vs []T) uint8 {
	var m uint8
	for _, v := range vs {
		m |= bit(vocab, v)
	}
	return m
}

// New compiles a set's rules.
func New(set *reference.Set) *Router {
	r := &Router{set: set, cal: set.Calendar(), byCode: map[string][]int32{}}
	if ds := set.Areas(reference.LevelDistrict); len(ds) == 1 {
		r.onlyDistrict = ds[0].Code
	}
	ids := map[string]int32{}
	for _, rule := range set.Rules() {
		cr := compiledRule{Rule: rule, labels: rule.Match.Labels, areas: rule.Match.Areas,
			appeal: mask(appealBits, rule.Match.AppealTypes), source: mask(sourceBits, rule.Match.Sources),
			fallback: set.IsFallback(rule)}
		for _, u := range rule.Match.Urgencies {
			cr.urgency |= bit(urgencyBits, u.OrNormal())
		}
		for _, k := range rule.Match.Keywords {
			k = strings.ToLower(k)
			id, ok := ids[k]
			if !ok {
				id = int32(len(r.keywordNames))
				ids[k] = id
				r.keywordNames = append(r.keywordNames, k)
			}
			cr.keywords = append(cr.keywords, id)
		}
		r.rules = append(r.rules, cr)
	}
	r.keywords = newKeywordSet(r.keywordNames)
	var codes []string
	for _, t := range []reference.Tree{reference.TreeUrban, reference.TreeHotline} {
		for _, it := range set.Items(t) {
			codes = append(codes, it.Code)
		}
	}
	for i, cr := range r.rules {
		if len(cr.Match.Items) == 0 {
			r.anyItem = append(r.anyItem, int32(i))
		}
	}
	for _, code := range codes {
		var list []int32
		for i, cr := range r.rules {
			if len(cr.Match.Items) == 0 || slices.ContainsFunc(cr.Match.Items, func(m string) bool { return reference.ItemCovers(m, code) }) {
				list = append(list, int32(i))
			}
		}
		r.byCode[code] = list
	}
	return r
}

func (r *Router) candidates(code string) []int32 {
	if list, ok := r.byCode[code]; ok {
		return list
	}
	return r.anyItem
}

// evaluation caches what several rules may ask of one case.
type evaluation struct {
	r    *Router
	c    *Case
	area string

	hits    []uint64 // keyword ids found in the text, once scanned
	scanned bool
	offset  time.Duration
	working bool
	timed   bool
}

// found reports whether keyword id occurs in the case text, scanning the
// text for all keywords the first time a rule asks.
func (ev *evaluation) found(id int32) bool {
	if !ev.scanned {
		ev.hits = make([]uint64, (ev.r.keywords.n+63)/64)
		// strings.ToLower returns its argument unchanged, without
		// allocating, when there is nothing to lower (Chinese text).
		ev.r.keywords.scan(strings.ToLower(ev.c.Text), ev.hits)
		ev.scanned = true
	}
	return ev.hits[id>>6]&(1<<(id&63)) != 0
}

func (ev *evaluation) clock() (time.Duration, bool) {
	if !ev.timed {
		t := ev.c.Received.In(ev.r.cal.Location())
		h, m, s := t.Clock()
		ev.offset = time.Duration(h)*time.Hour + time.Duration(m)*time.Minute + time.Duration(s)*time.Second
		ev.working = ev.r.cal.IsWorkingDay(t)
		ev.timed = true
	}
	return ev.offset, ev.working
}

// match reports whether the rule matches, and if so why, naming the value
// of each matcher that matched. Cheap matchers go first; the reason is only
// built for a match.
func (cr *compiledRule) match(ev *evaluation) (string, bool) {
	c := ev.c
	if cr.urgency != 0 && cr.urgency&bit(urgencyBits, c.Urgency) == 0 {
		return "", false
	}
	if cr.source != 0 && cr.source&bit(sourceBits, c.Source) == 0 {
		return "", false
	}
	if cr.appeal != 0 && cr.appeal&bit(appealBits, c.AppealType) == 0 {
		return "", false
	}
	label := ""
	if len(cr.labels) > 0 {
		if label = c.matchLabel(cr.labels); label == "" {
			return "", false
		}
	}
	area := ""
	if len(cr.areas) > 0 {
		if ev.area == "" {
			return "", false
		}
		for _, a := range cr.areas {
			if strings.HasPrefix(ev.area, a) {
				area = a
				break
			}
		}
		if area == "" {
			return "", false
		}
	}
	if cr.Match.Hours != nil || cr.Match.Day != reference.AnyDay {
		off, working := ev.clock()
		if cr.Match.Hours != nil && !cr.Match.Hours.Contains(off) {
			return "", false
		}
		if (cr.Match.Day == reference.WorkingDay && !working) || (cr.Match.Day == reference.RestDay && working) {
			return "", false
		}
	}
	keyword := ""
	if len(cr.keywords) > 0 {
		for _, id := range cr.keywords {
			if ev.found(id) {
				keyword = ev.r.keywordNames[id]
				break
			}
		}
		if keyword == "" {
			return "", false
		}
	}
	return cr.why(ev, area, keyword, label), true
}

func (cr *compiledRule) why(ev *evaluation, area, keyword, label string) string {
	c := ev.c
	var parts []string
	if len(cr.Match.Items) > 0 {
		parts = append(parts, "item "+c.Item)
	}
	if cr.urgency != 0 {
		parts = append(parts, "urgency "+string(c.Urgency))
	}
	if cr.source != 0 {
		parts = append(parts, "source "+string(c.Source))
	}
	if cr.appeal != 0 {
		parts = append(parts, "appeal type "+string(c.AppealType))
	}
	if len(cr.labels) > 0 {
		parts = append(parts, "label "+label)
	}
	if area != "" {
		parts = append(parts, "area in "+area)
	}
	if cr.Match.Hours != nil {
		off, _ := ev.clock()
		parts = append(parts, "received "+workcal.FormatClock(off)+" within "+cr.Match.Hours.String())
	}
	if cr.Match.Day != reference.AnyDay {
		parts = append(parts, string(cr.Match.Day)+" day")
	}
	if keyword != "" {
		parts = append(parts, "keyword "+keyword)
	}
	if len(parts) == 0 {
		return "catch-all"
	}
	return strings.Join(parts, ", ")
}

// matchLabel returns the first of the case's labels a rule names, "" if none.
func (c *Case) matchLabel(labels []string) string {
	if c.Label != "" && slices.Contains(labels, c.Label) {
		return c.Label
	}
	for _, l := range c.Labels {
		if slices.Contains(labels, l) {
			return l
		}
	}
	return ""
}
