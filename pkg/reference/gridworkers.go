package reference

import (
	"regexp"
	"slices"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/gridflow/gridflow/pkg/notify"
)

// WorkerRole is what a grid worker does in its grids.
type WorkerRole string

// Worker roles (gridworkers.yaml).
const (
	// RoleWorker (网格员) patrols its grids, re-checks and inspects there; it
	// acts as patrol:<id>.
	RoleWorker WorkerRole = "worker"
	// RoleLeader (网格长) checks what the workers of its grids settled on the
	// spot; it acts as gridleader:<grid> for each grid it leads.
	RoleLeader WorkerRole = "leader"
)

// GridWorker is one person of the grid register: staff data, never a
// resident's.
type GridWorker struct {
	ID    string // the patrol:<id> credential's name for a worker
	Name  string
	Role  WorkerRole
	Grids []string
	// Notify is where its notifications go (a webhook URL); "" for none.
	Notify string
}

// Covers reports whether the person covers a grid.
func (w GridWorker) Covers(grid string) bool { return slices.Contains(w.Grids, grid) }

type gridWorkersFile struct {
	Workers []rawGridWorker `yaml:"workers"`
}

type rawGridWorker struct {
	ID     string     `yaml:"id"`
	Name   string     `yaml:"name"`
	Role   WorkerRole `yaml:"role"`
	Grids  []string   `yaml:"grids"`
	Notify string     `yaml:"notify"`
	line   int
}

func (f *gridWorkersFile) setLines(doc *yaml.Node) {
	l := seqLines(doc, "workers")
	for i := range f.Workers {
		f.Workers[i].line = lineOf(l, i)
	}
}

type gridWorkers struct {
	workerByID   map[string]*GridWorker
	workerList   []*GridWorker
	workerOfGrid map[string]*GridWorker // grid → its worker
	leaderOfGrid map[string]*GridWorker // grid → its leader
}

var workerID = regexp.MustCompile(`^[a-z0-9][a-z0-9-]{0,63}$`)

func (s *Set) buildGridWorkers() {
	s.workerByID = map[string]*GridWorker{}
	s.workerOfGrid = map[string]*GridWorker{}
	s.leaderOfGrid = map[string]*GridWorker{}
	for _, r := range s.raw.gridWorkers.Workers {
		if _, dup := s.workerByID[r.ID]; dup {
			continue
		}
		w := &GridWorker{ID: r.ID, Name: r.Name, Role: r.Role, Grids: r.Grids, Notify: r.Notify}
		s.workerByID[r.ID] = w
		s.workerList = append(s.workerList, w)
		of := s.workerOfGrid
		if w.Role == RoleLeader {
			of = s.leaderOfGrid
		}
		for _, g := range w.Grids {
			if _, dup := of[g]; !dup {
				of[g] = w
			}
		}
	}
}

func (s *Set) checkGridWorkers(c *checker) {
	if c.broken[FileGridWorkers] {
		return
	}
	seen := map[string]bool{}
	taken := map[WorkerRole]map[string]string{RoleWorker: {}, RoleLeader: {}}
	for _, r := range s.raw.gridWorkers.Workers {
		entry := "worker " + r.ID
		switch {
		case !workerID.MatchString(r.ID):
			c.add(FileGridWorkers, r.line, entry, "id must be lower-case letters, digits and dashes, at most 64 (w-0017)")
		case seen[r.ID]:
			c.add(FileGridWorkers, r.line, entry, "duplicate id")
		}
		seen[r.ID] = true
		if strings.TrimSpace(r.Name) == "" {
			c.add(FileGridWorkers, r.line, entry, "no name")
		}
		if r.Role != RoleWorker && r.Role != RoleLeader {
			c.add(FileGridWorkers, r.line, entry, "role must be worker or leader")
		}
		if len(r.Grids) == 0 {
			c.add(FileGridWorkers, r.line, entry, "covers no grid")
		}
		for _, g := range r.Grids {
			if !c.broken[FileAreas] {
				if _, ok := s.Grid(g); !ok {
					c.add(FileGridWorkers, r.line, entry, "unknown grid %q", g)
					continue
				}
			}
			if by, ok := taken[r.Role]; ok {
				if other, dup := by[g]; dup && other != r.ID {
					c.add(FileGridWorkers, r.line, entry, "grid %s already has %s %s", g, r.Role, other)
				}
				by[g] = r.ID
			}
		}
		if r.Notify != "" {
			if err := notify.CheckURL(r.Notify); err != nil {
				c.add(FileGridWorkers, r.line, entry, "notify: %v", err)
			}
		}
	}
}

// GridWorker returns a person of the grid register by id.
func (s *Set) GridWorker(id string) (GridWorker, bool) {
	w, ok := s.workerByID[id]
	if !ok {
		return GridWorker{}, false
	}
	return *w, true
}

// WorkerOfGrid returns the worker (网格员) of a grid: who re-checks and
// inspects there. ok is false for a grid without one.
func (s *Set) WorkerOfGrid(grid string) (GridWorker, bool) {
	w, ok := s.workerOfGrid[grid]
	if !ok {
		return GridWorker{}, false
	}
	return *w, true
}

// LeaderOfGrid returns the leader (网格长) of a grid: who checks its
// self-disposals. ok is false for a grid without one.
func (s *Set) LeaderOfGrid(grid string) (GridWorker, bool) {
	w, ok := s.leaderOfGrid[grid]
	if !ok {
		return GridWorker{}, false
	}
	return *w, true
}

// GridWorkers lists the register in file order (read-only).
func (s *Set) GridWorkers() []*GridWorker { return s.workerList }
