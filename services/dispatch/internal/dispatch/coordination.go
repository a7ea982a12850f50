package dispatch

import (
	"context"
	"time"

	"github.com/gridflow/gridflow/pkg/fault"
	"github.com/gridflow/gridflow/pkg/freetext"
	"github.com/gridflow/gridflow/pkg/policy"
)

// Source place coordination (issue 20, 联勤联动). classify links incidents of
// different subjects at one place to a source place and a dispatcher names
// its lead unit; dispatch links the tasks of those incidents under the
// place. Nothing is reassigned: each task stays with the unit holding the
// power, and the lead coordinates — it reads the linked tasks and their
// cases (masked) while the place is open (pkg/policy's Leads), and acts on
// its own tasks only. A task is linked through its case (the incident's
// primary), so one dispatched after the link is linked as it is created.

// Coordination is a source place as dispatch knows it.
type Coordination struct {
	SourcePlaceID    string
	Version          int64
	Lead             string
	Open             bool
	PlaceKey         string
	District, Street string
	UpdatedAt        time.Time
	// IncidentIDs are the incidents linked to the place.
	IncidentIDs []string
}

// Leads are the units a case's facts gain for reads: the lead of the open
// place coordinating it.
func (c *Coordination) Leads() []string {
	if c == nil || !c.Open || c.Lead == "" {
		return nil
	}
	return []string{c.Lead}
}

// CoordinatedTask is one linked task with what a coordinator needs of its
// incident.
type CoordinatedTask struct {
	Task       *Task
	IncidentID string
	ItemCode   string
}

// LinkedIncident is one incident of a source place with the case holding
// its tasks.
type LinkedIncident struct {
	IncidentID, PrimaryCaseID, ItemCode string
}

// CoordinationChange is what classify's events tell dispatch about a place:
// an incident linked (Version 0: the lead is not touched), or the lead
// event's whole coordination.
type CoordinationChange struct {
	Coordination
	Incidents []LinkedIncident
	At        time.Time
}

// CoordinationStore keeps the coordinations.
type CoordinationStore interface {
	// Coordination reads a place with its linked tasks; NotFound when
	// dispatch has not heard of it.
	Coordination(ctx context.Context, sourcePlaceID string) (*Coordination, []CoordinatedTask, error)
	// CoordinationOfCases maps case ids to the coordination of the place
	// each one's incident is linked to (cases with none are absent).
	CoordinationOfCases(ctx context.Context, caseIDs []string) (map[string]*Coordination, error)
}

// OpGetCoordination is CoordinationService's read.
const OpGetCoordination = "GetCoordination"

// WithCoordination lets the service read coordinations (issue 20); without
// it tasks show none and GetCoordination finds nothing.
func (s *Service) WithCoordination(cs CoordinationStore) *Service {
	s.coord = cs
	return s
}

// coordinationOf is the coordination of a case, nil for none.
func (s *Service) coordinationOf(ctx context.Context, caseID string) (*Coordination, error) {
	if s.coord == nil {
		return nil, nil
	}
	m, err := s.coord.CoordinationOfCases(ctx, []string{caseID})
	if err != nil {
		return nil, err
	}
	return m[caseID], nil
}

// Coordinations maps tasks' cases to their coordinations, for the answers
// of GetTask and ListTasks.
func (s *Service) Coordinations(ctx context.Context, tasks ...*Task) (map[string]*Coordination, error) {
	if s.coord == nil || len(tasks) == 0 {
		return nil, nil
	}
	ids := make([]string, 0, len(tasks))
	for _, t := range tasks {
		ids = append(ids, t.CaseID)
	}
	return s.coord.CoordinationOfCases(ctx, ids)
}

// GetCoordination lists a source place's linked tasks with their holders,
// states and clocks: for the lead unit of the open place, the street's
// dispatchers, the district and admin. A scoped caller gets the same
// refusal for a place outside its reach and one dispatch never heard of.
func (s *Service) GetCoordination(ctx context.Context, sourcePlaceID string) (*Coordination, []CoordinatedTask, error) {
	_, sc, err := policy.Authorize(ctx, policy.Method(policy.CoordinationService, OpGetCoordination))
	if err != nil {
		return nil, nil, err
	}
	var v fault.Violations
	if sourcePlaceID == "" {
		v.Add("source_place_id", "is required")
	}
	freetext.Code("source_place_id", sourcePlaceID, 64, &v)
	if err := v.Err(); err != nil {
		return nil, nil, err
	}
	what := "source place " + sourcePlaceID
	if s.coord == nil {
		return nil, nil, sc.Missing(what, fault.NotFoundf("sourcePlaces/"+sourcePlaceID, "no source place %q", sourcePlaceID))
	}
	co, tasks, err := s.coord.Coordination(ctx, sourcePlaceID)
	if fault.KindOf(err) == fault.NotFound {
		return nil, nil, sc.Missing(what, err)
	}
	if err != nil {
		return nil, nil, err
	}
	if !sc.AllowsCase(policy.CaseFacts{District: co.District, Street: co.Street, Leads: co.Leads()}) {
		return nil, nil, policy.ErrDenied(what)
	}
	return co, tasks, nil
}
