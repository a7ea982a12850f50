// Package reference is gridflow's reference data — areas (codes, grid
// polygons, an address index), the catalogue (urban-management and hotline
// trees), the enforcement-power vocabulary, departments, routing rules (the
// 责任清单), SLA profiles and the working calendar — loaded as one validated
// Set.
//
// Reference data is configuration as data: YAML files whose shipped defaults
// (the 静安区 demo) are embedded from defaults/, any of which a city replaces
// by putting a file of the same name in a directory (GRIDFLOW_REFERENCE_DIR,
// see LoadDir). Every service loads the same set at start and on SIGHUP, and
// logs its Digest. README.md documents the schema of each file.
//
// One loader validates the whole set — formats, parents, cross-file
// references, overlapping grids, rules that send an item needing a power to a
// department without it, shadowed rules, missing fallbacks — and reports every
// problem at once (a *ValidationError). A loaded Set is immutable and safe for
// concurrent use; reloading builds a new Set.
//
// Rule parsing and validation, SLA resolution and (through pkg/workcal) the
// working calendar live here because several services and gridctl need them;
// the routing decision itself belongs to dispatch.
package reference

import (
	"bytes"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/gridflow/gridflow/pkg/workcal"
)

// The files of a reference set, in load (and report) order.
const (
	FilePowers      = "powers.yaml"
	FileAreas       = "areas.yaml"
	FileCatalogue   = "catalogue.yaml"
	FileDepartments = "departments.yaml"
	FileCalendar    = "calendar.yaml"
	FileSLA         = "sla.yaml"
	FileRules       = "rules.yaml"
	FileGridWorkers = "gridworkers.yaml"
	// The three lists (issue 20): the needs survey's categories and the
	// service list.
	FileServiceCategories = "servicecategories.yaml"
	FileServices          = "services.yaml"
)

// Files lists every file of a set, in load order.
var Files = []string{FilePowers, FileAreas, FileCatalogue, FileDepartments, FileCalendar, FileSLA, FileRules, FileGridWorkers,
	FileServiceCategories, FileServices} // the three lists (issue 20)

//go:embed defaults/*.yaml
var embedded embed.FS

// DefaultFS is the shipped default set (the 静安区 demo), one file per name in
// Files.
func DefaultFS() fs.FS {
	sub, err := fs.Sub(embedded, "defaults")
	if err != nil {
		panic(err) // the embed pattern guarantees the directory
	}
	return sub
}

// LoadDefault loads the shipped defaults.
func LoadDefault() (*Set, error) { return Load(DefaultFS()) }

// LoadDir loads a city's set: each file present in dir replaces the default
// of the same name, the others come from the defaults (a city may replace
// only rules.yaml). A *.yaml file in dir that is not a reference file is a
// problem, since a misspelt name would otherwise silently leave the default in
// force.
func LoadDir(dir string) (*Set, error) {
	st, err := os.Stat(dir)
	if err != nil {
		return nil, fmt.Errorf("reference: %w", err)
	}
	if !st.IsDir() {
		return nil, fmt.Errorf("reference: %s is not a directory", dir)
	}
	s, err := load(overlay{top: os.DirFS(dir), base: DefaultFS()}, func(c *checker) {
		entries, _ := os.ReadDir(dir)
		for _, e := range entries {
			if strings.HasSuffix(e.Name(), ".yaml") || strings.HasSuffix(e.Name(), ".yml") {
				if !isFile(e.Name()) {
					c.add(e.Name(), 0, "", "not a reference file (want one of %s)", strings.Join(Files, ", "))
				}
			}
		}
	})
	if s != nil {
		for _, f := range Files {
			if _, err := os.Stat(path.Join(dir, f)); err == nil {
				s.sources[f] = dir
			}
		}
	}
	return s, err
}

func isFile(name string) bool {
	for _, f := range Files {
		if f == name {
			return true
		}
	}
	return false
}

// Load loads and validates the set whose files are at the root of fsys. Every
// file must be present. On failure the error is a *ValidationError listing
// every problem.
func Load(fsys fs.FS) (*Set, error) { return load(fsys, nil) }

// overlay reads a name from top, falling back to base when top lacks it.
type overlay struct{ top, base fs.FS }

func (o overlay) Open(name string) (fs.File, error) {
	f, err := o.top.Open(name)
	if errors.Is(err, fs.ErrNotExist) {
		return o.base.Open(name)
	}
	return f, err
}

func load(fsys fs.FS, extra func(*checker)) (*Set, error) {
	c := &checker{broken: map[string]bool{}}
	if extra != nil {
		extra(c)
	}
	s := &Set{sources: map[string]string{}, docs: map[string]*yaml.Node{}}
	h := sha256.New()
	for _, name := range Files {
		s.sources[name] = "default"
		data, err := fs.ReadFile(fsys, name)
		if err != nil {
			c.add(name, 0, "", "cannot read: %v", err)
			c.broken[name] = true
			continue
		}
		// Length-prefixed so that moving bytes between files changes the digest.
		fmt.Fprintf(h, "%s %d\n", name, len(data))
		h.Write(data)
		var into any
		switch name {
		case FilePowers:
			into = &s.raw.powers
		case FileAreas:
			into = &s.raw.areas
		case FileCatalogue:
			into = &s.raw.catalogue
		case FileDepartments:
			into = &s.raw.departments
		case FileCalendar:
			into = &s.raw.calendar
		case FileSLA:
			into = &s.raw.sla
		case FileRules:
			into = &s.raw.rules
		case FileGridWorkers:
			into = &s.raw.gridWorkers
		// The three lists (issue 20).
		case FileServiceCategories:
			into = &s.raw.serviceCategories
		case FileServices:
			into = &s.raw.services
		}
		doc, ok := decode(c, name, data, into)
		if !ok {
			c.broken[name] = true
			continue
		}
		s.docs[name] = doc
	}
	s.digest = "sha256:" + hex.EncodeToString(h.Sum(nil))
	s.broken = c.broken
	s.assignLines()
	s.build(c)
	if len(c.problems) == 0 {
		if err := s.Validate(); err != nil {
			return nil, err
		}
		return s, nil
	}
	// Problems found while decoding and building come first in their files;
	// Validate's are added so that one run shows everything.
	var ve *ValidationError
	if err := s.validate(); errors.As(err, &ve) {
		c.problems = append(c.problems, ve.Problems...)
	}
	return nil, c.err()
}

// decode parses one file strictly (unknown fields are problems) and returns
// its node tree for line numbers. ok is false when the file cannot be used at
// all.
func decode(c *checker, name string, data []byte, into any) (*yaml.Node, bool) {
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		line, msg := splitYAMLError(err.Error())
		c.add(name, line, "", "%s", msg)
		return nil, false
	}
	if len(doc.Content) == 0 {
		c.add(name, 0, "", "empty file")
		return nil, false
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	err := dec.Decode(into)
	var te *yaml.TypeError
	switch {
	case errors.As(err, &te):
		// Type errors leave the rest of the file decoded: report each and go on.
		for _, e := range te.Errors {
			line, msg := splitYAMLError(e)
			c.add(name, line, "", "%s", msg)
		}
	case errors.Is(err, io.EOF):
		c.add(name, 0, "", "empty file")
		return nil, false
	case err != nil:
		line, msg := splitYAMLError(err.Error())
		c.add(name, line, "", "%s", msg)
		return nil, false
	}
	if doc.Content[0].Kind != yaml.MappingNode {
		c.add(name, doc.Content[0].Line, "", "the top level must be a mapping")
		return nil, false
	}
	return &doc, true
}

// Set is one loaded, validated reference set. Its methods never modify it;
// slices they return are copies or must be treated as read-only where the
// documentation says so.
type Set struct {
	digest  string
	sources map[string]string
	broken  map[string]bool
	docs    map[string]*yaml.Node

	raw struct {
		powers      powersFile
		areas       areasFile
		catalogue   catalogueFile
		departments departmentsFile
		calendar    calendarFile
		sla         slaFile
		rules       rulesFile
		gridWorkers gridWorkersFile
		// The three lists (issue 20).
		serviceCategories serviceCategoriesFile
		services          servicesFile
	}

	powers
	areaIndex
	catalogue
	departments
	calendar
	slaConfig
	rules []Rule
	gridWorkers
	serviceList // the three lists (issue 20)
}

// Digest is a content hash of the set's files ("sha256:<hex>"), for logging
// which set a service runs with: two services with equal digests route alike.
func (s *Set) Digest() string { return s.digest }

// Source says where a file of the set came from: "default" or the directory
// given to LoadDir.
func (s *Set) Source(file string) string { return s.sources[file] }

// Calendar is the working calendar of the set.
func (s *Set) Calendar() *workcal.Calendar { return s.cal }

// Validate checks the whole set and returns a *ValidationError listing every
// problem, or nil. The loader calls it; a loaded Set always passes.
func (s *Set) Validate() error { return s.validate() }

func (s *Set) validate() error {
	c := &checker{broken: s.broken}
	s.checkPowers(c)
	s.checkAreas(c)
	s.checkCatalogue(c)
	s.checkDepartments(c)
	s.checkCalendar(c)
	s.checkSLA(c)
	s.checkRules(c)
	s.checkGridWorkers(c)
	// The three lists (issue 20).
	s.checkServiceCategories(c)
	s.checkServices(c)
	return c.err()
}

// build turns the decoded files into indexes. It tolerates bad data (the
// first of duplicate codes wins, unparsable values are skipped) and reports
// only what Validate cannot see in the indexes: values that do not parse.
func (s *Set) build(c *checker) {
	s.buildPowers()
	s.buildAreas(c)
	s.buildCatalogue(c)
	s.buildDepartments()
	s.buildCalendar(c)
	s.buildSLA(c)
	s.buildRules(c)
	s.buildGridWorkers()
	s.buildServiceList() // the three lists (issue 20)
}

// Check validates the set a city would load from dir (its files over the
// defaults) and returns a human report: for gridctl reference check DIR. The
// report is useful on failure too (where each file came from); err is the
// *ValidationError.
func Check(dir string) (report string, err error) {
	s, err := LoadDir(dir)
	var b strings.Builder
	if err != nil {
		var ve *ValidationError
		if !errors.As(err, &ve) {
			return "", err
		}
		fmt.Fprintf(&b, "reference set in %s: %d problem(s)\n", dir, len(ve.Problems))
		for _, p := range ve.Problems {
			fmt.Fprintf(&b, "  %s\n", p.Error())
		}
		b.WriteString("files:\n")
		for _, f := range Files {
			src := "default"
			if _, e := os.Stat(path.Join(dir, f)); e == nil {
				src = dir
			}
			fmt.Fprintf(&b, "  %-17s %s\n", f, src)
		}
		return b.String(), err
	}
	fmt.Fprintf(&b, "reference set in %s: OK\n", dir)
	fmt.Fprintf(&b, "digest: %s\n", s.Digest())
	b.WriteString("files:\n")
	for _, f := range Files {
		fmt.Fprintf(&b, "  %-17s %s\n", f, s.Source(f))
	}
	b.WriteString(s.Summary())
	return b.String(), nil
}

// Summary counts what the set holds, one line per file.
func (s *Set) Summary() string {
	var b strings.Builder
	fmt.Fprintf(&b, "powers:      %d\n", len(s.powerList))
	fmt.Fprintf(&b, "areas:       %d districts, %d streets, %d communities, %d grids, %d address entries\n",
		len(s.byLevel[LevelDistrict]), len(s.byLevel[LevelStreet]), len(s.byLevel[LevelCommunity]),
		len(s.grids), len(s.addrs))
	var items [3][2]int
	for _, it := range s.itemList {
		k := 1
		if it.Class {
			k = 0
		}
		items[it.Tree][k]++
	}
	fmt.Fprintf(&b, "catalogue:   urban %d classes / %d items, hotline %d classes / %d items\n",
		items[TreeUrban][0], items[TreeUrban][1], items[TreeHotline][0], items[TreeHotline][1])
	fmt.Fprintf(&b, "departments: %d\n", len(s.deptList))
	fmt.Fprintf(&b, "calendar:    %s, working hours %v, confirmed through %d\n", s.cal.Location(), s.cal.Hours(), s.cal.LastConfirmedYear())
	fmt.Fprintf(&b, "sla:         %d profiles\n", len(s.profiles))
	fmt.Fprintf(&b, "rules:       %d\n", len(s.rules))
	fmt.Fprintf(&b, "gridworkers: %d\n", len(s.workerList))
	// The three lists (issue 20).
	fmt.Fprintf(&b, "categories:  %d\n", len(s.categoryList))
	fmt.Fprintf(&b, "services:    %d\n", len(s.serviceList.services))
	return b.String()
}
