package policy_test

import (
	"slices"
	"strings"
	"testing"

	"github.com/gridflow/gridflow/pkg/auth"
	"github.com/gridflow/gridflow/pkg/fault"
	"github.com/gridflow/gridflow/pkg/policy"
)

// routeColumns are the principals of the routes' matrix.
var routeColumns = []auth.Principal{
	{Role: auth.RoleHotline},
	{Role: auth.RoleDispatcher, Subject: "310106022"},
	{Role: auth.RoleDistrict, Subject: "310106"},
	{Role: auth.RoleDepartment, Subject: "310106022-cgzd"},
	{Role: auth.RoleSecretary, Subject: "310106022001"},
	{Role: auth.RolePatrol, Subject: "w-0031"},
	{Role: auth.RoleAdmin},
	{Role: auth.RoleSystem, Subject: "feedback"},
}

// routeMatrix is the expected answer for every route of the console and
// each column above, written out by hand from DESIGN.md — not derived from
// the policy it checks. O allowed, P PERMISSION_DENIED.
//
//	hotline dispatcher district department secretary patrol admin system
var routeMatrix = []string{
	"console GET /signin                                  O O O O O O O O",
	"console POST /signin                                 O O O O O O O O",
	"console GET /signin/oidc                             O O O O O O O O",
	"console GET /signin/oidc/callback                    O O O O O O O O",
	"console GET /{$}                                     O O O O O O O P",
	"console POST /signout                                O O O O O O O P",
	"console GET /api/admin/accounts                      P P P P P P O P",
	"console POST /api/admin/accounts                     P P P P P P O P",
	"console POST /api/admin/accounts/{person_id}/disable P P P P P P O P",
	"console POST /api/admin/accounts/{person_id}/enable  P P P P P P O P",
	"console POST /api/admin/accounts/{person_id}/password P P P P P P O P",
	// The live queue, the review queue and the case page (issue 18).
	"console GET /live                                    P O O P P P O P",
	"console GET /live/events                             P O O P P P O P",
	"console GET /live/live.js                            P O O P P P O P",
	"console GET /review                                  P O O P P P O P",
	"console POST /review/{case_id}                       P O O P P P O P",
	"console GET /cases/{ref}                             P O O P P P O P",
	// Levers and boards (issue 18).
	"console GET /cases/{id}/levers                       P O O O P P O P",
	"console POST /cases/{id}/levers/{lever}              P O O O P P O P",
	"console GET /boards/escalations                      P O O P P P O P",
	"console GET /boards/scores                           P O O P P P O P",
	"console GET /boards/pareto                           P O O P P P O P",
	"console GET /boards/hotspots                         P O O P P P O P",
	"console GET /wall                                    P O O P P P O P",
	"console GET /wall/data                               P O O P P P O P",
	// The three lists' export (issue 20).
	"console GET /exports/lists/{file}                    P O O P O P O P",
	"console GET /boards/assets/{name}                    O O O O O O O O",
	// Places (issue 20): the place page.
	"console GET /places/{key}                            P O O P O O O P",
	// Early warning (issue 20): a street's warnings, for its dispatcher,
	// its district and admin.
	"console GET /warnings                                P O O P P P O P",
	"console POST /warnings/{id}/ack                      P O O P P P O P",
	"console POST /warnings/{id}/dismiss                  P O O P P P O P",
	"console GET /nowhere                                 P P P P P P P P",
}

func TestRouteMatrix(t *testing.T) {
	checkRouteMatrix(t, policy.Console, routeColumns, routeMatrix)
}

// checkRouteMatrix checks every cell of a door's hand-written matrix
// (rows "door METHOD pattern" then one O or P per column) against
// CheckRoute, and that the matrix lists every route the policy knows for the
// door and nothing else — but for rows whose path ends in "nowhere" (or
// "nowhere.json"), which stand for a route no table names.
func checkRouteMatrix(t *testing.T, door string, columns []auth.Principal, matrix []string) {
	t.Helper()
	var listed []string
	for _, row := range matrix {
		f := strings.Fields(row)
		route, want := strings.Join(f[:len(f)-len(columns)], " "), f[len(f)-len(columns):]
		if !strings.HasSuffix(route, "/nowhere") && !strings.HasSuffix(route, "/nowhere.json") {
			listed = append(listed, route)
		}
		for i, p := range columns {
			err := policy.CheckRoute(p, route)
			got := "O"
			if err != nil {
				got = "P"
				if fault.KindOf(err) != fault.PermissionDenied {
					t.Errorf("%s as %s: %v, want PERMISSION_DENIED", route, p, err)
				}
			}
			if got != want[i] {
				t.Errorf("%s as %s: %s (%v), want %s", route, p, got, err, want[i])
			}
		}
	}
	slices.Sort(listed)
	if got := policy.Routes(door); !slices.Equal(got, listed) {
		t.Errorf("the policy's %s routes %q, the matrix's %q", door, got, listed)
	}
}

// --- The HTTP/JSON door (issue 19) ---

// apiRouteMatrix is routeMatrix for the JSON door, by hand from DESIGN.md's
// table of who may do what (each gateway route is its RPC; uploads are for
// those whose writes carry attachments, a case's attachments for those who
// read cases).
//
//	hotline dispatcher district department secretary patrol admin system
var apiRouteMatrix = []string{
	"api GET /api/v1/openapi.json                              O O O O O O O O",
	"api POST /api/v1/work-orders                              O P P P P P O P",
	"api POST /api/v1/patrol-reports                           P P P P P O O P",
	"api POST /api/v1/issues                                   P P P P O P O P",
	"api POST /api/v1/follow-ups                               O P P P P P O P",
	"api GET /api/v1/submissions                               O O O P O O O P",
	"api GET /api/v1/submissions/{case_number}                 O O O P O O O P",
	"api GET /api/v1/submissions/{case_number}/contact         O O P O P P O P",
	"api GET /api/v1/catalogue                                 O O O O O O O P",
	"api GET /api/v1/catalogue/{code}                          O O O O O O O P",
	// A grid worker's own worker tasks (issue 20, work tasks).
	"api GET /api/v1/tasks                                     P O O O P O O P",
	"api GET /api/v1/task-events                               P P P O P P O P",
	"api GET /api/v1/tasks/{task_id}                           P O O O P P O P",
	"api POST /api/v1/tasks/{task_id}/acknowledge              P P P O P P P P",
	"api POST /api/v1/tasks/{task_id}/reject                   P P P O P P P P",
	"api POST /api/v1/tasks/{task_id}/forward                  P P P O P P P P",
	"api POST /api/v1/tasks/{task_id}/extension                P P P O P P P P",
	"api POST /api/v1/tasks/{task_id}/progress                 P P P O P P P P",
	"api POST /api/v1/tasks/{task_id}/complete                 P P P O P P P P",
	"api GET /api/v1/cases                                     O O O O O O O P",
	"api GET /api/v1/cases/{case_number}                       O O O O O O O P",
	"api GET /api/v1/cases/{case_number}/timeline              O O O O O O O P",
	"api GET /api/v1/case-updates                              O P P P P P O P",
	"api GET /api/v1/replies                                   O O O P P P O P",
	"api POST /api/v1/callbacks                                O O P P P P O P",
	"api POST /api/v1/rechecks                                 P O P P P O O P",
	"api POST /api/v1/uploads                                  O P P O P O O P",
	"api GET /api/v1/uploads/{key}                             O P P O P O O P",
	"api GET /api/v1/cases/{case_number}/attachments/{key}     O O O O O O O P",
	"api GET /api/v1/nowhere                                   P P P P P P P P",
}

func TestAPIRouteMatrix(t *testing.T) {
	checkRouteMatrix(t, policy.API, routeColumns, apiRouteMatrix)
}

// TestAPIRoutesAreTheirRPCs: a gateway route admits exactly the roles of
// the RPC behind it — for every role, CheckRoute and Check agree.
func TestAPIRoutesAreTheirRPCs(t *testing.T) {
	for _, route := range policy.APIRPCRoutes() {
		method, ok := policy.APIMethod(route)
		if !ok || policy.Roles(method) == nil {
			t.Errorf("%s: RPC %q is not in the table", route, method)
			continue
		}
		for _, p := range routeColumns {
			_, rpcErr := policy.Check(p, method)
			routeErr := policy.CheckRoute(p, route)
			if (rpcErr == nil) != (routeErr == nil) {
				t.Errorf("%s as %s: route %v, RPC %s %v", route, p, routeErr, method, rpcErr)
			}
		}
	}
}

// Open311 (issue 19): the public's door. Its columns add the public
// principals: a key's, and public:anonymous (a read without a key).
var open311Columns = append(append([]auth.Principal(nil), routeColumns...),
	auth.Principal{Role: auth.RolePublic, Subject: "k0123456789ab"},
	auth.Principal{Role: auth.RolePublic, Subject: "anonymous"})

// open311Matrix, by hand as routeMatrix:
//
//	hotline dispatcher district department secretary patrol admin system public anonymous
var open311Matrix = []string{
	"open311 GET /open311/v2/services.json                 P P P P P P P P O O",
	"open311 GET /open311/v2/services.xml                  P P P P P P P P O O",
	"open311 GET /open311/v2/services/{file}               P P P P P P P P O O",
	"open311 POST /open311/v2/requests.json                P P P P P P P P O O",
	"open311 POST /open311/v2/requests.xml                 P P P P P P P P O O",
	"open311 GET /open311/v2/requests.json                 P P P P P P P P O O",
	"open311 GET /open311/v2/requests.xml                  P P P P P P P P O O",
	"open311 GET /open311/v2/requests/{file}               P P P P P P P P O O",
	"open311 GET /api/admin/open311/keys                   P P P P P P O P P P",
	"open311 POST /api/admin/open311/keys                  P P P P P P O P P P",
	"open311 POST /api/admin/open311/keys/{key_id}/revoke  P P P P P P O P P P",
	"open311 GET /open311/v2/nowhere.json                  P P P P P P P P P P",
}

func TestOpen311RouteMatrix(t *testing.T) {
	checkRouteMatrix(t, policy.Open311, open311Columns, open311Matrix)
	// The public opens no console route.
	for _, r := range policy.Routes(policy.Console) {
		if policy.RouteOpen(r) {
			continue
		}
		if err := policy.CheckRoute(auth.Principal{Role: auth.RolePublic, Subject: "anonymous"}, r); err == nil {
			t.Errorf("the public may use %s", r)
		}
	}
}
