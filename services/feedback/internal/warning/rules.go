package warning

import (
	"bytes"
	"context"
	"crypto/sha256"
	_ "embed"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"slices"
	"strings"
	"sync/atomic"
	"time"

	"gopkg.in/yaml.v3"
)

// Rule is the threshold a key warns at.
type Rule struct {
	// Name is where the rule comes from: "places", "subjects" or a
	// class's name.
	Name string
	// MinCount: at least this many cases in the current window.
	MinCount int
	// Rise: the count over the baseline's mean per window (a mean below one
	// counted as one) reaches it.
	Rise float64
	// Window is the length of a window; BaselineWindows how many windows
	// before the current one make the baseline.
	Window          time.Duration
	BaselineWindows int
	// FurtherStep: a dismissed warning returns in its window when its rise
	// reaches the rise it was dismissed at times this.
	FurtherStep float64
}

// Span is the windows a rule counts over: its window length and baseline.
type Span struct {
	Window          time.Duration
	BaselineWindows int
}

// Span is r's span.
func (r Rule) Span() Span { return Span{r.Window, r.BaselineWindows} }

// Class is a rule for the subjects whose item code starts with one of Items.
type Class struct {
	Items []string
	Rule  Rule
}

// Rules are the warning rules in force.
type Rules struct {
	Places, Subjects Rule
	Classes          []Class
	// Source names where they were read from ("default" or a file), and
	// Digest what they said, for the log.
	Source, Digest string
}

// For is the rule of a key: places' for a place; for a subject, the class
// with the longest prefix of its item code, else subjects'.
func (rs *Rules) For(kind Kind, key string) Rule {
	if kind == Place {
		return rs.Places
	}
	best, n := rs.Subjects, 0
	for _, c := range rs.Classes {
		for _, p := range c.Items {
			if len(p) > n && strings.HasPrefix(key, p) {
				best, n = c.Rule, len(p)
			}
		}
	}
	return best
}

// Spans lists the distinct spans of the rules, each counted once.
func (rs *Rules) Spans() []Span {
	out := []Span{rs.Places.Span()}
	for _, r := range append([]Rule{rs.Subjects}, classRules(rs.Classes)...) {
		if !slices.Contains(out, r.Span()) {
			out = append(out, r.Span())
		}
	}
	return out
}

// MinCount is the smallest count any rule of span s warns at: keys with
// fewer cases in the current window cannot warn.
func (rs *Rules) MinCount(s Span) int {
	m := math.MaxInt
	for _, r := range append([]Rule{rs.Places, rs.Subjects}, classRules(rs.Classes)...) {
		if r.Span() == s {
			m = min(m, r.MinCount)
		}
	}
	return m
}

func classRules(cs []Class) []Rule {
	out := make([]Rule, len(cs))
	for i, c := range cs {
		out[i] = c.Rule
	}
	return out
}

//go:embed rules.yaml
var defaultRules []byte

// DefaultRules are the shipped rules (rules.yaml).
func DefaultRules() *Rules {
	rs, err := Parse("default", defaultRules)
	if err != nil {
		panic("warning: the shipped rules.yaml: " + err.Error())
	}
	return rs
}

// Load reads the rules from file, or the shipped ones when file is "".
func Load(file string) (*Rules, error) {
	if file == "" {
		return DefaultRules(), nil
	}
	b, err := os.ReadFile(file)
	if err != nil {
		return nil, fmt.Errorf("warning rules: %w", err)
	}
	return Parse(file, b)
}

// ruleDoc is a rule as the file writes it: every field optional, inherited
// from the rule above it.
type ruleDoc struct {
	Name            string         `yaml:"name"`
	Items           []string       `yaml:"items"`
	MinCount        *int           `yaml:"min_count"`
	Rise            *float64       `yaml:"rise"`
	Window          *time.Duration `yaml:"window"`
	BaselineWindows *int           `yaml:"baseline_windows"`
	FurtherStep     *float64       `yaml:"further_step"`
	line            int
}

func (d *ruleDoc) UnmarshalYAML(n *yaml.Node) error {
	type plain ruleDoc
	if err := n.Decode((*plain)(d)); err != nil {
		return err
	}
	d.line = n.Line
	return nil
}

type rulesDoc struct {
	Default  *ruleDoc  `yaml:"default"`
	Places   *ruleDoc  `yaml:"places"`
	Subjects *ruleDoc  `yaml:"subjects"`
	Classes  []ruleDoc `yaml:"classes"`
}

// Limits of a rule: a window from a minute (tests) to a quarter; a
// baseline of up to 52 windows.
const (
	minWindow    = time.Second
	maxWindow    = 92 * 24 * time.Hour
	maxBaselines = 52
)

// Parse reads and checks rules; every problem is reported with the file,
// the line and the rule it is in.
func Parse(source string, b []byte) (*Rules, error) {
	var doc rulesDoc
	dec := yaml.NewDecoder(bytes.NewReader(b))
	dec.KnownFields(true)
	if err := dec.Decode(&doc); err != nil && !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("warning rules %s: %w", source, err)
	}
	var errs []error
	if doc.Default == nil {
		errs = append(errs, fmt.Errorf("warning rules %s: default: is required (min_count, rise, window, baseline_windows, further_step)", source))
		doc.Default = &ruleDoc{}
	}
	base := doc.Default.over(Rule{Name: "default"}, "default")
	errs = append(errs, base.check(source, doc.Default.line)...)
	rs := &Rules{Places: base, Subjects: base, Source: source}
	rs.Places.Name, rs.Subjects.Name = "places", "subjects"
	if doc.Places != nil {
		rs.Places = doc.Places.over(rs.Places, "places")
		errs = append(errs, rs.Places.check(source, doc.Places.line)...)
	}
	if doc.Subjects != nil {
		rs.Subjects = doc.Subjects.over(rs.Subjects, "subjects")
		errs = append(errs, rs.Subjects.check(source, doc.Subjects.line)...)
	}
	seen := map[string]string{}
	for i, c := range doc.Classes {
		name := c.Name
		where := fmt.Sprintf("warning rules %s:%d: classes[%d]", source, c.line, i)
		if name == "" {
			errs = append(errs, fmt.Errorf("%s: name is required", where))
			name = fmt.Sprintf("classes[%d]", i)
		}
		if len(c.Items) == 0 {
			errs = append(errs, fmt.Errorf("%s (%s): items is required: the item code prefixes it covers", where, name))
		}
		for _, p := range c.Items {
			if !itemPrefix(p) {
				errs = append(errs, fmt.Errorf("%s (%s): item prefix %q is not a catalogue code's start (digits, or H and digits, at most 6)", where, name, p))
			} else if other, dup := seen[p]; dup {
				errs = append(errs, fmt.Errorf("%s (%s): item prefix %q is %s's already", where, name, p, other))
			}
			seen[p] = name
		}
		r := c.over(rs.Subjects, name)
		errs = append(errs, r.check(source, c.line)...)
		rs.Classes = append(rs.Classes, Class{Items: c.Items, Rule: r})
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	rs.Digest = fmt.Sprintf("%x", digest(b))
	return rs, nil
}

func (d *ruleDoc) over(r Rule, name string) Rule {
	r.Name = name
	if d.MinCount != nil {
		r.MinCount = *d.MinCount
	}
	if d.Rise != nil {
		r.Rise = *d.Rise
	}
	if d.Window != nil {
		r.Window = *d.Window
	}
	if d.BaselineWindows != nil {
		r.BaselineWindows = *d.BaselineWindows
	}
	if d.FurtherStep != nil {
		r.FurtherStep = *d.FurtherStep
	}
	return r
}

func (r Rule) check(source string, line int) []error {
	var errs []error
	bad := func(field, format string, args ...any) {
		errs = append(errs, fmt.Errorf("warning rules %s:%d: %s: %s %s", source, line, r.Name, field, fmt.Sprintf(format, args...)))
	}
	if r.MinCount < 1 {
		bad("min_count", "%d: want at least 1", r.MinCount)
	}
	if math.IsNaN(r.Rise) || r.Rise <= 1 || math.IsInf(r.Rise, 0) {
		bad("rise", "%v: want a ratio above 1 (2 is twice the baseline)", r.Rise)
	}
	if r.Window < minWindow || r.Window > maxWindow {
		bad("window", "%v: want %v to %v", r.Window, minWindow, maxWindow)
	}
	if r.BaselineWindows < 1 || r.BaselineWindows > maxBaselines {
		bad("baseline_windows", "%d: want 1 to %d", r.BaselineWindows, maxBaselines)
	}
	if math.IsNaN(r.FurtherStep) || r.FurtherStep <= 1 || math.IsInf(r.FurtherStep, 0) {
		bad("further_step", "%v: want a factor above 1 (1.5: the rise must grow by half)", r.FurtherStep)
	}
	return errs
}

func itemPrefix(p string) bool {
	d := strings.TrimPrefix(p, "H")
	if d == "" || len(p) > 6 {
		return false
	}
	for _, c := range d {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

// Holder holds the rules in force and reloads them from their file: a
// process.Reloadable, so SIGHUP reloads them; a reload that fails keeps
// the rules in force.
type Holder struct {
	file string
	cur  atomic.Pointer[Rules]
}

// NewHolder loads the rules from file ("" for the shipped ones).
func NewHolder(file string) (*Holder, error) {
	rs, err := Load(file)
	if err != nil {
		return nil, err
	}
	h := &Holder{file: file}
	h.cur.Store(rs)
	return h, nil
}

// Current is the rules in force.
func (h *Holder) Current() *Rules { return h.cur.Load() }

// Name implements process.Reloadable.
func (h *Holder) Name() string { return "warning rules" }

// Attrs implements process.Reloadable.
func (h *Holder) Attrs() []any {
	rs := h.Current()
	return []any{"source", rs.Source, "digest", rs.Digest, "places", rs.Places, "subjects", rs.Subjects, "classes", len(rs.Classes)}
}

// Refresh implements process.Reloadable: it reads the file again.
func (h *Holder) Refresh(context.Context) error {
	rs, err := Load(h.file)
	if err != nil {
		return err
	}
	h.cur.Store(rs)
	return nil
}

func digest(b []byte) []byte {
	s := sha256.Sum256(b)
	return s[:8]
}
