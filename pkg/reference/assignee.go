package reference

// RecheckAssignee is the one rule for who re-checks (核查) a patrol case
// (issue 20): the worker of the case's grid in the grid register, or the
// worker who reported the case where the grid has none (or is unknown).
// dispatch assigns the re-check task by it and feedback admits a worker's
// RecordRecheck by it, so both always agree.
func (s *Set) RecheckAssignee(grid, reporter string) string {
	if w, ok := s.WorkerOfGrid(grid); ok {
		return w.ID
	}
	return reporter
}
