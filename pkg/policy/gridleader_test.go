package policy_test

import (
	"testing"

	"github.com/gridflow/gridflow/pkg/auth"
	"github.com/gridflow/gridflow/pkg/fault"
	"github.com/gridflow/gridflow/pkg/policy"
)

// Self-disposal (issue 20): a grid's leader reaches the cases of its grid,
// its grid alone as an area, and checks self-disposals there.
func TestGridLeaderScope(t *testing.T) {
	t.Parallel()
	const grid = "310106022001001"
	p := principal(t, "gridleader:"+grid)
	sc := policy.ScopeOf(p)
	if sc != (policy.Scope{Kind: policy.Grid, Code: grid}) {
		t.Fatalf("ScopeOf = %v", sc)
	}
	in := policy.CaseFacts{Source: "patrol", District: "310106", Street: "310106022", Community: "310106022001", Grid: grid, Worker: "w-022001001"}
	out := in
	out.Grid = "310106022001002"
	if !sc.AllowsCase(in) || sc.AllowsCase(out) || sc.AllowsCase(policy.CaseFacts{Street: "310106022"}) {
		t.Errorf("AllowsCase: in %v, out %v", sc.AllowsCase(in), sc.AllowsCase(out))
	}
	if !sc.AllowsArea(grid) || sc.AllowsArea("310106022001") || sc.AllowsArea("") || sc.AllowsArea("310106022001002") {
		t.Error("AllowsArea: a grid leader's area is its grid alone")
	}
	var args []any
	arg := func(v any) string { args = append(args, v); return "$" + string(rune('0'+len(args))) }
	if got := sc.Where(policy.Columns{Street: "street", Grid: "grid_code"}, arg); got != "grid_code = $1" || len(args) != 1 || args[0] != grid {
		t.Errorf("Where = %q %v", got, args)
	}
	if got := sc.Where(policy.Columns{Street: "street"}, arg); got != "FALSE" {
		t.Errorf("Where without a grid column = %q, want FALSE", got)
	}
	for _, rpc := range []string{"ListSelfDisposals", "CheckSelfDisposal", "GetSelfDisposalFigures"} {
		if _, err := policy.Check(p, policy.Method(policy.SelfDisposalService, rpc)); err != nil {
			t.Errorf("%s: %v", rpc, err)
		}
		if _, err := policy.Check(principal(t, "patrol:w-022001001"), policy.Method(policy.SelfDisposalService, rpc)); fault.KindOf(err) != fault.PermissionDenied {
			t.Errorf("%s as a worker: %v, want PERMISSION_DENIED", rpc, err)
		}
	}
	for _, rpc := range []string{"GetCase", "ListCases", "GetCaseTimeline"} {
		if _, err := policy.Check(p, policy.Method(policy.FeedbackService, rpc)); err != nil {
			t.Errorf("%s: %v", rpc, err)
		}
	}
	for _, m := range []string{policy.Method(policy.IntakeService, "ReadContact"), policy.Method(policy.DispatchService, "Reassign"),
		policy.Method(policy.FeedbackService, "GetMetrics")} {
		if _, err := policy.Check(auth.Principal{Role: auth.RoleGridLeader, Subject: grid}, m); fault.KindOf(err) != fault.PermissionDenied {
			t.Errorf("%s: %v, want PERMISSION_DENIED", m, err)
		}
	}
}
