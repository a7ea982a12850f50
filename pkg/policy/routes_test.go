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
	"console GET /nowhere                                 P P P P P P P P",
}

func TestRouteMatrix(t *testing.T) {
	var listed []string
	for _, row := range routeMatrix {
		f := strings.Fields(row)
		route, want := strings.Join(f[:len(f)-len(routeColumns)], " "), f[len(f)-len(routeColumns):]
		if route != "console GET /nowhere" {
			listed = append(listed, route)
		}
		for i, p := range routeColumns {
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
	// The matrix covers every route the policy knows, and nothing else.
	slices.Sort(listed)
	if got := policy.Routes(policy.Console); !slices.Equal(got, listed) {
		t.Errorf("the policy's console routes %q, the matrix's %q", got, listed)
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
	var listed []string
	for _, row := range open311Matrix {
		f := strings.Fields(row)
		route, want := strings.Join(f[:len(f)-len(open311Columns)], " "), f[len(f)-len(open311Columns):]
		if !strings.HasSuffix(route, "nowhere.json") {
			listed = append(listed, route)
		}
		for i, p := range open311Columns {
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
	if got := policy.Routes(policy.Open311); !slices.Equal(got, listed) {
		t.Errorf("the policy's open311 routes %q, the matrix's %q", got, listed)
	}
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
