package reference

import (
	"regexp"
	"slices"
	"strings"

	"gopkg.in/yaml.v3"
)

// Duty says when a department takes work.
type Duty string

// Duty hours.
const (
	DutyAllHours     Duty = "24h"           // staffed day and night (desks, police, 城管 on shifts)
	DutyWorkingHours Duty = "working_hours" // the calendar's working hours only
)

// Department is a unit that can be handed a task. Its code is
// "<area code>-<unit>": the district's or street's code and a short unit name
// in lower-case letters and digits (310106022-cgzd is 芷江西路街道's 城管执法中队).
// Units with the same unit name in different streets are "the same kind of
// unit", which is what a rule's {street}-cgzd target relies on.
type Department struct {
	Code   string
	Name   string
	Level  Level  // LevelDistrict or LevelStreet
	Area   string // the district or street the code names
	Unit   string // the part after the dash
	Parent string // supervising department, "" for none
	// Areas the department covers; its own area when the file lists none.
	Areas  []string
	Powers []string
	// Desk marks the area's operations-centre desk (城运中心): the fallback
	// for anything no rule claims, and the dispatchers' home.
	Desk bool
	Duty Duty
}

// Holds reports whether the department holds a power, directly or through an
// ancestor power (city_management covers city_management.street_order).
func (d Department) Holds(power string) bool {
	for _, p := range d.Powers {
		if covers(p, power) {
			return true
		}
	}
	return false
}

// Covers reports whether an area code lies in one of the department's areas.
func (d Department) Covers(area string) bool {
	for _, a := range d.Areas {
		if strings.HasPrefix(area, a) {
			return true
		}
	}
	return false
}

type departmentsFile struct {
	Departments []rawDepartment `yaml:"departments"`
}

type rawDepartment struct {
	Code   string   `yaml:"code"`
	Name   string   `yaml:"name"`
	Level  string   `yaml:"level"`
	Parent string   `yaml:"parent"`
	Areas  []string `yaml:"areas"`
	Powers []string `yaml:"powers"`
	Desk   bool     `yaml:"desk"`
	Duty   Duty     `yaml:"duty"`
	line   int
}

func (f *departmentsFile) setLines(doc *yaml.Node) {
	l := seqLines(doc, "departments")
	for i := range f.Departments {
		f.Departments[i].line = lineOf(l, i)
	}
}

type departments struct {
	deptByCode map[string]*Department
	deptList   []*Department
	desks      map[string]*Department // area code → its desk
}

var deptCode = regexp.MustCompile(`^([0-9]{6}|[0-9]{9})-([a-z][a-z0-9]*)$`)

func (s *Set) buildDepartments() {
	s.deptByCode = map[string]*Department{}
	s.desks = map[string]*Department{}
	for _, r := range s.raw.departments.Departments {
		if _, dup := s.deptByCode[r.Code]; dup {
			continue
		}
		d := &Department{Code: r.Code, Name: r.Name, Parent: r.Parent, Areas: r.Areas,
			Powers: r.Powers, Desk: r.Desk, Duty: r.Duty}
		if m := deptCode.FindStringSubmatch(r.Code); m != nil {
			d.Area, d.Unit = m[1], m[2]
			d.Level = LevelOf(d.Area)
		}
		if len(d.Areas) == 0 && d.Area != "" {
			d.Areas = []string{d.Area}
		}
		if d.Duty == "" {
			d.Duty = DutyWorkingHours
		}
		s.deptByCode[r.Code] = d
		s.deptList = append(s.deptList, d)
		if d.Desk && d.Area != "" {
			if _, dup := s.desks[d.Area]; !dup {
				s.desks[d.Area] = d
			}
		}
	}
}

func (s *Set) checkDepartments(c *checker) {
	if c.broken[FileDepartments] {
		return
	}
	seen := map[string]bool{}
	desks := map[string]string{}
	for _, r := range s.raw.departments.Departments {
		entry := "department " + r.Code
		m := deptCode.FindStringSubmatch(r.Code)
		switch {
		case m == nil:
			c.add(FileDepartments, r.line, entry, "code must be <district or street code>-<unit>, unit in lower-case letters and digits (310106022-cgzd)")
		case seen[r.Code]:
			c.add(FileDepartments, r.line, entry, "duplicate code")
		}
		seen[r.Code] = true
		if strings.TrimSpace(r.Name) == "" {
			c.add(FileDepartments, r.line, entry, "no name")
		}
		var level Level
		switch r.Level {
		case "district":
			level = LevelDistrict
		case "street":
			level = LevelStreet
		default:
			c.add(FileDepartments, r.line, entry, "level must be district or street")
		}
		if m != nil {
			area := m[1]
			if level != 0 && LevelOf(area) != level {
				c.add(FileDepartments, r.line, entry, "a %s department's code must start with a %d-digit %s code", r.Level, codeLen[level], r.Level)
			}
			if !s.knownArea(c, area) {
				c.add(FileDepartments, r.line, entry, "unknown area %s", area)
			}
			for _, a := range r.Areas {
				switch {
				case !s.knownArea(c, a):
					c.add(FileDepartments, r.line, entry, "covers unknown area %q", a)
				case !strings.HasPrefix(a, area):
					c.add(FileDepartments, r.line, entry, "covers area %s outside its own %s", a, area)
				}
			}
			if r.Desk {
				if other, dup := desks[area]; dup {
					c.add(FileDepartments, r.line, entry, "area %s already has desk %s", area, other)
				}
				desks[area] = r.Code
			}
		}
		if r.Parent != "" {
			if _, ok := s.deptByCode[r.Parent]; !ok {
				c.add(FileDepartments, r.line, entry, "unknown parent department %q", r.Parent)
			} else if s.parentCycle(r.Code) {
				c.add(FileDepartments, r.line, entry, "parent chain loops back to itself")
			}
		}
		for _, p := range r.Powers {
			if !s.knownPower(c, p) {
				c.add(FileDepartments, r.line, entry, "unknown power %q", p)
			}
		}
		if r.Desk && len(r.Powers) > 0 {
			// The fallback may lead any item: were it to hold powers, what
			// no power holder could take would look taken.
			c.add(FileDepartments, r.line, entry, "a desk holds no powers: it is the fallback, and a dispatcher names a power holder")
		}
		if r.Duty != "" && r.Duty != DutyAllHours && r.Duty != DutyWorkingHours {
			c.add(FileDepartments, r.line, entry, "duty must be 24h or working_hours")
		}
	}
	if c.broken[FileAreas] {
		return
	}
	// Every district and street needs a desk: it is where fallbacks,
	// supervision and escalation land.
	for _, l := range []Level{LevelDistrict, LevelStreet} {
		for _, a := range s.byLevel[l] {
			if _, ok := desks[a.Code]; !ok {
				c.add(FileDepartments, 0, "", "%s %s %s has no desk (a department with desk: true)", l, a.Code, a.Name)
			}
		}
	}
}

func (s *Set) parentCycle(code string) bool {
	seen := map[string]bool{}
	for d, ok := s.deptByCode[code]; ok && d.Parent != ""; d, ok = s.deptByCode[d.Parent] {
		if seen[d.Code] {
			return true
		}
		seen[d.Code] = true
		if d.Parent == code {
			return true
		}
	}
	return false
}

// Department looks a department up by code.
func (s *Set) Department(code string) (Department, bool) {
	d, ok := s.deptByCode[code]
	if !ok {
		return Department{}, false
	}
	return *d, true
}

// Departments lists the departments in file order. Their slices are shared:
// do not modify them.
func (s *Set) Departments() []Department {
	out := make([]Department, len(s.deptList))
	for i, d := range s.deptList {
		out[i] = *d
	}
	return out
}

// Desk returns the operations-centre desk of a district or street.
func (s *Set) Desk(area string) (Department, bool) {
	d, ok := s.desks[area]
	if !ok {
		return Department{}, false
	}
	return *d, true
}

// knownDepartment reports whether code is a department, or cannot be checked
// because departments.yaml is broken.
func (s *Set) knownDepartment(c *checker, code string) bool {
	if c.broken[FileDepartments] {
		return true
	}
	_, ok := s.deptByCode[code]
	return ok
}

// streetsUnder lists the streets inside an area code (the street itself, or
// its district's streets); all streets for "".
func (s *Set) streetsUnder(area string) []string {
	var out []string
	for _, a := range s.byLevel[LevelStreet] {
		if area == "" || strings.HasPrefix(a.Code, area) || strings.HasPrefix(area, a.Code) {
			out = append(out, a.Code)
		}
	}
	return slices.Compact(out)
}

// districtsUnder lists the districts an area code lies in or is; all for "".
func (s *Set) districtsUnder(area string) []string {
	var out []string
	for _, a := range s.byLevel[LevelDistrict] {
		if area == "" || strings.HasPrefix(area, a.Code) {
			out = append(out, a.Code)
		}
	}
	return out
}
