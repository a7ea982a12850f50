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
}

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
