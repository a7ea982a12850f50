package reference

import (
	"regexp"
	"slices"
	"strings"

	"gopkg.in/yaml.v3"
)

// ServiceCategory is one of the community service categories a needs
// survey asks about (servicecategories.yaml).
type ServiceCategory struct {
	Code string
	Name string
	// Items are the catalogue items and classes whose 建议/求助 cases count
	// as requests for the category.
	Items []string
}

// Service is one resource of a street's service list (services.yaml): an
// organisation's service, the categories it answers and the areas it
// serves.
type Service struct {
	ID           string
	Organisation string
	Name         string
	Categories   []string
	// Areas are street or community codes; a street serves its communities.
	Areas   []string
	Contact string
}

// Serves reports whether the service serves an area: a community or grid
// inside one of its areas, or a street one of its areas is or lies in.
func (v Service) Serves(area string) bool {
	for _, a := range v.Areas {
		if strings.HasPrefix(area, a) || strings.HasPrefix(a, area) {
			return true
		}
	}
	return false
}

// Answers reports whether the service answers a category.
func (v Service) Answers(category string) bool { return slices.Contains(v.Categories, category) }

type serviceCategoriesFile struct {
	Categories []rawServiceCategory `yaml:"categories"`
}

type rawServiceCategory struct {
	Code  string   `yaml:"code"`
	Name  string   `yaml:"name"`
	Items []string `yaml:"items"`
	line  int
}

func (f *serviceCategoriesFile) setLines(doc *yaml.Node) {
	l := seqLines(doc, "categories")
	for i := range f.Categories {
		f.Categories[i].line = lineOf(l, i)
	}
}

type servicesFile struct {
	Services []rawService `yaml:"services"`
}

type rawService struct {
	ID           string   `yaml:"id"`
	Organisation string   `yaml:"organisation"`
	Name         string   `yaml:"name"`
	Categories   []string `yaml:"categories"`
	Areas        []string `yaml:"areas"`
	Contact      string   `yaml:"contact"`
	line         int
}

func (f *servicesFile) setLines(doc *yaml.Node) {
	l := seqLines(doc, "services")
	for i := range f.Services {
		f.Services[i].line = lineOf(l, i)
	}
}

type serviceList struct {
	categoryList   []ServiceCategory
	categoryByCode map[string]int
	categoryOfItem map[string]string // catalogue code → category code
	services       []Service
}

var (
	categoryCode = regexp.MustCompile(`^SC[0-9]{2}$`)
	serviceID    = regexp.MustCompile(`^[a-z0-9][a-z0-9-]{0,63}$`)
)

func (s *Set) buildServiceList() {
	s.categoryByCode = map[string]int{}
	s.categoryOfItem = map[string]string{}
	for _, r := range s.raw.serviceCategories.Categories {
		if _, dup := s.categoryByCode[r.Code]; dup {
			continue
		}
		s.categoryByCode[r.Code] = len(s.categoryList)
		s.categoryList = append(s.categoryList, ServiceCategory{Code: r.Code, Name: r.Name, Items: slices.Clone(r.Items)})
		for _, it := range r.Items {
			if _, dup := s.categoryOfItem[it]; !dup {
				s.categoryOfItem[it] = r.Code
			}
		}
	}
	seen := map[string]bool{}
	for _, r := range s.raw.services.Services {
		if seen[r.ID] {
			continue
		}
		seen[r.ID] = true
		s.serviceList.services = append(s.serviceList.services, Service{ID: r.ID, Organisation: r.Organisation, Name: r.Name,
			Categories: slices.Clone(r.Categories), Areas: slices.Clone(r.Areas), Contact: r.Contact})
	}
}

func (s *Set) checkServiceCategories(c *checker) {
	if c.broken[FileServiceCategories] {
		return
	}
	codes, names, items := map[string]bool{}, map[string]bool{}, map[string]string{}
	for _, r := range s.raw.serviceCategories.Categories {
		entry := "category " + r.Code
		switch {
		case !categoryCode.MatchString(r.Code):
			c.add(FileServiceCategories, r.line, entry, "code must be SC and two digits (SC01)")
		case codes[r.Code]:
			c.add(FileServiceCategories, r.line, entry, "duplicate code")
		}
		codes[r.Code] = true
		name := strings.TrimSpace(r.Name)
		switch {
		case name == "":
			c.add(FileServiceCategories, r.line, entry, "no name")
		case names[name]:
			c.add(FileServiceCategories, r.line, entry, "duplicate name %q", name)
		}
		names[name] = true
		for _, it := range r.Items {
			if !s.knownItem(c, it) {
				c.add(FileServiceCategories, r.line, entry, "unknown catalogue code %q", it)
				continue
			}
			if other, dup := items[it]; dup {
				c.add(FileServiceCategories, r.line, entry, "catalogue code %s already maps to %s", it, other)
				continue
			}
			items[it] = r.Code
		}
	}
}

func (s *Set) checkServices(c *checker) {
	if c.broken[FileServices] {
		return
	}
	seen := map[string]bool{}
	for _, r := range s.raw.services.Services {
		entry := "service " + r.ID
		switch {
		case !serviceID.MatchString(r.ID):
			c.add(FileServices, r.line, entry, "id must be lower-case letters, digits and dashes, at most 64 (svc-0017)")
		case seen[r.ID]:
			c.add(FileServices, r.line, entry, "duplicate id")
		}
		seen[r.ID] = true
		if strings.TrimSpace(r.Organisation) == "" {
			c.add(FileServices, r.line, entry, "no organisation")
		}
		if strings.TrimSpace(r.Name) == "" {
			c.add(FileServices, r.line, entry, "no name")
		}
		if len(r.Categories) == 0 {
			c.add(FileServices, r.line, entry, "answers no category")
		}
		cats := map[string]bool{}
		for _, cat := range r.Categories {
			switch {
			case cats[cat]:
				c.add(FileServices, r.line, entry, "category %s listed twice", cat)
			case !c.broken[FileServiceCategories]:
				if _, ok := s.categoryByCode[cat]; !ok {
					c.add(FileServices, r.line, entry, "unknown category %q", cat)
				}
			}
			cats[cat] = true
		}
		if len(r.Areas) == 0 {
			c.add(FileServices, r.line, entry, "serves no area")
		}
		areas := map[string]bool{}
		for _, a := range r.Areas {
			if areas[a] {
				c.add(FileServices, r.line, entry, "area %s listed twice", a)
				continue
			}
			areas[a] = true
			if c.broken[FileAreas] {
				continue
			}
			ar, ok := s.Area(a)
			switch {
			case !ok:
				c.add(FileServices, r.line, entry, "unknown area %q", a)
			case ar.Level != LevelStreet && ar.Level != LevelCommunity:
				c.add(FileServices, r.line, entry, "area %s is a %v: a service serves streets or communities", a, ar.Level)
			}
		}
	}
}

// ServiceCategories lists the survey's categories in file order
// (read-only).
func (s *Set) ServiceCategories() []ServiceCategory { return s.categoryList }

// ServiceCategory looks up a category by code.
func (s *Set) ServiceCategory(code string) (ServiceCategory, bool) {
	i, ok := s.categoryByCode[code]
	if !ok {
		return ServiceCategory{}, false
	}
	return s.categoryList[i], true
}

// CategoryOfItem is the service category a catalogue item's 建议/求助 cases
// count for: the item's own mapping, else its class's; ok is false for an
// item no category claims.
func (s *Set) CategoryOfItem(code string) (string, bool) {
	if c, ok := s.categoryOfItem[code]; ok {
		return c, true
	}
	if it, ok := s.Item(code); ok && it.Parent != "" {
		c, ok := s.categoryOfItem[it.Parent]
		return c, ok
	}
	return "", false
}

// Services lists the service list in file order (read-only).
func (s *Set) Services() []Service { return s.serviceList.services }

// ServicesFor lists the services that answer a category in an area (a
// community, or a street: the services of the street and of any of its
// communities), in file order.
func (s *Set) ServicesFor(category, area string) []Service {
	var out []Service
	for _, v := range s.serviceList.services {
		if v.Answers(category) && v.Serves(area) {
			out = append(out, v)
		}
	}
	return out
}
