package dispatch

import (
	"context"
	"slices"
	"strings"

	"github.com/gridflow/gridflow/pkg/auth"
	"github.com/gridflow/gridflow/pkg/fault"
)

// Who may call what, and over which cases and tasks: one table (access),
// checked in one place (authorize) before a call validates its input or
// reads any case or task. The scope authorize returns is then applied to
// every case and task the call reads or changes (AllowsCase, AllowsTask).
// The access-policy issue replaces this table with pkg's policy.

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

// reach is what a grant covers.
type reach uint8

const (
	// theirTasks: a department's own tasks, and through them their cases.
	theirTasks reach = iota + 1
	// theirStreet: the cases of the street the principal names.
	theirStreet
	// theirDistrict: the cases of the district the principal names.
	theirDistrict
	// everything: admin.
	everything
)

// grant is who may call an operation, and over what.
type grant map[auth.Role]reach

var (
	units       = grant{auth.RoleDepartment: theirTasks}
	dispatchers = grant{auth.RoleDispatcher: theirStreet, auth.RoleDistrict: theirDistrict, auth.RoleAdmin: everything}
	readers     = grant{auth.RoleDepartment: theirTasks, auth.RoleDispatcher: theirStreet, auth.RoleDistrict: theirDistrict,
		auth.RoleAdmin: everything}
)

// access is dispatch's policy: for each operation, the principals that may
// call it and what they may call it over. A role not listed is refused.
var access = map[Operation]grant{
	OpGetTask:   readers,
	OpListTasks: readers,
	// A department watches its own tasks; admin names the department.
	OpWatchTasks: {auth.RoleDepartment: theirTasks, auth.RoleAdmin: everything},

	OpAcknowledgeTask:  units,
	OpRejectTask:       units,
	OpForwardTask:      units,
	OpRequestExtension: units,
	OpReportProgress:   units,
	OpCompleteTask:     units,

	OpListDispatchQueue: dispatchers,
	OpListArbitration:   dispatchers,
	OpSimulateRoute:     dispatchers,
	OpReassign:          dispatchers,
	OpDecideExtension:   dispatchers,
	OpReviewCompletion:  dispatchers,
	OpSupervise:         dispatchers,
	OpArbitrate:         dispatchers,
	OpCancelCase:        dispatchers,
	OpParkCase:          dispatchers,
	OpUnparkCase:        dispatchers,
	OpExcludeCase:       dispatchers,

	// Which rules were in force, and who put them there: for the people
	// answerable for routing.
	OpListReferenceReloads: dispatchers,
}

// authorize checks the caller of op against the table: UNAUTHENTICATED
// without a credential, PERMISSION_DENIED for a principal the table does
// not name. It returns the caller and the scope of its grant.
func authorize(ctx context.Context, op Operation) (auth.Principal, Scope, error) {
	p, ok := auth.FromContext(ctx)
	if !ok {
		return p, Scope{}, fault.New(fault.Unauthenticated, "no credential")
	}
	g := access[op]
	r, ok := g[p.Role]
	if !ok {
		return p, Scope{}, fault.New(fault.PermissionDenied, "%s may not call %s: only %s may", p, op, g)
	}
	switch r {
	case theirTasks:
		return p, Scope{Department: p.Subject}, nil
	case theirStreet:
		return p, Scope{Street: p.Subject}, nil
	case theirDistrict:
		return p, Scope{District: p.Subject}, nil
	}
	return p, Scope{All: true}, nil
}

var placeholder = map[auth.Role]string{auth.RoleDepartment: "department:<code>", auth.RoleDispatcher: "dispatcher:<street>",
	auth.RoleDistrict: "district:<district>", auth.RoleAdmin: "admin"}

// String lists the principals of a grant, for a refusal's message.
func (g grant) String() string {
	var who []string
	for role := range g {
		who = append(who, placeholder[role])
	}
	slices.Sort(who)
	if len(who) == 0 {
		return "nobody"
	}
	return strings.Join(who, ", ")
}

// Scope is what a caller may see and steer.
type Scope struct {
	All        bool   // admin
	Department string // department:<code>: its own tasks
	District   string // district:<district>
	Street     string // dispatcher:<street>
}

// AllowsCase reports whether the scope covers a case.
func (sc Scope) AllowsCase(c *Case) bool {
	switch {
	case sc.All:
		return true
	case sc.Street != "":
		return c.Area.Street == sc.Street
	case sc.District != "":
		return c.Area.District == sc.District || strings.HasPrefix(c.Area.Street, sc.District)
	}
	return false
}

// AllowsTask reports whether the scope covers a task of case c.
func (sc Scope) AllowsTask(t *Task, c *Case) bool {
	if sc.Department != "" {
		return t.Department == sc.Department
	}
	return sc.AllowsCase(c)
}

func denied(what string) error {
	return fault.New(fault.PermissionDenied, "%s is outside the caller's scope", what)
}
