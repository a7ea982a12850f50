package e2e

import (
	"path/filepath"
	"testing"
)

// TestNeighbourhoodLedger is issue 20's proof as one story on one stack:
// the parts' stories (ledger_*_test.go) run in turn against the same
// services, databases and stream, each on places and people of its own, so
// each also proves the others' events do not disturb it.
//
//   - places: a street's register imported, a patrol finding, a place's
//     history by address, lane and time range (a private home at lane level);
//   - coordination: a shop with five reports of different subjects becomes
//     one source place with one lead, its tasks held by their power holders;
//   - self-disposal: a worker settles a report on the spot, the grid's
//     leader confirms it (never dispatched) and sends another back;
//   - worker tasks: an assigned re-check completed on time, an inspection
//     coming due and recorded, another missed and counted;
//   - lists: a survey import ranks a community's needs and lists the one no
//     service answers first; the month's export;
//   - warnings: a rising place raises one warning, dismissed once and not
//     repeated until it rises a further step.
func TestNeighbourhoodLedger(t *testing.T) {
	s := startStack(t, "intake", "classify", "dispatch", "feedback")
	// The console on this stack's services, as the coordination and
	// warnings parts read it (consoleWired).
	s.env = append(s.env, "FEEDBACK_GRPC_ADDR="+s.addrs["feedback"], "DISPATCH_GRPC_ADDR="+s.addrs["dispatch"],
		"CLASSIFY_GRPC_ADDR="+s.addrs["classify"], "INTAKE_GRPC_ADDR="+s.addrs["intake"])
	s.start(t, "console", filepath.Join(s.bin, "console"))
	s.waitReady(t, "console")
	if !consoleWired(s) {
		t.Fatal("the console is not wired to this stack")
	}
	for _, part := range []struct {
		name  string
		story func(*testing.T, *stack)
	}{
		{"places", ledgerPlacesStory},
		{"coordination", ledgerCoordStory},
		{"self-disposal", ledgerSelfDisposalStory},
		{"worker tasks", ledgerWorkTasksStory},
		{"lists", ledgerListsStory},
		{"warnings", ledgerWarningsStory},
	} {
		if !t.Run(part.name, func(t *testing.T) { part.story(t, s) }) {
			t.Fatalf("the ledger's story stops at %s", part.name)
		}
	}
}
