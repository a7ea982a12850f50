// Package rules holds classify's keyword rules: data (keywords.yaml, shipped
// embedded and replaceable by a city's file) that runs on a case's text
// before the model and may set the catalogue item, raise the urgency, add
// routing labels, or any of these. See keywords.yaml for the format.
package rules

import (
	"bytes"
	_ "embed"
	"errors"
	"fmt"
	"os"
	"regexp"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/gridflow/gridflow/pkg/reference"
	"golang.org/x/text/width"
	"gopkg.in/yaml.v3"
)

//go:embed keywords.yaml
var defaultFile []byte

// DefaultFile returns the shipped keywords.yaml.
func DefaultFile() []byte { return bytes.Clone(defaultFile) }

// Rule is one keyword rule.
type Rule struct {
	Name     string
	Keywords []string
	Unless   []string
	Item     string
	Urgency  reference.Urgency
	Labels   []string
	// WithinClass: the rule names its item only inside the item's class
	// (a hint the decision takes when the model chose that class).
	WithinClass bool
	// folded forms of Keywords and Unless, for matching.
	keys, unless []string
}

// Set is a validated list of rules. It is immutable.
type Set struct {
	rules  []Rule
	source string
	// words finds every rule's keywords and unless words in one pass over
	// a text: built once per set (issue 17).
	words matcher
}

// matcher finds, in one pass over a folded text, which rules' keywords
// and unless words occur, and where each rule's first keyword starts: the
// words are indexed by their first character, and at each character of the
// text only the words starting with it are compared (a few of the set's
// hundreds), instead of one search of the whole text per word.
type matcher struct {
	byFirst map[rune][]word
}

type word struct {
	w      string
	rule   int
	unless bool
}

func newMatcher(rules []Rule) matcher {
	m := matcher{byFirst: map[rune][]word{}}
	add := func(k string, rule int, unless bool) {
		r, _ := utf8.DecodeRuneInString(k)
		m.byFirst[r] = append(m.byFirst[r], word{w: k, rule: rule, unless: unless})
	}
	for i, r := range rules {
		for _, k := range r.keys {
			add(k, i, false)
		}
		for _, k := range r.unless {
			add(k, i, true)
		}
	}
	return m
}

// scan returns, per rule, the character offset of its earliest keyword in
// t (-1: none) and whether one of its unless words occurs.
func (m *matcher) scan(t string, rules int) (at []int, unless []bool) {
	at, unless = make([]int, rules), make([]bool, rules)
	for i := range at {
		at[i] = -1
	}
	chars := 0
	for i, r := range t {
		for _, w := range m.byFirst[r] {
			if !strings.HasPrefix(t[i:], w.w) {
				continue
			}
			switch {
			case w.unless:
				unless[w.rule] = true
			case at[w.rule] < 0:
				at[w.rule] = chars
			}
		}
		chars++
	}
	return at, unless
}

// Result is what the matching rules decide together.
type Result struct {
	// Item is the item of the first matching rule that names one without
	// within_class, and ItemRule that rule's name; both empty when none does.
	Item, ItemRule string
	// Hints are the items of the matching within_class rules, in rule
	// order, one per item.
	Hints []Hint
	// Urgency is the highest urgency of the matching rules; "" when none
	// sets one.
	Urgency reference.Urgency
	Labels  []string
	// Matched names every matching rule, in order.
	Matched []string
}

// Hint is an item a within_class rule names.
type Hint struct {
	Item, Rule string
	// At is where the rule's earliest keyword starts in the folded text,
	// in characters: a word in a message's first line (its title) says
	// more than one deep in its body.
	At int
}

type fileRule struct {
	Name     string            `yaml:"name"`
	Keywords []string          `yaml:"keywords"`
	Unless   []string          `yaml:"unless"`
	Item     string            `yaml:"item"`
	Urgency  reference.Urgency `yaml:"urgency"`
	Labels   []string          `yaml:"labels"`
	// WithinClass: see Rule.WithinClass.
	WithinClass bool `yaml:"within_class"`
}

var nameRE = regexp.MustCompile(`^[a-z0-9][a-z0-9-]*$`)

// Parse reads and validates a rules file; items are checked against the
// catalogue of ref. Every problem is reported at once.
func Parse(data []byte, source string, ref *reference.Set) (*Set, error) {
	var f struct {
		Rules []fileRule `yaml:"rules"`
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(&f); err != nil {
		return nil, fmt.Errorf("keyword rules %s: %w", source, err)
	}
	var problems []error
	bad := func(i int, name, format string, args ...any) {
		problems = append(problems, fmt.Errorf("rule %d (%s): %s", i+1, name, fmt.Sprintf(format, args...)))
	}
	seen := map[string]bool{}
	s := &Set{source: source}
	for i, r := range f.Rules {
		switch {
		case !nameRE.MatchString(r.Name):
			bad(i, r.Name, "name must be a lower-case slug")
		case seen[r.Name]:
			bad(i, r.Name, "name used twice")
		}
		seen[r.Name] = true
		if len(r.Keywords) == 0 {
			bad(i, r.Name, "no keywords")
		}
		if r.Item == "" && r.Urgency == "" && len(r.Labels) == 0 {
			bad(i, r.Name, "sets nothing: give an item, an urgency or labels")
		}
		if r.Item != "" {
			if _, ok := ref.Item(r.Item); !ok {
				bad(i, r.Name, "item %q is not in the catalogue", r.Item)
			}
		}
		if r.WithinClass && r.Item == "" {
			bad(i, r.Name, "within_class needs an item")
		}
		if !r.Urgency.Valid() {
			bad(i, r.Name, "urgency %q: want normal, urgent or emergency", r.Urgency)
		}
		rule := Rule{Name: r.Name, Keywords: r.Keywords, Unless: r.Unless, Item: r.Item, Urgency: r.Urgency, Labels: r.Labels, WithinClass: r.WithinClass}
		for _, k := range r.Keywords {
			fk := Fold(k)
			if fk == "" {
				bad(i, r.Name, "empty keyword")
				continue
			}
			rule.keys = append(rule.keys, fk)
		}
		for _, k := range r.Unless {
			fk := Fold(k)
			if fk == "" {
				bad(i, r.Name, "empty unless word")
				continue
			}
			rule.unless = append(rule.unless, fk)
		}
		for _, l := range r.Labels {
			if strings.TrimSpace(l) == "" {
				bad(i, r.Name, "empty label")
			}
		}
		s.rules = append(s.rules, rule)
	}
	if err := errors.Join(problems...); err != nil {
		return nil, fmt.Errorf("keyword rules %s: %w", source, err)
	}
	s.words = newMatcher(s.rules)
	return s, nil
}

// Load reads path, or the shipped rules when path is "".
func Load(path string, ref *reference.Set) (*Set, error) {
	if path == "" {
		return Parse(defaultFile, "default", ref)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("keyword rules: %w", err)
	}
	return Parse(data, path, ref)
}

// Rules lists the rules in order.
func (s *Set) Rules() []Rule { return slices.Clone(s.rules) }

// Len is the number of rules.
func (s *Set) Len() int { return len(s.rules) }

// Source is the file the rules came from, or "default".
func (s *Set) Source() string { return s.source }

// Match runs every rule on text.
func (s *Set) Match(text string) Result {
	var res Result
	found, unless := s.words.scan(Fold(text), len(s.rules))
	for i, r := range s.rules {
		if found[i] < 0 || unless[i] {
			continue
		}
		res.Matched = append(res.Matched, r.Name)
		switch {
		case r.Item == "":
		case r.WithinClass:
			at := found[i]
			if i := slices.IndexFunc(res.Hints, func(h Hint) bool { return h.Item == r.Item }); i < 0 {
				res.Hints = append(res.Hints, Hint{Item: r.Item, Rule: r.Name, At: at})
			} else if at < res.Hints[i].At {
				res.Hints[i].At = at
			}
		case res.Item == "":
			res.Item, res.ItemRule = r.Item, r.Name
		}
		res.Urgency = Max(res.Urgency, r.Urgency)
		for _, l := range r.Labels {
			if !slices.Contains(res.Labels, l) {
				res.Labels = append(res.Labels, l)
			}
		}
	}
	return res
}

// Fold is the form rules compare: full-width forms made half-width, Latin
// lower-cased, whitespace removed.
func Fold(s string) string {
	s = width.Narrow.String(s)
	var b strings.Builder
	b.Grow(len(s))
	for _, r := range s {
		if unicode.IsSpace(r) {
			continue
		}
		b.WriteRune(unicode.ToLower(r))
	}
	return b.String()
}

// rank orders urgencies mildest first; "" ranks below normal.
func rank(u reference.Urgency) int {
	switch u {
	case reference.Normal:
		return 1
	case reference.Urgent:
		return 2
	case reference.Emergency:
		return 3
	}
	return 0
}

// Max returns the more urgent of a and b.
func Max(a, b reference.Urgency) reference.Urgency {
	if rank(b) > rank(a) {
		return b
	}
	return a
}
