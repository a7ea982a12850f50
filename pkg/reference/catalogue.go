package reference

import (
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

// Tree is one of the catalogue's two trees.
type Tree uint8

// The two catalogue trees (DOMAIN.md): urban-management components and
// events, 5-digit codes (class 2 + item 3); and hotline matters, "H" + class
// 2 + item 3, whose first level is the 15 classes of the message-board
// taxonomy (H01000 城乡建设 … H15000 劳动和社会保障).
const (
	TreeUrban Tree = iota + 1
	TreeHotline
)

// String names the tree as catalogue.yaml does.
func (t Tree) String() string {
	switch t {
	case TreeUrban:
		return "urban"
	case TreeHotline:
		return "hotline"
	}
	return "unknown"
}

// Urgency of a case. The empty Urgency means normal.
type Urgency string

// Urgencies, mildest first.
const (
	Normal    Urgency = "normal"
	Urgent    Urgency = "urgent"
	Emergency Urgency = "emergency"
)

// Urgencies lists the urgencies, mildest first.
var Urgencies = []Urgency{Normal, Urgent, Emergency}

// Valid reports whether u is a known urgency (or empty, meaning normal).
func (u Urgency) Valid() bool { return u == "" || u == Normal || u == Urgent || u == Emergency }

// OrNormal maps the empty urgency to Normal.
func (u Urgency) OrNormal() Urgency {
	if u == "" {
		return Normal
	}
	return u
}

// DefaultDuplicateWindow is how close in time two reports of one item at one
// place must be to be the same problem, unless the item says otherwise.
const DefaultDuplicateWindow = 60 * time.Minute

// Item is a catalogue entry: a class (the first level of its tree) or an item
// under one. Classes are items too, so a case classified only to a
// first-level hotline class (H04000) routes like any other code.
type Item struct {
	Code  string
	Name  string
	Tree  Tree
	Class bool
	// Parent is the class code of an item; "" for a class.
	Parent   string
	Synonyms []string
	// Kind is "component" or "event" in the urban tree, "" in the hotline
	// tree.
	Kind string
	// Power is the enforcement power the lead unit must hold; "" for none.
	Power string
	// Urgency is the default urgency of a new case of this item.
	Urgency Urgency
	// SLA names the item's SLA profile; "" for none.
	SLA string
	// ReviewRequired: a completion waits for a dispatcher's approval.
	ReviewRequired bool
	// DuplicateWindow: reports of the item at one place within this window
	// are one incident.
	DuplicateWindow time.Duration
	// HotlineClass is the first-level hotline class the item counts under:
	// its own class in the hotline tree, its class's (or its own override's)
	// hotline_class in the urban tree.
	HotlineClass string
	// CatchAll marks the tree's catch-all item: what a case no rule or
	// reviewer places is filed under, handled by the street desk.
	CatchAll bool
}

type catalogueFile struct {
	Urban   rawTree `yaml:"urban"`
	Hotline rawTree `yaml:"hotline"`
}

type rawTree struct {
	CatchAll string       `yaml:"catch_all"`
	Classes  []rawClass   `yaml:"classes"`
	Items    []rawItem    `yaml:"items"`
	Retired  []rawRetired `yaml:"retired"`
}

// rawRetired is a code that left the tree, with the item that took it over.
type rawRetired struct {
	Code      string `yaml:"code"`
	Name      string `yaml:"name"`
	Successor string `yaml:"successor"`
	Reason    string `yaml:"reason"`
	line      int
}

// Retired is a code that left the catalogue and the active item of the same
// tree that took it over. Codes are never reused, so an old case, a patrol
// app's stale list or a city's exported corrections that name a retired
// code still mean something: Item resolves it to the successor.
type Retired struct {
	Code      string
	Name      string
	Successor string
	Reason    string
}

type rawClass struct {
	Code         string   `yaml:"code"`
	Name         string   `yaml:"name"`
	Kind         string   `yaml:"kind"`
	HotlineClass string   `yaml:"hotline_class"`
	Synonyms     []string `yaml:"synonyms"`
	line         int
}

type rawItem struct {
	Code            string   `yaml:"code"`
	Name            string   `yaml:"name"`
	Parent          string   `yaml:"parent"`
	Synonyms        []string `yaml:"synonyms"`
	Power           string   `yaml:"power"`
	Urgency         Urgency  `yaml:"urgency"`
	SLA             string   `yaml:"sla"`
	ReviewRequired  bool     `yaml:"review_required"`
	DuplicateWindow string   `yaml:"duplicate_window"`
	HotlineClass    string   `yaml:"hotline_class"`
	line            int
}

func (f *catalogueFile) setLines(doc *yaml.Node) {
	for _, t := range []struct {
		key  string
		tree *rawTree
	}{{"urban", &f.Urban}, {"hotline", &f.Hotline}} {
		l := seqLines(doc, t.key, "classes")
		for i := range t.tree.Classes {
			t.tree.Classes[i].line = lineOf(l, i)
		}
		l = seqLines(doc, t.key, "items")
		for i := range t.tree.Items {
			t.tree.Items[i].line = lineOf(l, i)
		}
		l = seqLines(doc, t.key, "retired")
		for i := range t.tree.Retired {
			t.tree.Retired[i].line = lineOf(l, i)
		}
	}
}

type catalogue struct {
	itemByCode map[string]*Item
	itemList   []*Item
	byName     map[string][]*Item // exact names
	bySynonym  map[string][]*Item
	classItems map[string][]*Item // class code → its items, file order
	catchAll   [3]string
	retired    map[string]Retired // retired code → its record
	retiredOf  [3][]Retired       // per tree, file order
}

var (
	urbanClassCode   = regexp.MustCompile(`^[0-9]{2}$`)
	urbanItemCode    = regexp.MustCompile(`^[0-9]{5}$`)
	hotlineClassCode = regexp.MustCompile(`^H[0-9]{2}000$`)
	hotlineItemCode  = regexp.MustCompile(`^H[0-9]{5}$`)
)

// TreeOf returns the tree a code's format belongs to, and whether it is a
// class code.
func TreeOf(code string) (tree Tree, class bool, ok bool) {
	switch {
	case urbanClassCode.MatchString(code) && code != "00":
		return TreeUrban, true, true
	case urbanItemCode.MatchString(code) && code[2:] != "000" && code[:2] != "00":
		return TreeUrban, false, true
	case hotlineClassCode.MatchString(code) && code != "H00000":
		return TreeHotline, true, true
	case hotlineItemCode.MatchString(code) && code[1:3] != "00":
		return TreeHotline, false, true
	}
	return 0, false, false
}

// classOf is the class code an item code's format implies.
func classOf(code string) string {
	if strings.HasPrefix(code, "H") {
		return code[:3] + "000"
	}
	return code[:2]
}

// ParseDuplicateWindow parses a duplicate window: a Go duration ("60m", "12h") or
// whole days ("7d").
func ParseDuplicateWindow(s string) (time.Duration, error) {
	if n, ok := strings.CutSuffix(s, "d"); ok {
		d, err := strconv.Atoi(n)
		if err != nil || d <= 0 {
			return 0, fmt.Errorf("window %q: want a Go duration (60m) or whole days (7d)", s)
		}
		return time.Duration(d) * 24 * time.Hour, nil
	}
	d, err := time.ParseDuration(s)
	if err != nil || d <= 0 {
		return 0, fmt.Errorf("window %q: want a positive Go duration (60m) or whole days (7d)", s)
	}
	return d, nil
}

func (s *Set) buildCatalogue(c *checker) {
	s.itemByCode = map[string]*Item{}
	s.byName = map[string][]*Item{}
	s.bySynonym = map[string][]*Item{}
	s.classItems = map[string][]*Item{}
	s.retired = map[string]Retired{}
	for _, t := range []struct {
		tree Tree
		raw  *rawTree
	}{{TreeUrban, &s.raw.catalogue.Urban}, {TreeHotline, &s.raw.catalogue.Hotline}} {
		s.catchAll[t.tree] = t.raw.CatchAll
		for _, r := range t.raw.Classes {
			it := &Item{Code: r.Code, Name: r.Name, Tree: t.tree, Class: true, Kind: r.Kind,
				Synonyms: r.Synonyms, Urgency: Normal, DuplicateWindow: DefaultDuplicateWindow,
				HotlineClass: r.HotlineClass}
			if t.tree == TreeHotline {
				it.HotlineClass = r.Code
			}
			s.addItem(it)
		}
		for _, r := range t.raw.Items {
			it := &Item{Code: r.Code, Name: r.Name, Tree: t.tree, Parent: r.Parent, Synonyms: r.Synonyms,
				Power: r.Power, Urgency: r.Urgency.OrNormal(), SLA: r.SLA, ReviewRequired: r.ReviewRequired,
				DuplicateWindow: DefaultDuplicateWindow, CatchAll: r.Code == t.raw.CatchAll}
			if r.DuplicateWindow != "" {
				w, err := ParseDuplicateWindow(r.DuplicateWindow)
				if err != nil {
					c.add(FileCatalogue, r.line, "item "+r.Code, "duplicate_window: %v", err)
				} else {
					it.DuplicateWindow = w
				}
			}
			s.addItem(it)
		}
		for _, r := range t.raw.Retired {
			rt := Retired{Code: r.Code, Name: r.Name, Successor: r.Successor, Reason: r.Reason}
			if _, dup := s.retired[r.Code]; !dup {
				s.retired[r.Code] = rt
				s.retiredOf[t.tree] = append(s.retiredOf[t.tree], rt)
			}
		}
	}
	// Resolve each item's hotline class once, now that all classes exist.
	for _, it := range s.itemList {
		switch {
		case it.Class:
		case it.Tree == TreeHotline:
			it.HotlineClass = classOf(it.Code)
		default:
			if cl, ok := s.itemByCode[it.Parent]; ok {
				it.HotlineClass = cl.HotlineClass
			}
		}
	}
	for _, r := range s.raw.catalogue.Urban.Items {
		if it, ok := s.itemByCode[r.Code]; ok && r.HotlineClass != "" && it.Tree == TreeUrban {
			it.HotlineClass = r.HotlineClass
		}
	}
	for _, it := range s.itemList {
		if !it.Class {
			s.classItems[it.Parent] = append(s.classItems[it.Parent], it)
		}
	}
}

func (s *Set) addItem(it *Item) {
	if _, dup := s.itemByCode[it.Code]; dup {
		return
	}
	s.itemByCode[it.Code] = it
	s.itemList = append(s.itemList, it)
	s.byName[it.Name] = append(s.byName[it.Name], it)
	for _, syn := range it.Synonyms {
		s.bySynonym[syn] = append(s.bySynonym[syn], it)
	}
}

func (s *Set) checkCatalogue(c *checker) {
	if c.broken[FileCatalogue] {
		return
	}
	seen := map[string]bool{}
	for _, t := range []struct {
		tree Tree
		raw  *rawTree
	}{{TreeUrban, &s.raw.catalogue.Urban}, {TreeHotline, &s.raw.catalogue.Hotline}} {
		if len(t.raw.Classes) == 0 {
			c.add(FileCatalogue, lineOfKey(s.docs[FileCatalogue], t.tree.String()), t.tree.String()+" tree", "no classes")
		}
		names := map[string]string{} // parent/name → code
		name := func(line int, entry, parent, code, n string, synonyms []string) {
			if strings.TrimSpace(n) == "" {
				c.add(FileCatalogue, line, entry, "no name")
			} else if other, dup := names[parent+"/"+n]; dup {
				c.add(FileCatalogue, line, entry, "name %q is already used by %s in the same class", n, other)
			} else {
				names[parent+"/"+n] = code
			}
			syn := map[string]bool{}
			for _, x := range synonyms {
				switch {
				case strings.TrimSpace(x) == "":
					c.add(FileCatalogue, line, entry, "empty synonym")
				case x == n:
					c.add(FileCatalogue, line, entry, "synonym %q repeats the name", x)
				case syn[x]:
					c.add(FileCatalogue, line, entry, "synonym %q listed twice", x)
				}
				syn[x] = true
			}
		}
		for _, r := range t.raw.Classes {
			entry := "class " + r.Code
			tree, class, ok := TreeOf(r.Code)
			switch {
			case !ok || tree != t.tree || !class:
				if t.tree == TreeUrban {
					c.add(FileCatalogue, r.line, entry, "urban class code must be 2 digits, 01-99")
				} else {
					c.add(FileCatalogue, r.line, entry, "hotline class code must be H + 2 digits + 000, e.g. H01000")
				}
			case seen[r.Code]:
				c.add(FileCatalogue, r.line, entry, "duplicate code")
			}
			seen[r.Code] = true
			name(r.line, entry, "", r.Code, r.Name, r.Synonyms)
			if t.tree == TreeUrban {
				if r.Kind != "component" && r.Kind != "event" {
					c.add(FileCatalogue, r.line, entry, "kind must be component or event")
				}
				if hc, ok := s.itemByCode[r.HotlineClass]; !ok || hc.Tree != TreeHotline || !hc.Class {
					c.add(FileCatalogue, r.line, entry, "hotline_class %q is not a hotline class", r.HotlineClass)
				}
			} else if r.Kind != "" || r.HotlineClass != "" {
				c.add(FileCatalogue, r.line, entry, "kind and hotline_class belong to urban classes only")
			}
		}
		for _, r := range t.raw.Items {
			entry := "item " + r.Code
			tree, class, ok := TreeOf(r.Code)
			switch {
			case !ok || tree != t.tree || class:
				if t.tree == TreeUrban {
					c.add(FileCatalogue, r.line, entry, "urban item code must be 5 digits (class 2 + item 3, item not 000)")
				} else {
					c.add(FileCatalogue, r.line, entry, "hotline item code must be H + class 2 + item 3 (item not 000)")
				}
			case seen[r.Code]:
				c.add(FileCatalogue, r.line, entry, "duplicate code")
			}
			seen[r.Code] = true
			name(r.line, entry, r.Parent, r.Code, r.Name, r.Synonyms)
			switch p, found := s.itemByCode[r.Parent]; {
			case r.Parent == "":
				c.add(FileCatalogue, r.line, entry, "no parent")
			case !found || !p.Class || p.Tree != t.tree:
				c.add(FileCatalogue, r.line, entry, "unknown parent class %q", r.Parent)
			case ok && !class && classOf(r.Code) != r.Parent:
				c.add(FileCatalogue, r.line, entry, "code does not belong to parent class %s", r.Parent)
			}
			if r.Power != "" && !s.knownPower(c, r.Power) {
				c.add(FileCatalogue, r.line, entry, "unknown power %q", r.Power)
			}
			if !r.Urgency.Valid() {
				c.add(FileCatalogue, r.line, entry, "urgency must be normal, urgent or emergency")
			}
			if r.SLA != "" && !s.knownProfile(c, r.SLA) {
				c.add(FileCatalogue, r.line, entry, "unknown SLA profile %q", r.SLA)
			}
			if r.HotlineClass != "" {
				if hc, ok := s.itemByCode[r.HotlineClass]; t.tree == TreeHotline {
					c.add(FileCatalogue, r.line, entry, "hotline_class belongs to urban items only")
				} else if !ok || hc.Tree != TreeHotline || !hc.Class {
					c.add(FileCatalogue, r.line, entry, "hotline_class %q is not a hotline class", r.HotlineClass)
				}
			}
		}
		ca := t.raw.CatchAll
		line := lineOfKey(s.docs[FileCatalogue], t.tree.String(), "catch_all")
		switch it, ok := s.itemByCode[ca]; {
		case ca == "":
			c.add(FileCatalogue, lineOfKey(s.docs[FileCatalogue], t.tree.String()), t.tree.String()+" tree", "no catch_all item")
		case !ok || it.Tree != t.tree || it.Class:
			c.add(FileCatalogue, line, t.tree.String()+" tree", "catch_all %q is not an item of this tree", ca)
		case it.Power != "":
			c.add(FileCatalogue, line, t.tree.String()+" tree", "catch_all %s needs power %s, but the street desk that handles it holds none", ca, it.Power)
		}
		s.checkRetired(c, t.tree, t.raw.Retired, seen)
	}
}

// checkRetired checks a tree's retired codes: each well-formed for the tree,
// not an active code, listed once, named, and resolving (through any chain of
// retired codes, without a loop) to an active item of the same tree.
func (s *Set) checkRetired(c *checker, tree Tree, retired []rawRetired, active map[string]bool) {
	listed := map[string]bool{}
	for _, r := range retired {
		entry := "retired " + r.Code
		tr, class, ok := TreeOf(r.Code)
		switch {
		case !ok || tr != tree || class:
			c.add(FileCatalogue, r.line, entry, "retired code must be an item code of the %s tree", tree)
		case active[r.Code]:
			c.add(FileCatalogue, r.line, entry, "code is still an active class or item: a retired code is never reused")
		case listed[r.Code]:
			c.add(FileCatalogue, r.line, entry, "retired twice")
		}
		listed[r.Code] = true
		if strings.TrimSpace(r.Name) == "" {
			c.add(FileCatalogue, r.line, entry, "no name (the name the code had)")
		}
		if r.Successor == "" {
			c.add(FileCatalogue, r.line, entry, "no successor: a retired code must name the item that took it over")
			continue
		}
		it, found := s.resolve(r.Code)
		switch {
		case !found:
			c.add(FileCatalogue, r.line, entry, "successor %q does not resolve to an active item (unknown, or a loop of retired codes)", r.Successor)
		case it.Tree != tree || it.Class:
			c.add(FileCatalogue, r.line, entry, "successor %s is not an item of the %s tree", it.Code, tree)
		}
	}
}

// resolve follows retired codes to the active entry that took them over.
func (s *Set) resolve(code string) (*Item, bool) {
	for range len(s.retired) + 1 {
		if it, ok := s.itemByCode[code]; ok {
			return it, true
		}
		r, ok := s.retired[code]
		if !ok {
			return nil, false
		}
		code = r.Successor
	}
	return nil, false // a loop
}

// Item looks up a class or item of either tree by code. A retired code
// resolves to its successor (the Item returned carries the successor's code).
func (s *Set) Item(code string) (Item, bool) {
	it, ok := s.resolve(code)
	if !ok {
		return Item{}, false
	}
	return *it, true
}

// Successor reports the active code a retired code resolves to, and whether
// code is retired at all.
func (s *Set) Successor(code string) (string, bool) {
	if _, retired := s.retired[code]; !retired {
		return "", false
	}
	it, ok := s.resolve(code)
	if !ok {
		return "", false
	}
	return it.Code, true
}

// RetiredCodes lists a tree's retired codes in file order.
func (s *Set) RetiredCodes(t Tree) []Retired {
	if int(t) >= len(s.retiredOf) {
		return nil
	}
	return slices.Clone(s.retiredOf[t])
}

// FirstLevel returns the first-level hotline class a code counts under, for
// statistics and for models that predict first-level classes: the class
// itself for a hotline class, the item's class for a hotline item, the
// hotline_class of an urban item's class (or of the item itself where it
// overrides it) for the urban tree.
func (s *Set) FirstLevel(code string) (Item, bool) {
	it, ok := s.resolve(code)
	if !ok {
		return Item{}, false
	}
	return s.Item(it.HotlineClass)
}

// ItemsByName returns the classes and items named name, exact names before
// synonyms, each in file order (urban tree first). Names are unique only
// within a class: 噪声扰民 is both an urban event and a hotline item.
func (s *Set) ItemsByName(name string) []Item {
	var out []Item
	for _, it := range s.byName[name] {
		out = append(out, *it)
	}
	for _, it := range s.bySynonym[name] {
		out = append(out, *it)
	}
	return out
}

// ItemByName returns the first of ItemsByName.
func (s *Set) ItemByName(name string) (Item, bool) {
	if its := s.ItemsByName(name); len(its) > 0 {
		return its[0], true
	}
	return Item{}, false
}

// Items lists a tree's classes and items in file order (classes first).
func (s *Set) Items(t Tree) []Item {
	var out []Item
	for _, it := range s.itemList {
		if it.Tree == t {
			out = append(out, *it)
		}
	}
	return out
}

// ClassItems lists the items of a class in file order.
func (s *Set) ClassItems(class string) []Item {
	var out []Item
	for _, it := range s.classItems[class] {
		out = append(out, *it)
	}
	return out
}

// CatchAll is a tree's catch-all item.
func (s *Set) CatchAll(t Tree) Item {
	if int(t) >= len(s.catchAll) {
		return Item{}
	}
	it, _ := s.Item(s.catchAll[t])
	return it
}

// knownItem reports whether code is a known class or item, or cannot be
// checked because catalogue.yaml is broken.
func (s *Set) knownItem(c *checker, code string) bool {
	if c.broken[FileCatalogue] {
		return true
	}
	_, ok := s.itemByCode[code]
	return ok
}
