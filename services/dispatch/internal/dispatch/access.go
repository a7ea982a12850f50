package dispatch

import (
	"context"
	"strings"

	"github.com/gridflow/gridflow/pkg/auth"
	"github.com/gridflow/gridflow/pkg/fault"
	"github.com/gridflow/gridflow/pkg/policy"
	"github.com/gridflow/gridflow/pkg/reference"
)

// Who may call what, and over which cases and tasks, is pkg/policy's table,
// enforced by pkg/grpcserver before a call reaches the service. Here the
// service applies the scope the table gives, in one place: authorize names
// it for an operation, inScope checks the case or task a call names before
// anything else about it is looked at (its state, even its existence), and
// the store filters every list with it in SQL.

// Operation is a call to the service, named as its gRPC method; a write's
// operation is also its Request.Method, part of the request's fingerprint.
type Operation string

// Operations.
const (
	OpGetTask           Operation = "GetTask"
	OpListTasks         Operation = "ListTasks"
	OpWatchTasks        Operation = "WatchTasks"
	OpAcknowledgeTask   Operation = "AcknowledgeTask"
	OpRejectTask        Operation = "RejectTask"
	OpForwardTask       Operation = "ForwardTask"
	OpRequestExtension  Operation = "RequestExtension"
	OpReportProgress    Operation = "ReportProgress"
	OpCompleteTask      Operation = "CompleteTask"
	OpListDispatchQueue Operation = "ListDispatchQueue"
	OpListArbitration   Operation = "ListArbitration"
	OpSimulateRoute     Operation = "SimulateRoute"
	OpReassign          Operation = "Reassign"
	OpDecideExtension   Operation = "DecideExtension"
	OpReviewCompletion  Operation = "ReviewCompletion"
	OpSupervise         Operation = "Supervise"
	OpArbitrate         Operation = "Arbitrate"
	OpCancelCase        Operation = "CancelCase"
	OpParkCase          Operation = "ParkCase"
	OpUnparkCase        Operation = "UnparkCase"
	OpExcludeCase       Operation = "ExcludeCase"
	// OpListReferenceReloads reads the service's reference-data loads.
	OpListReferenceReloads Operation = "ListReferenceReloads"
)

// Method is the operation's full gRPC method name, its row in pkg/policy.
func (op Operation) Method() string { return policy.Method(policy.DispatchService, string(op)) }

// Scope is what a caller may see and steer (pkg/policy).
type Scope = policy.Scope

// authorize returns the caller of op and the scope pkg/policy's table gives
// it: UNAUTHENTICATED without a credential, PERMISSION_DENIED for a
// principal the table does not name.
func authorize(ctx context.Context, op Operation) (auth.Principal, Scope, error) {
	return policy.Authorize(ctx, op.Method())
}

// facts are what a scope decides a case on.
func facts(c *Case) policy.CaseFacts {
	f := policy.CaseFacts{District: c.Area.District, Street: c.Area.Street, Community: c.Area.Community, Grid: c.Area.Grid} // Grid: issue 20
	if c.Facts != nil {
		f.Source = string(c.Facts.Source)
	}
	for _, t := range c.Tasks {
		f.Departments = append(f.Departments, t.Department)
	}
	return f
}

// targetName is how the caller named what it asked for, for a refusal that
// says no more than the caller already knew.
func targetName(target Target) string {
	if target.TaskID != "" {
		return "task " + target.TaskID
	}
	return "case " + target.CaseID
}

// inScope checks the scope covers the target: the task when the call names
// one, else the case. Out of scope is policy.ErrDenied, worded like a
// scoped caller's missing case.
func inScope(sc Scope, c *Case, target Target) error {
	if target.TaskID == "" {
		if !sc.AllowsCase(facts(c)) {
			return policy.ErrDenied(targetName(target))
		}
		return nil
	}
	t := c.task(target.TaskID)
	if t == nil || !sc.AllowsTask(t.Department, facts(c)) {
		return sc.Missing(targetName(target), errNoTask(target.TaskID))
	}
	return nil
}

// inScopeLed is inScope for a read, where the leads of the open source
// place coordinating the case read its tasks too (issue 20).
func inScopeLed(sc Scope, c *Case, target Target, leads []string) error {
	f := facts(c)
	f.Leads = leads
	t := c.task(target.TaskID)
	if t == nil || !sc.AllowsTask(t.Department, f) {
		return sc.Missing(targetName(target), errNoTask(target.TaskID))
	}
	return nil
}

// mayName checks a dispatcher may give the case to unit code (Reassign,
// Arbitrate): a street dispatcher names units serving its own street (the
// street's units, and the district bureaus over it); giving a case to
// another street's unit is the district's. A district names units serving
// its district. An unknown code is left to the lever (INVALID_ARGUMENT).
func mayName(sc Scope, ref *reference.Set, code string) error {
	if sc.Kind != policy.Street && sc.Kind != policy.District {
		return nil
	}
	d, ok := ref.Department(code)
	if !ok {
		return nil
	}
	for _, a := range d.Areas {
		if strings.HasPrefix(sc.Code, a) || strings.HasPrefix(a, sc.Code) {
			return nil
		}
	}
	if sc.Kind == policy.Street {
		return fault.New(fault.PermissionDenied, "%s does not serve street %s: giving a case to another street's unit is the district's (district:%s)",
			code, sc.Code, districtOf(sc.Code))
	}
	return fault.New(fault.PermissionDenied, "%s does not serve district %s", code, sc.Code)
}

// districtOf is the district of a street code (codes nest: 6 digits, then 3).
func districtOf(street string) string { return street[:min(6, len(street))] }
