package open311_test

import (
	"log/slog"
	"slices"
	"testing"

	"github.com/gridflow/gridflow/pkg/policy"
	"github.com/gridflow/gridflow/services/console/internal/open311"
)

// TestEveryRouteInThePolicy: the Open311 door serves exactly the routes
// pkg/policy names for it (the refusals are the policy's matrix and
// e2e/open311_test.go).
func TestEveryRouteInThePolicy(t *testing.T) {
	d := open311.New(open311.Keys{}, nil, open311.Backends{}, nil, slog.New(slog.DiscardHandler), open311.Options{})
	var served []string
	for _, p := range d.Patterns() {
		served = append(served, policy.Route(policy.Open311, p))
	}
	slices.Sort(served)
	if want := policy.Routes(policy.Open311); !slices.Equal(served, want) {
		t.Errorf("the door serves %q; pkg/policy names %q", served, want)
	}
}
