package web_test

import (
	"log/slog"
	"slices"
	"testing"

	"github.com/gridflow/gridflow/pkg/policy"
	"github.com/gridflow/gridflow/services/console/internal/web"
)

// TestEveryRouteInThePolicy: every route the console serves (OIDC on, so
// all of them) is in pkg/policy's route table, and the table names no
// console route the console does not serve. The refusals themselves are
// pkg/policy's route matrix and this package's HTTP tests.
func TestEveryRouteInThePolicy(t *testing.T) {
	s := web.New(nil, nil, nil, nil, slog.New(slog.DiscardHandler), web.Options{OIDC: &web.OIDC{}})
	var served []string
	for _, p := range s.Patterns() {
		served = append(served, policy.Route(policy.Console, p))
	}
	slices.Sort(served)
	if want := policy.Routes(policy.Console); !slices.Equal(served, want) {
		t.Errorf("the console serves %q; pkg/policy names %q", served, want)
	}
}
