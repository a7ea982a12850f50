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
}

// leverPullers are the roles with a lever on a case (issue 18).
var leverPullers = []auth.Role{dispatcher, district, department, admin}

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
