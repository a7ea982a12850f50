package dispatch

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/gridflow/gridflow/pkg/auth"
	"github.com/gridflow/gridflow/pkg/fault"
	"github.com/gridflow/gridflow/pkg/policy"
	"github.com/gridflow/gridflow/pkg/reference"
)

// TestAccessMatrix is the policy as a matrix: every operation against every
// kind of principal, and the scope a grant gives.
func TestAccessMatrix(t *testing.T) {
	t.Parallel()
	principals := []string{"hotline", "patrol:w1", "secretary:310106022001", "dispatcher:310106022", "district:310106",
		"department:310106022-pcs", "admin", "system:dispatch"}
	readers := map[string]Scope{"dispatcher:310106022": {Kind: policy.Street, Code: "310106022"}, "district:310106": {Kind: policy.District, Code: "310106"},
		"department:310106022-pcs": {Kind: policy.Department, Code: "310106022-pcs"}, "admin": {Kind: policy.All}}
	units := map[string]Scope{"department:310106022-pcs": {Kind: policy.Department, Code: "310106022-pcs"}}
	dispatchers := map[string]Scope{"dispatcher:310106022": {Kind: policy.Street, Code: "310106022"}, "district:310106": {Kind: policy.District, Code: "310106"},
		"admin": {Kind: policy.All}}
	want := map[Operation]map[string]Scope{
		OpGetTask: readers,
		// A grid worker lists its own worker tasks (issue 20, work tasks).
		OpListTasks:       withPatrol(readers),
		OpWatchTasks:      {"department:310106022-pcs": {Kind: policy.Department, Code: "310106022-pcs"}, "admin": {Kind: policy.All}},
		OpAcknowledgeTask: units, OpRejectTask: units, OpForwardTask: units, OpRequestExtension: units,
		OpReportProgress: units, OpCompleteTask: units,
		OpListDispatchQueue: dispatchers, OpListArbitration: dispatchers, OpSimulateRoute: dispatchers,
		OpReassign: dispatchers, OpDecideExtension: dispatchers, OpReviewCompletion: dispatchers, OpSupervise: dispatchers,
		OpArbitrate: dispatchers, OpCancelCase: dispatchers, OpParkCase: dispatchers, OpUnparkCase: dispatchers,
		OpExcludeCase: dispatchers, OpListReferenceReloads: dispatchers,
	}
	var rows int
	for _, m := range policy.Methods() {
		if strings.HasPrefix(m, "/"+policy.DispatchService+"/") {
			rows++
		}
	}
	if len(want) != rows {
		t.Fatalf("the table has %d dispatch operations, the test %d", rows, len(want))
	}
	for op, allowed := range want {
		for _, s := range principals {
			p, err := auth.ParsePrincipal(s)
			if err != nil {
				t.Fatal(err)
			}
			_, sc, err := authorize(auth.WithPrincipal(context.Background(), p), op)
			wantScope, ok := allowed[s]
			switch {
			case ok && err != nil:
				t.Errorf("%s by %s: %v, want allowed", op, s, err)
			case ok && sc != wantScope:
				t.Errorf("%s by %s: scope %+v, want %+v", op, s, sc, wantScope)
			case !ok && fault.KindOf(err) != fault.PermissionDenied:
				t.Errorf("%s by %s: %v, want PERMISSION_DENIED", op, s, err)
			}
		}
		if _, _, err := authorize(context.Background(), op); fault.KindOf(err) != fault.Unauthenticated {
			t.Errorf("%s without a credential: %v, want UNAUTHENTICATED", op, err)
		}
	}
}

// A caller the table refuses is refused before its request is validated
// or any case or task is read: the service here has no store, so reaching
// one would panic.
func TestRefusedBeforeValidationOrReading(t *testing.T) {
	t.Parallel()
	s := New(nil, nil, nil, func() *reference.Set { return refSet }, nil, DefaultPolicy())
	p, _ := auth.ParsePrincipal("department:310106022-pcs")
	ctx := auth.WithPrincipal(context.Background(), p)
	calls := map[Operation]func() error{
		OpReassign:        func() error { _, err := s.Reassign(ctx, ReassignInput{}); return err },
		OpCancelCase:      func() error { _, err := s.CancelCase(ctx, CancelInput{}); return err },
		OpDecideExtension: func() error { _, err := s.DecideExtension(ctx, DecideExtensionInput{}); return err },
		OpSimulateRoute: func() error {
			_, _, err := s.SimulateRoute(ctx, SimulateInput{CaseNumber: "GF-20260302-000001"})
			return err
		},
		OpListArbitration: func() error { _, _, err := s.ListCases(ctx, CaseFilter{Arbitration: true, PageSize: -1}); return err },
		OpListReferenceReloads: func() error {
			_, _, err := s.ListReferenceReloads(ctx, -1, "not a token")
			return err
		},
	}
	d, _ := auth.ParsePrincipal("dispatcher:310106022")
	dctx := auth.WithPrincipal(context.Background(), d)
	calls[OpAcknowledgeTask] = func() error { _, err := s.Acknowledge(dctx, AckInput{}); return err }
	calls[OpGetTask] = func() error {
		_, _, _, err := s.GetTask(auth.WithPrincipal(context.Background(), auth.Principal{Role: auth.RoleHotline}), "x")
		return err
	}
	ops := make([]string, 0, len(calls))
	for op := range calls {
		ops = append(ops, string(op))
	}
	slices.Sort(ops)
	for _, op := range ops {
		t.Run(op, func(t *testing.T) {
			err := calls[Operation(op)]()
			if fault.KindOf(err) != fault.PermissionDenied {
				t.Fatalf("%v, want PERMISSION_DENIED", err)
			}
			if msg := fmt.Sprint(err); !strings.Contains(msg, "may not call DispatchService/"+op) {
				t.Errorf("message %q does not name the operation", msg)
			}
		})
	}
}

// withPatrol is readers and patrol:w1 over its own (issue 20, work tasks).
func withPatrol(readers map[string]Scope) map[string]Scope {
	out := map[string]Scope{"patrol:w1": {Kind: policy.Reporter, Code: "w1"}}
	for k, v := range readers {
		out[k] = v
	}
	return out
}
