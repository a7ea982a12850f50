package policy

import (
	"slices"
	"strings"

	"github.com/gridflow/gridflow/pkg/auth"
	"github.com/gridflow/gridflow/pkg/fault"
)

// The HTTP doors' share of the policy. A route is a door and a pattern as
// net/http's ServeMux writes it ("console GET /{$}"). A signed-in page reads
// and acts only through the services' RPCs, whose rows of the table decide
// what it shows and does, within the caller's scope; a route's row decides
// who may open it at all. A route in neither table is refused, like a method
// missing from the table.

// Console is the console's door.
const Console = "console"

// Route names a door's route.
func Route(door, pattern string) string { return door + " " + pattern }

// routes: for every route of every door, the roles that may use it.
var routes = map[string][]auth.Role{
	// The cases page: FeedbackService/ListCases as the account's principal.
	Route(Console, "GET /{$}"): caseReaders,
	// Every signed-in account may sign out.
	Route(Console, "POST /signout"): everyone,
	// Accounts are managed by admin (gridctl user).
	Route(Console, "GET /api/admin/accounts"):                       roles(admin),
	Route(Console, "POST /api/admin/accounts"):                      roles(admin),
	Route(Console, "POST /api/admin/accounts/{person_id}/disable"):  roles(admin),
	Route(Console, "POST /api/admin/accounts/{person_id}/enable"):   roles(admin),
	Route(Console, "POST /api/admin/accounts/{person_id}/password"): roles(admin),

	// The live queue (its page, its server-sent events and its script), the
	// review queue and the case page: the operations centre's screens, for
	// the people who steer cases — each within its own scope (the live
	// feed filtered by Scope.AllowsCase, the reads by the services). They
	// read through ClassifyService (review queue, classification, incident)
	// and DispatchService (tasks, routing), whose rows name dispatchers.
	Route(Console, "GET /live"):              dispatchers,
	Route(Console, "GET /live/events"):       dispatchers,
	Route(Console, "GET /live/live.js"):      dispatchers,
	Route(Console, "GET /review"):            dispatchers,
	Route(Console, "POST /review/{case_id}"): dispatchers,
	Route(Console, "GET /cases/{ref}"):       dispatchers,
	// Levers and boards (issue 18). The levers' page and its one write
	// route are for the roles with levers: dispatchers, and departments
	// (forward); which forms each sees, and which call it may make, is
	// the RPC table's answer. The boards and the wall read a street's or
	// district's work and figures: dispatchers'.
	Route(Console, "GET /cases/{id}/levers"):          leverPullers,
	Route(Console, "POST /cases/{id}/levers/{lever}"): leverPullers,
	Route(Console, "GET /boards/escalations"):         dispatchers,
	Route(Console, "GET /boards/scores"):              dispatchers,
	Route(Console, "GET /boards/pareto"):              dispatchers,
	Route(Console, "GET /boards/hotspots"):            dispatchers,
	Route(Console, "GET /wall"):                       dispatchers,
	Route(Console, "GET /wall/data"):                  dispatchers,

	// Places (issue 20): a place's history page, for the people who may
	// read place history (PlaceService/GetPlaceHistory's row decides what
	// each sees: a worker its grids, a secretary its community).
	Route(Console, "GET /places/{key}"): roles(patrol, secretary, dispatcher, district, admin),
	// The three lists' export (issue 20): the files a community hands in,
	// read through ListsService, whose rows name the same roles.
	Route(Console, "GET /exports/lists/{file}"): roles(secretary, dispatcher, district, admin),
	// Early warning (issue 20): the warnings page and its two writes, for
	// the people answerable for a street's warnings (WarningService's rows
	// decide which warnings each sees and may answer).
	Route(Console, "GET /warnings"):               dispatchers,
	Route(Console, "POST /warnings/{id}/ack"):     dispatchers,
	Route(Console, "POST /warnings/{id}/dismiss"): dispatchers,
}

// leverPullers are the roles with a lever on a case (issue 18).
var leverPullers = []auth.Role{dispatcher, district, department, admin}

// Open311 is the public's door (issue 19): Open311 GeoReport v2 under
// /open311/v2/, whose callers are public:<key> (the api_key; a read
// without one is public:anonymous), and admin's management of the keys.
const Open311 = "open311"

// The Open311 door's routes (issue 19). What each shows is decided by the
// RPC rows it calls through (intake's PublicIntakeService, classify's
// catalogue, feedback's PublicCaseService).
var open311Routes = map[string][]auth.Role{
	Route(Open311, "GET /open311/v2/services.json"):                roles(public),
	Route(Open311, "GET /open311/v2/services.xml"):                 roles(public),
	Route(Open311, "GET /open311/v2/services/{file}"):              roles(public),
	Route(Open311, "POST /open311/v2/requests.json"):               roles(public),
	Route(Open311, "POST /open311/v2/requests.xml"):                roles(public),
	Route(Open311, "GET /open311/v2/requests.json"):                roles(public),
	Route(Open311, "GET /open311/v2/requests.xml"):                 roles(public),
	Route(Open311, "GET /open311/v2/requests/{file}"):              roles(public),
	Route(Open311, "GET /api/admin/open311/keys"):                  roles(admin),
	Route(Open311, "POST /api/admin/open311/keys"):                 roles(admin),
	Route(Open311, "POST /api/admin/open311/keys/{key_id}/revoke"): roles(admin),
}

func init() {
	for r, rs := range open311Routes {
		routes[r] = rs
	}
}

// openRoutes need no credential: signing in.
var openRoutes = map[string]bool{
	Route(Console, "GET /signin"):               true,
	Route(Console, "POST /signin"):              true,
	Route(Console, "GET /signin/oidc"):          true,
	Route(Console, "GET /signin/oidc/callback"): true,
	// The boards' scripts (issue 18): the pinned chart library and the
	// code that draws from the page's data; no data of their own.
	Route(Console, "GET /boards/assets/{name}"): true,
}

// RouteOpen reports whether anyone may use route without a credential.
func RouteOpen(route string) bool { return openRoutes[route] }

// Routes lists every route of door the policy knows, open ones included,
// sorted.
func Routes(door string) []string {
	var out []string
	for r := range routes {
		if strings.HasPrefix(r, door+" ") {
			out = append(out, r)
		}
	}
	for r := range openRoutes {
		if strings.HasPrefix(r, door+" ") {
			out = append(out, r)
		}
	}
	slices.Sort(out)
	return out
}

// CheckRoute says whether p may use route: nil, or PERMISSION_DENIED naming
// who may (a route the policy does not name is refused to everyone).
func CheckRoute(p auth.Principal, route string) error {
	allowed, ok := routes[route]
	switch {
	case RouteOpen(route):
		return nil
	case !ok:
		return fault.New(fault.PermissionDenied, "%s is not in the access policy: refused", route)
	case p.Role == auth.RoleSystem || !slices.Contains(allowed, p.Role):
		who := make([]string, len(allowed))
		for i, r := range allowed {
			who[i] = placeholder[r]
		}
		return fault.New(fault.PermissionDenied, "%s may not use %s: only %s may", p, route, strings.Join(who, ", "))
	}
	return nil
}

// --- The HTTP/JSON door (issue 19): /api/v1 on the console's port. ---
//
// Every route of the JSON door but the uploads is one RPC exposed by
// grpc-gateway (proto/gateway.yaml); its roles are that RPC's row of the
// table, copied here once (init), so the door admits exactly whom the RPC
// would, and the service behind it then decides over which cases as it does
// for gRPC. The console's tests check that these routes and the gateway's
// are the same set.

// API is the HTTP/JSON door's.
const API = "api"

// apiRPCs: every gateway route of the door and the RPC behind it.
var apiRPCs = map[string]string{
	Route(API, "POST /api/v1/work-orders"):                      Method(IntakeService, "SubmitWorkOrder"),
	Route(API, "POST /api/v1/patrol-reports"):                   Method(IntakeService, "SubmitPatrolReport"),
	Route(API, "POST /api/v1/issues"):                           Method(IntakeService, "RaiseIssue"),
	Route(API, "POST /api/v1/follow-ups"):                       Method(IntakeService, "AddFollowUp"),
	Route(API, "GET /api/v1/submissions"):                       Method(IntakeService, "ListSubmissions"),
	Route(API, "GET /api/v1/submissions/{case_number}"):         Method(IntakeService, "GetSubmission"),
	Route(API, "GET /api/v1/submissions/{case_number}/contact"): Method(IntakeService, "ReadContact"),
	Route(API, "GET /api/v1/catalogue"):                         Method(ClassifyService, "ListCatalogue"),
	Route(API, "GET /api/v1/catalogue/{code}"):                  Method(ClassifyService, "GetCatalogueItem"),
	Route(API, "GET /api/v1/tasks"):                             Method(DispatchService, "ListTasks"),
	Route(API, "GET /api/v1/task-events"):                       Method(DispatchService, "WatchTasks"),
	Route(API, "GET /api/v1/tasks/{task_id}"):                   Method(DispatchService, "GetTask"),
	Route(API, "POST /api/v1/tasks/{task_id}/acknowledge"):      Method(DispatchService, "AcknowledgeTask"),
	Route(API, "POST /api/v1/tasks/{task_id}/reject"):           Method(DispatchService, "RejectTask"),
	Route(API, "POST /api/v1/tasks/{task_id}/forward"):          Method(DispatchService, "ForwardTask"),
	Route(API, "POST /api/v1/tasks/{task_id}/extension"):        Method(DispatchService, "RequestExtension"),
	Route(API, "POST /api/v1/tasks/{task_id}/progress"):         Method(DispatchService, "ReportProgress"),
	Route(API, "POST /api/v1/tasks/{task_id}/complete"):         Method(DispatchService, "CompleteTask"),
	Route(API, "GET /api/v1/cases"):                             Method(FeedbackService, "ListCases"),
	Route(API, "GET /api/v1/cases/{case_number}"):               Method(FeedbackService, "GetCase"),
	Route(API, "GET /api/v1/cases/{case_number}/timeline"):      Method(FeedbackService, "GetCaseTimeline"),
	Route(API, "GET /api/v1/case-updates"):                      Method(FeedbackService, "WatchCaseUpdates"),
	Route(API, "GET /api/v1/replies"):                           Method(FeedbackService, "ListReplies"),
	Route(API, "POST /api/v1/callbacks"):                        Method(FeedbackService, "RecordCallback"),
	Route(API, "POST /api/v1/rechecks"):                         Method(FeedbackService, "RecordRecheck"),
}

// attachingRPCs are the writes that carry attachments or evidence: whoever
// may call one may upload what it refers to. (RecordRecheck's photos are
// not here: no read RPC shows them, so the door could not tell who may see
// them.)
var attachingRPCs = []string{
	Method(IntakeService, "SubmitWorkOrder"), Method(IntakeService, "SubmitPatrolReport"),
	Method(DispatchService, "CompleteTask"),
}

// attachmentReaders are the reads that show a case's attachments (intake's
// submission, dispatch's tasks): the console serves an attachment's bytes
// only after one of them, called as the caller, shows it.
var attachmentReaders = []string{Method(IntakeService, "GetSubmission"), Method(DispatchService, "ListTasks")}

// Upload routes of the door: not RPCs, but their roles come from the RPCs
// that refer to uploads.
var (
	// RouteUpload stores a photo or a piece of evidence.
	RouteUpload = Route(API, "POST /api/v1/uploads")
	// RouteOwnUpload reads back one's own upload (before a case refers to it).
	RouteOwnUpload = Route(API, "GET /api/v1/uploads/{key}")
	// RouteCaseAttachment reads an upload a case refers to.
	RouteCaseAttachment = Route(API, "GET /api/v1/cases/{case_number}/attachments/{key}")
	// RouteOpenAPI is the door's OpenAPI document: open, like a service's
	// reflection.
	RouteOpenAPI = Route(API, "GET /api/v1/openapi.json")
)

func init() {
	for route, method := range apiRPCs {
		rs, ok := table[method]
		if !ok {
			panic("policy: " + route + " names " + method + ", which is not in the table")
		}
		routes[route] = rs
	}
	routes[RouteUpload] = unionOf(attachingRPCs)
	routes[RouteOwnUpload] = unionOf(attachingRPCs)
	routes[RouteCaseAttachment] = unionOf(attachmentReaders)
	openRoutes[RouteOpenAPI] = true
}

// unionOf is every role that may call one of methods, in the table's order
// of roles.
func unionOf(methods []string) []auth.Role {
	var out []auth.Role
	for _, r := range everyone {
		for _, m := range methods {
			if slices.Contains(table[m], r) {
				out = append(out, r)
				break
			}
		}
	}
	return out
}

// APIMethod is the RPC behind a gateway route of the JSON door.
func APIMethod(route string) (string, bool) {
	m, ok := apiRPCs[route]
	return m, ok
}

// APIRPCRoutes lists the door's gateway routes (those backed by an RPC),
// sorted.
func APIRPCRoutes() []string {
	out := make([]string, 0, len(apiRPCs))
	for r := range apiRPCs {
		out = append(out, r)
	}
	slices.Sort(out)
	return out
}
