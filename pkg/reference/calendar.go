package reference

import (
	"fmt"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/gridflow/gridflow/pkg/workcal"
)

type calendarFile struct {
	TimeZone     string    `yaml:"time_zone"`
	WorkingHours []string  `yaml:"working_hours"`
	Years        []rawYear `yaml:"years"`
}

type rawYear struct {
	Year        int          `yaml:"year"`
	Provisional bool         `yaml:"provisional"`
	Source      string       `yaml:"source"`
	Holidays    []rawHoliday `yaml:"holidays"`
	WorkingDays []rawMakeup  `yaml:"working_days"`
	line        int
}

type rawHoliday struct {
	Name string `yaml:"name"`
	From string `yaml:"from"`
	To   string `yaml:"to"`
	line int
}

type rawMakeup struct {
	Name string `yaml:"name"`
	Date string `yaml:"date"`
	line int
}

func (f *calendarFile) setLines(doc *yaml.Node) {
	years := node(doc, "years")
	if years == nil || years.Kind != yaml.SequenceNode {
		return
	}
	for i := range f.Years {
		if i >= len(years.Content) {
			break
		}
		y := years.Content[i]
		f.Years[i].line = y.Line
		l := seqLines(y, "holidays")
		for j := range f.Years[i].Holidays {
			f.Years[i].Holidays[j].line = lineOf(l, j)
		}
		l = seqLines(y, "working_days")
		for j := range f.Years[i].WorkingDays {
			f.Years[i].WorkingDays[j].line = lineOf(l, j)
		}
	}
}

type calendar struct {
	cal    *workcal.Calendar
	calErr error
}

// buildCalendar turns calendar.yaml into a workcal.Calendar, skipping what
// does not parse (checkCalendar reports it).
func (s *Set) buildCalendar(*checker) {
	f := &s.raw.calendar
	cfg := workcal.Config{}
	cfg.Location, _ = time.LoadLocation(f.TimeZone)
	if f.TimeZone == "" {
		cfg.Location = nil // LoadLocation("") is UTC; an absent zone is a mistake
	}
	for _, h := range f.WorkingHours {
		if sp, err := workcal.ParseSpan(h); err == nil {
			cfg.Hours = append(cfg.Hours, sp)
		}
	}
	for _, y := range f.Years {
		wy := workcal.Year{Year: y.Year, Provisional: y.Provisional}
		for _, h := range y.Holidays {
			from, err1 := workcal.ParseDate(h.From)
			to := from
			var err2 error
			if h.To != "" {
				to, err2 = workcal.ParseDate(h.To)
			}
			if err1 != nil || err2 != nil || to.Compare(from) < 0 || to.Compare(from.AddDays(60)) > 0 {
				continue
			}
			for d := from; d.Compare(to) <= 0; d = d.AddDays(1) {
				if d.Year == y.Year {
					wy.Holidays = append(wy.Holidays, d)
				}
			}
		}
		for _, w := range y.WorkingDays {
			if d, err := workcal.ParseDate(w.Date); err == nil && d.Year == y.Year {
				wy.WorkingDays = append(wy.WorkingDays, d)
			}
		}
		cfg.Years = append(cfg.Years, wy)
	}
	s.cal, s.calErr = workcal.New(cfg)
}

func (s *Set) checkCalendar(c *checker) {
	if c.broken[FileCalendar] {
		return
	}
	f := &s.raw.calendar
	doc := s.docs[FileCalendar]
	before := len(c.problems)
	switch _, err := time.LoadLocation(f.TimeZone); {
	case f.TimeZone == "":
		c.add(FileCalendar, 0, "", "no time_zone (Asia/Shanghai)")
	case err != nil:
		c.add(FileCalendar, lineOfKey(doc, "time_zone"), "", "time_zone %q: %v", f.TimeZone, err)
	}
	hl := seqLines(doc, "working_hours")
	var prev workcal.Span
	if len(f.WorkingHours) == 0 {
		c.add(FileCalendar, 0, "", "no working_hours")
	}
	for i, h := range f.WorkingHours {
		sp, err := workcal.ParseSpan(h)
		switch {
		case err != nil:
			c.add(FileCalendar, lineOf(hl, i), "working hours "+h, "want HH:MM-HH:MM")
		case sp.Start >= sp.End:
			c.add(FileCalendar, lineOf(hl, i), "working hours "+h, "must end after they start")
		case i > 0 && sp.Start < prev.End:
			c.add(FileCalendar, lineOf(hl, i), "working hours "+h, "must start after %v ends", prev)
		}
		prev = sp
	}
	years := map[int]bool{}
	lastConfirmed, firstProvisional := 0, 0
	for _, y := range f.Years {
		entry := fmt.Sprintf("year %d", y.Year)
		if y.Year < 1990 || y.Year > 2200 {
			c.add(FileCalendar, y.line, entry, "not a plausible year")
		}
		if years[y.Year] {
			c.add(FileCalendar, y.line, entry, "listed twice")
		}
		years[y.Year] = true
		if y.Provisional {
			if firstProvisional == 0 || y.Year < firstProvisional {
				firstProvisional = y.Year
			}
		} else {
			lastConfirmed = max(lastConfirmed, y.Year)
		}
		holiday := map[workcal.Date]string{}
		for _, h := range y.Holidays {
			he := entry + " holiday " + h.Name
			from, err := workcal.ParseDate(h.From)
			if err != nil {
				c.add(FileCalendar, h.line, he, "from %q: want YYYY-MM-DD", h.From)
				continue
			}
			to := from
			if h.To != "" {
				if to, err = workcal.ParseDate(h.To); err != nil {
					c.add(FileCalendar, h.line, he, "to %q: want YYYY-MM-DD", h.To)
					continue
				}
			}
			switch {
			case to.Compare(from) < 0:
				c.add(FileCalendar, h.line, he, "ends before it starts")
				continue
			case to.Compare(from.AddDays(60)) > 0:
				c.add(FileCalendar, h.line, he, "longer than 60 days")
				continue
			case from.Year != y.Year || to.Year != y.Year:
				c.add(FileCalendar, h.line, he, "dates must lie in %d", y.Year)
			}
			for d := from; d.Compare(to) <= 0; d = d.AddDays(1) {
				if other, dup := holiday[d]; dup {
					c.add(FileCalendar, h.line, he, "%v is already a holiday (%s)", d, other)
				}
				holiday[d] = h.Name
			}
		}
		for _, w := range y.WorkingDays {
			we := entry + " working day " + w.Name
			d, err := workcal.ParseDate(w.Date)
			switch {
			case err != nil:
				c.add(FileCalendar, w.line, we, "date %q: want YYYY-MM-DD", w.Date)
			case d.Year != y.Year:
				c.add(FileCalendar, w.line, we, "date must lie in %d", y.Year)
			case holiday[d] != "":
				c.add(FileCalendar, w.line, we, "%v is also a holiday (%s)", d, holiday[d])
			case d.Weekday() != time.Saturday && d.Weekday() != time.Sunday:
				c.add(FileCalendar, w.line, we, "%v is a %v: make-up working days are weekend days", d, d.Weekday())
			}
		}
	}
	switch {
	case len(f.Years) == 0:
		c.add(FileCalendar, 0, "", "no years")
	case lastConfirmed == 0:
		c.add(FileCalendar, 0, "", "no confirmed (non-provisional) year")
	case firstProvisional != 0 && firstProvisional < lastConfirmed:
		c.add(FileCalendar, 0, "", "provisional year %d comes before confirmed year %d", firstProvisional, lastConfirmed)
	}
	// workcal checks the same things; report its error only if ours missed
	// something, so one mistake is not reported twice.
	if len(c.problems) == before && s.calErr != nil {
		c.add(FileCalendar, 0, "", "%v", s.calErr)
	}
}
