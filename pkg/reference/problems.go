package reference

import (
	"cmp"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
)

// Problem is one thing wrong with a reference set: where (file, line when
// known, entry) and why.
type Problem struct {
	File   string // "areas.yaml"; "" for the set as a whole
	Line   int    // 1-based; 0 when not known
	Entry  string // "grid 310106022001001", "rule night-noise"; "" for the file as a whole
	Reason string
}

// Error formats the problem as "file:line: entry: reason".
func (p Problem) Error() string {
	var b strings.Builder
	if p.File != "" {
		b.WriteString(p.File)
		if p.Line > 0 {
			b.WriteString(":" + strconv.Itoa(p.Line))
		}
		b.WriteString(": ")
	}
	if p.Entry != "" {
		b.WriteString(p.Entry + ": ")
	}
	b.WriteString(p.Reason)
	return b.String()
}

// ValidationError lists every problem found in a reference set. Loading
// never stops at the first problem: a city fixing its data sees them all.
type ValidationError struct {
	Problems []Problem
}

// Error lists the problems, one a line.
func (e *ValidationError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "reference: %d problem", len(e.Problems))
	if len(e.Problems) != 1 {
		b.WriteString("s")
	}
	for _, p := range e.Problems {
		b.WriteString("\n  " + p.Error())
	}
	return b.String()
}

// Unwrap returns each problem, so errors.As can pick one out.
func (e *ValidationError) Unwrap() []error {
	errs := make([]error, len(e.Problems))
	for i, p := range e.Problems {
		errs[i] = p
	}
	return errs
}

// checker collects problems. broken names files that could not be decoded:
// references into them are not reported, because every one would be a
// consequence of the first problem rather than a problem of its own.
type checker struct {
	problems []Problem
	broken   map[string]bool
}

func (c *checker) add(file string, line int, entry, format string, args ...any) {
	c.problems = append(c.problems, Problem{File: file, Line: line, Entry: entry, Reason: fmt.Sprintf(format, args...)})
}

// err returns the problems sorted by file (in load order) and line, or nil.
func (c *checker) err() error {
	if len(c.problems) == 0 {
		return nil
	}
	ps := slices.Clone(c.problems)
	slices.SortStableFunc(ps, func(a, b Problem) int {
		return cmp.Or(cmp.Compare(fileOrder(a.File), fileOrder(b.File)), cmp.Compare(a.Line, b.Line))
	})
	return &ValidationError{Problems: ps}
}

func fileOrder(name string) int {
	if i := slices.Index(Files, name); i >= 0 {
		return i
	}
	return len(Files)
}

// yamlLine matches the "line N: " yaml.v3 puts in front of its messages.
var yamlLine = regexp.MustCompile(`^(?:yaml: )?line (\d+): (.*)$`)

// notFound rewrites yaml.v3's "field x not found in type reference.rawGrid".
var notFound = regexp.MustCompile(`^field (\S+) not found in type \S+$`)

func splitYAMLError(msg string) (int, string) {
	line := 0
	if m := yamlLine.FindStringSubmatch(msg); m != nil {
		line, _ = strconv.Atoi(m[1])
		msg = m[2]
	}
	if m := notFound.FindStringSubmatch(msg); m != nil {
		msg = "unknown field " + strconv.Quote(m[1])
	}
	return line, strings.TrimPrefix(msg, "yaml: ")
}
