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
	"console GET /boards/assets/{name}                    O O O O O O O O",
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
