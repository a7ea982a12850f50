// Package policy is who may see and do what in gridflow (DESIGN.md "Who may
// see and do what"): one table, role × RPC → allowed and over which scope,
// for every RPC of every service, and the Scope type whose predicates every
// service (and the console's doors and live feed) filters with.
//
// Enforcement has one shape everywhere. pkg/grpcserver's interceptor looks
// the called method up after authentication: a method missing from the
// table is refused (PERMISSION_DENIED; health and reflection are the only
// open methods), a role the row does not name is PERMISSION_DENIED naming
// who may, and otherwise the caller's Scope goes into the context
// (WithScope). Each service then applies that scope in the one place where
// it loads cases, before anything else about the case is looked at:
//
//   - a scoped caller asking for a case outside its scope and one asking for
//     a case that does not exist get the same PERMISSION_DENIED (ErrDenied's
//     wording), so it learns nothing, not even whether the case exists;
//     admin (Scope.All) gets NOT_FOUND for a missing case;
//   - lists are filtered by the scope in SQL (Scope.Where), never by
//     fetching a page and filtering it;
//   - streams send only the items whose case the scope covers;
//   - figures are computed only over areas (and a department) inside the
//     scope, and the hotline's only over hotline-sourced cases.
//
// Reaches (DESIGN.md's table):
//
//   - hotline: hotline-sourced cases.
//   - dispatcher:<street>: the cases of its street.
//   - district:<district>: the cases of its district — including those
//     whose street is unknown ("" or "0"), which routing sends to the
//     district's desk — and the cases whose district is unknown too, which
//     routing sends to the reference set's only district. (A city of several
//     districts cannot route those; they wait in the dispatch queue, and
//     every district desk sees them so that one of them can place them.)
//   - department:<code>: its own tasks and, through them, the cases behind
//     them (never other cases): every case it holds or held a task on — a
//     rejected or withdrawn task too, so that what it worked on stays
//     readable to it (masked; the full contact needs an open task). It acts
//     on its own tasks only.
//     Extended by issue 20 (source place coordination, 联勤联动): the lead
//     unit a dispatcher named for an open source place also reads the tasks
//     of the place's linked incidents and the cases behind them, masked
//     (CaseFacts.Leads, which a service fills only on reads). It still acts
//     on its own tasks only: every other task stays with the unit holding
//     the power, and the lead coordinates.
//   - secretary:<community>: the cases of its community, which include
//     every issue it raised (an issue's community is the credential's).
//   - patrol:<worker>: its own reports, and its own worker tasks (issue 20):
//     the re-checks assigned to it — by reference.RecheckAssignee, the
//     worker of the case's grid, else the reporter — and its inspections
//     (dispatch's WorkerTaskService answers only the caller's tasks;
//     feedback's RecordRecheck admits the assignee of the case).
//   - admin: all.
//   - public:<key>: the public-source cases, every key's (issue 19: what
//     the Open311 door shows anyone; 12345 and every other door's cases are
//     never public). The door answers them street-level and masked.
//   - gridleader:<grid> (issue 20, self-disposal): the cases of its grid —
//     a grid's leader (网格长) reads them (masked: DESIGN.md names no grid
//     leader among the contact's readers) and checks the self-disposals of
//     its grid's workers (feedback's SelfDisposalService); it acts on nothing
//     else. Areas: its grid alone (AllowsArea), which lists and figures
//     narrowed to an area are checked against. Only stores that keep a
//     case's grid (intake's submissions, feedback's cases) can filter by it;
//     elsewhere its Where is FALSE.
//   - system:<service>: nothing. system is for one service calling another
//     and no service calls another today; a row naming it is a decision to
//     write down here first.
//
// Settled by issue 14: a street dispatcher steers only its street's cases
// and gives them (Reassign, Arbitrate) only to units serving its street —
// the street's own units and the district bureaus over it; handing a case to
// another street's unit is the district's. dispatch, which knows the units,
// enforces that part. A department reads a case through dispatch (GetTask)
// and feedback (GetCase), never through intake's submissions, which hold the
// caller's contact.
package policy

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/gridflow/gridflow/pkg/auth"
	"github.com/gridflow/gridflow/pkg/fault"
)

// Kind is what a scope reaches.
type Kind uint8

// Kinds of scope, one per role of DESIGN.md.
const (
	None       Kind = iota // the zero Scope: nothing
	All                    // admin
	Hotline                // hotline-sourced cases
	Street                 // dispatcher:<street>
	District               // district:<district>, with the cases of unknown district
	Department             // department:<code>: its tasks and their cases
	Community              // secretary:<community>
	Reporter               // patrol:<worker>: its own reports
	Public                 // public:<key>: the public-source cases (Open311, issue 19)
	Grid                   // gridleader:<grid>: the cases of its grid (self-disposal, issue 20)
)

var kindNames = [...]string{None: "nothing", All: "all", Hotline: "hotline cases", Street: "street", District: "district",
	Department: "department", Community: "community", Reporter: "own reports", Public: "public cases",
	Grid: "grid"} // self-disposal (issue 20)

func (k Kind) String() string {
	if int(k) < len(kindNames) {
		return kindNames[k]
	}
	return fmt.Sprintf("Kind(%d)", k)
}

// reachOf is the scope each role's grants give: every row grants a role its
// own reach, so the table says only who may call what.
var reachOf = map[auth.Role]Kind{
	auth.RoleAdmin: All, auth.RoleHotline: Hotline, auth.RoleDispatcher: Street, auth.RoleDistrict: District,
	auth.RoleDepartment: Department, auth.RoleSecretary: Community, auth.RolePatrol: Reporter,
	auth.RolePublic: Public, // Open311 (issue 19)
	// Self-disposal (issue 20): a grid's leader.
	auth.RoleGridLeader: Grid,
}

// Scope is what one caller may see and steer. Code is the street, the
// district, the department, the community or the worker its Kind names.
type Scope struct {
	Kind Kind
	Code string
}

// ScopeOf is the scope a principal's grants give.
func ScopeOf(p auth.Principal) Scope {
	k, ok := reachOf[p.Role]
	if !ok {
		return Scope{}
	}
	return Scope{Kind: k, Code: p.Subject}
}

func (s Scope) String() string {
	if s.Code == "" {
		return s.Kind.String()
	}
	return s.Kind.String() + " " + s.Code
}

// unknown reports whether an area code is unknown.
func unknown(code string) bool { return code == "" || code == "0" }

// CaseFacts are what a scope decides a case on. Every service fills what it
// knows: intake knows no tasks, feedback no submitter's principal.
type CaseFacts struct {
	// Source is "hotline", "patrol", "secretary" or "public".
	Source string
	// The area as resolved; unknown levels are "" or "0".
	District, Street, Community string
	// Worker is the grid worker who reported a patrol case.
	Worker string
	// Departments are the units holding a task on the case (any state).
	Departments []string
	// Leads are the lead units of the open source places the case's
	// incident is linked to (issue 20). Only reads fill it: leading a place
	// lets a unit read the linked tasks and their cases, masked, never act
	// on another unit's task.
	Leads []string
	// Grid is the case's 15-digit grid code (self-disposal, issue 20: a grid
	// leader's reach); "" or "0" when unknown.
	Grid string
}

// inDistrict reports whether an area lies in district d, counting an area
// whose district is unknown as the district desk's (see the package doc).
func inDistrict(d, district, street string) bool {
	if district == d || (street != "" && strings.HasPrefix(street, d)) {
		return true
	}
	return unknown(district) && unknown(street)
}

// AllowsCase reports whether the scope covers a case.
func (s Scope) AllowsCase(c CaseFacts) bool {
	switch s.Kind {
	case All:
		return true
	case Hotline:
		return c.Source == "hotline"
	case Street:
		return s.Code != "" && c.Street == s.Code
	case District:
		return s.Code != "" && inDistrict(s.Code, c.District, c.Street)
	case Department:
		return s.Code != "" && (slices.Contains(c.Departments, s.Code) || slices.Contains(c.Leads, s.Code))
	case Community:
		return s.Code != "" && c.Community == s.Code
	case Reporter:
		return s.Code != "" && c.Source == "patrol" && c.Worker == s.Code
	case Public:
		return c.Source == "public"
	case Grid: // self-disposal (issue 20)
		return s.Code != "" && c.Grid == s.Code
	}
	return false
}

// AllowsTask reports whether the scope covers a task held by dept on case
// c: a department its own tasks only, every other scope the tasks of the
// cases it covers.
func (s Scope) AllowsTask(dept string, c CaseFacts) bool {
	if s.Kind == Department {
		return s.Code != "" && (dept == s.Code || slices.Contains(c.Leads, s.Code))
	}
	return s.AllowsCase(c)
}

// AllowsArea reports whether a whole area (a district, street, community or
// grid code: codes nest, so a street's code starts with its district's) lies
// inside a street or district scope, or any area for admin. "" is the city.
// It is what lists and figures narrowed to an area are checked against.
func (s Scope) AllowsArea(code string) bool {
	switch s.Kind {
	case All:
		return true
	case Street, District:
		return s.Code != "" && strings.HasPrefix(code, s.Code)
	case Grid: // self-disposal (issue 20): a grid is the smallest area
		return s.Code != "" && code == s.Code
	}
	return false
}

// Area is the area a street or district scope narrows an unnarrowed list or
// figure to; "" for every other scope.
func (s Scope) Area() string {
	if s.Kind == Street || s.Kind == District {
		return s.Code
	}
	return ""
}

// Columns name where a store keeps a case's facts, for Where. An empty name
// is a fact the store does not hold: a scope that needs it matches nothing.
type Columns struct {
	Source, District, Street, Community, Worker string
	// Grid is the case's grid code (self-disposal, issue 20).
	Grid string
	// Department is a condition on a department code, with %s where the
	// code's placeholder goes: "%s = ANY(departments)", or an EXISTS over
	// the store's tasks.
	Department string
}

// Where is the scope as an SQL condition over cols, its values passed
// through arg (which returns the placeholder of a new argument). All is
// "TRUE"; a scope that reaches nothing in the store is "FALSE". Lists are
// filtered with it in the query, never page by page after it.
func (s Scope) Where(cols Columns, arg func(v any) string) string {
	need := func(col string) bool { return col != "" && s.Code != "" }
	switch s.Kind {
	case All:
		return "TRUE"
	case Hotline:
		if cols.Source != "" {
			return cols.Source + " = " + arg("hotline")
		}
	case Street:
		if need(cols.Street) {
			return cols.Street + " = " + arg(s.Code)
		}
	case District:
		if need(cols.District) && cols.Street != "" {
			d := arg(s.Code)
			return fmt.Sprintf("(%[1]s = %[3]s OR starts_with(%[2]s, %[3]s) OR (%[1]s IN ('', '0') AND %[2]s IN ('', '0')))",
				cols.District, cols.Street, d)
		}
	case Department:
		if need(cols.Department) {
			return fmt.Sprintf(cols.Department, arg(s.Code))
		}
	case Community:
		if need(cols.Community) {
			return cols.Community + " = " + arg(s.Code)
		}
	case Reporter:
		if need(cols.Worker) && cols.Source != "" {
			return "(" + cols.Source + " = " + arg("patrol") + " AND " + cols.Worker + " = " + arg(s.Code) + ")"
		}
	case Public:
		if cols.Source != "" {
			return cols.Source + " = " + arg("public")
		}
	case Grid: // self-disposal (issue 20)
		if need(cols.Grid) {
			return cols.Grid + " = " + arg(s.Code)
		}
	}
	return "FALSE"
}

// ErrDenied is the one refusal of a case, task or incident outside the
// caller's scope, and of one that does not exist when the caller is scoped:
// the same words either way, naming what was asked as the caller named it.
func ErrDenied(what string) error {
	return fault.New(fault.PermissionDenied, "%s is not within the caller's scope", what)
}

// Missing is the answer for a case (task, incident) that does not exist:
// NOT_FOUND (notFound) for admin, who may see everything, and ErrDenied for
// everyone else, who must not learn whether it exists.
func (s Scope) Missing(what string, notFound error) error {
	if s.Kind == All {
		return notFound
	}
	return ErrDenied(what)
}

type scopeKey struct{}

// granted is the scope the interceptor found for the method it let through.
type granted struct {
	method string
	scope  Scope
}

// WithScope returns ctx carrying the caller's scope for method, the one
// being called.
func WithScope(ctx context.Context, method string, s Scope) context.Context {
	return context.WithValue(ctx, scopeKey{}, granted{method: method, scope: s})
}

// Authorize is how a service asks for the caller and its scope for method
// (a full gRPC method name): the scope the interceptor put in the context
// for it, or, where no interceptor ran (a domain test calling the service
// directly), the same table's answer for the principal in the context. No
// credential is UNAUTHENTICATED; a role the row does not name,
// PERMISSION_DENIED naming who may.
func Authorize(ctx context.Context, method string) (auth.Principal, Scope, error) {
	p, ok := auth.FromContext(ctx)
	if !ok {
		return p, Scope{}, fault.New(fault.Unauthenticated, "no credential")
	}
	if g, ok := ctx.Value(scopeKey{}).(granted); ok && g.method == method {
		return p, g.scope, nil
	}
	s, err := Check(p, method)
	return p, s, err
}
