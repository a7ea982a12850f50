package reference

import (
	"regexp"
	"strings"

	"gopkg.in/yaml.v3"
)

// Power is one enforcement power (执法权) of the vocabulary in powers.yaml.
// Codes are dotted: a department holding "city_management" holds
// "city_management.street_order" and every other power below it.
type Power struct {
	Code        string
	Name        string
	Description string
}

type powersFile struct {
	Powers []rawPower `yaml:"powers"`
}

type rawPower struct {
	Code        string `yaml:"code"`
	Name        string `yaml:"name"`
	Description string `yaml:"description"`
	line        int
}

func (f *powersFile) setLines(doc *yaml.Node) {
	lines := seqLines(doc, "powers")
	for i := range f.Powers {
		f.Powers[i].line = lineOf(lines, i)
	}
}

type powers struct {
	powerByCode map[string]Power
	powerList   []Power
}

var powerCode = regexp.MustCompile(`^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)*$`)

func (s *Set) buildPowers() {
	s.powerByCode = map[string]Power{}
	for _, r := range s.raw.powers.Powers {
		if _, dup := s.powerByCode[r.Code]; dup {
			continue
		}
		p := Power{Code: r.Code, Name: r.Name, Description: r.Description}
		s.powerByCode[r.Code] = p
		s.powerList = append(s.powerList, p)
	}
}

func (s *Set) checkPowers(c *checker) {
	seen := map[string]bool{}
	for _, r := range s.raw.powers.Powers {
		entry := "power " + r.Code
		switch {
		case !powerCode.MatchString(r.Code):
			c.add(FilePowers, r.line, entry, "code must be lower-case words joined by dots, e.g. city_management.street_order")
		case seen[r.Code]:
			c.add(FilePowers, r.line, entry, "duplicate code")
		}
		seen[r.Code] = true
		if strings.TrimSpace(r.Name) == "" {
			c.add(FilePowers, r.line, entry, "no name")
		}
		if i := strings.LastIndexByte(r.Code, '.'); i > 0 {
			if _, ok := s.powerByCode[r.Code[:i]]; !ok {
				c.add(FilePowers, r.line, entry, "parent power %q is not defined", r.Code[:i])
			}
		}
	}
	if len(s.raw.powers.Powers) == 0 && !c.broken[FilePowers] {
		c.add(FilePowers, 0, "", "no powers defined")
	}
}

// Power looks a power up by code.
func (s *Set) Power(code string) (Power, bool) {
	p, ok := s.powerByCode[code]
	return p, ok
}

// Powers lists the vocabulary in file order.
func (s *Set) Powers() []Power { return append([]Power(nil), s.powerList...) }

// knownPower reports whether code is defined, or cannot be checked because
// powers.yaml is broken.
func (s *Set) knownPower(c *checker, code string) bool {
	if c.broken[FilePowers] {
		return true
	}
	_, ok := s.powerByCode[code]
	return ok
}

// covers reports whether holding power held grants power need: the same
// code or an ancestor of it.
func covers(held, need string) bool {
	return held == need || strings.HasPrefix(need, held+".")
}
