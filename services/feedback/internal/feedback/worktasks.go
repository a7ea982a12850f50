package feedback

import "github.com/gridflow/gridflow/pkg/policy"

// Issue 20 (work tasks): events on feedback's subjects that are no case's
// work. The consumer acknowledges them without keeping them in a case's
// log; the types exist so that every payload decodes to a fact of its name.

// PlaceUpserted: classify registered or changed a place.
type PlaceUpserted struct{}

// InspectionRecorded: a grid worker recorded an inspection.
type InspectionRecorded struct{}

// InspectionMissed: an inspection's period passed with nothing recorded.
type InspectionMissed struct{}

func (f *PlaceUpserted) apply(*Case, *Event)      {}
func (f *InspectionRecorded) apply(*Case, *Event) {}
func (f *InspectionMissed) apply(*Case, *Event)   {}

// AssignRechecksBy sets the rule naming who re-checks a patrol case:
// reference.RecheckAssignee, the one rule dispatch assigns re-check tasks
// by. Without it the reporting worker re-checks (the rule before issue 20).
func (s *Service) AssignRechecksBy(assignee func(grid, reporter string) string) {
	s.assignee = assignee
}

// mayRecheck admits a RecordRecheck: a grid worker (its reporter's scope)
// when the case is a patrol case assigned to it — the worker of the case's
// grid, or the reporter where the grid has none —; anyone else within its
// scope.
func (s *Service) mayRecheck(sc policy.Scope, worker, what string, c *Case, err error) error {
	if sc.Kind != policy.Reporter || err != nil {
		return within(sc, what, c, err)
	}
	assignee := c.Worker
	if s.assignee != nil {
		assignee = s.assignee(c.Area.Grid, c.Worker)
	}
	if c.Source != Patrol || assignee != worker {
		return policy.ErrDenied(what)
	}
	return nil
}

// readable is within for one case read (GetCase, its timeline, its
// replies), and admits a grid worker to the patrol cases assigned to it for
// re-checking (DESIGN.md: patrol reads "the re-checks assigned to it").
// ListCases stays narrowed to the worker's own reports.
func (s *Service) readable(sc policy.Scope, what string, c *Case, err error) error {
	if sc.Kind == policy.Reporter && err == nil && s.assignee != nil && c.Source == Patrol && sc.Code != "" &&
		s.assignee(c.Area.Grid, c.Worker) == sc.Code {
		return nil
	}
	return within(sc, what, c, err)
}
