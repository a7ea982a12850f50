package grpcapi_test

import (
	"testing"

	"google.golang.org/grpc/codes"

	feedbackv1 "github.com/gridflow/gridflow/proto/gen/go/gridflow/feedback/v1"
)

// TestGridWorkerRechecks (issue 20, work tasks): with the register's rule,
// the re-check of a patrol case is the case grid's worker's, whoever
// reported it; where the grid has no worker it stays the reporter's.
func TestGridWorkerRechecks(t *testing.T) {
	e := setup(t)
	e.svc.AssignRechecksBy(refSet.RecheckAssignee)

	// area(zj) is grid 310106022001001, w-022001001's; w-0017 reported it.
	k := e.caseIn("awaiting_recheck")
	// The grid's worker reads the case it re-checks; another worker does not.
	if c, ctx := e.as("patrol:w-022001001"); true {
		if _, err := c.GetCase(ctx, &feedbackv1.GetCaseRequest{CaseId: k.id}); err != nil {
			t.Errorf("the assigned worker reads the case: %v", err)
		}
	}
	if c, ctx := e.as("patrol:w-022001002"); true {
		_, err := c.GetCase(ctx, &feedbackv1.GetCaseRequest{CaseId: k.id})
		code(t, err, codes.PermissionDenied)
	}
	_, err := e.recheckAs("patrol:w-0017", k, true)
	code(t, err, codes.PermissionDenied)
	_, err = e.recheckAs("patrol:w-022001002", k, true)
	code(t, err, codes.PermissionDenied)
	got, err := e.recheckAs("patrol:w-022001001", k, true)
	if err != nil {
		t.Fatal(err)
	}
	if got.GetCase().GetState() != feedbackv1.CaseState_CASE_STATE_CLOSED {
		t.Fatalf("the grid worker's passed re-check: %s, want closed", got.GetCase().GetState())
	}

	// A grid the register does not know: the reporter re-checks.
	e.svc.AssignRechecksBy(func(grid, reporter string) string {
		if grid == "310106022001001" {
			return reporter // as if the grid had no worker
		}
		return refSet.RecheckAssignee(grid, reporter)
	})
	k2 := e.caseIn("awaiting_recheck")
	_, err = e.recheckAs("patrol:w-022001001", k2, true)
	code(t, err, codes.PermissionDenied)
	if _, err := e.recheckAs("patrol:w-0017", k2, false); err != nil {
		t.Fatalf("the reporter's re-check where the grid has no worker: %v", err)
	}
}
