package classify_test

import "testing"

// Self-disposal (issue 20): a report settled on the spot is classified and
// dispatchable as usual (dispatch holds it for the grid leader's check) but
// never grouped, so no later report of the place waits on it as a primary.
func TestSelfDisposedIsNotGrouped(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	settled := h.hotline("门口路面一个大坑", "共和新路1234号")
	settled.SelfDisposed = true
	h.receive(settled)
	later := h.hotline("门口路面一个大坑", "共和新路1234号")
	h.receive(later)
	s, l := h.current(settled.ID), h.current(later.ID)
	if s.ItemCode == "" || !s.Dispatchable || s.IncidentID != "" {
		t.Errorf("self-disposed case: %+v", s)
	}
	if !l.Dispatchable || (l.IncidentID != "" && l.PrimaryCaseID == settled.ID) {
		t.Errorf("a later report joined the self-disposed case: %+v", l)
	}
}
