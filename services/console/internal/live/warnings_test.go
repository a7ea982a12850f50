package live_test

import (
	"log/slog"
	"testing"

	"github.com/gridflow/gridflow/pkg/auth"
	"github.com/gridflow/gridflow/pkg/policy"
	eventsv1 "github.com/gridflow/gridflow/proto/gen/go/gridflow/events/v1"
	"github.com/gridflow/gridflow/services/console/internal/live"
)

// Early warning (issue 20): a warning event reaches the screens whose scope
// reaches its street — and whose street filter, if any, is that street —
// rendered once, and never becomes a case row.
func TestWarningReachesTheStreetsScreens(t *testing.T) {
	t.Parallel()
	renders := 0
	hub := live.NewHub(func(policy.Scope, *live.Row) ([]byte, error) { t.Error("a warning rendered as a row"); return nil, nil },
		slog.New(slog.DiscardHandler), live.Options{RenderWarning: func(env *eventsv1.Envelope) ([]byte, error) {
			renders++
			return []byte("<li>" + env.GetType() + "</li>"), nil
		}})
	open := func(p auth.Principal, f live.ScreenFilter) *live.Screen { return hub.Open(policy.ScopeOf(p), f) }
	street := open(auth.Principal{Role: auth.RoleDispatcher, Subject: "310106022"}, live.ScreenFilter{})
	district := open(auth.Principal{Role: auth.RoleDistrict, Subject: "310106"}, live.ScreenFilter{})
	admin := open(auth.Principal{Role: auth.RoleAdmin}, live.ScreenFilter{})
	filtered := open(auth.Principal{Role: auth.RoleAdmin}, live.ScreenFilter{Street: "310106021"})
	other := open(auth.Principal{Role: auth.RoleDispatcher, Subject: "310106021"}, live.ScreenFilter{})
	dept := open(auth.Principal{Role: auth.RoleDepartment, Subject: "310106022-cgzd"}, live.ScreenFilter{})
	hub.Apply("grid.warning.raised.310106.310106022", 7, &eventsv1.Envelope{Type: "warning.raised",
		Payload: &eventsv1.Envelope_WarningRaised{WarningRaised: &eventsv1.WarningRaised{}}})
	for _, s := range []*live.Screen{street, district, admin} {
		select {
		case m := <-s.C:
			if !m.Warning || m.CaseID != "" || string(m.HTML) != "<li>warning.raised</li>" || m.Sequence != 7 {
				t.Errorf("%v got %+v", s.Scope, m)
			}
		default:
			t.Errorf("%v got nothing", s.Scope)
		}
	}
	for _, s := range []*live.Screen{filtered, other, dept} {
		select {
		case m := <-s.C:
			t.Errorf("%v (filter %+v) got %+v", s.Scope, s.Filter, m)
		default:
		}
	}
	if renders != 1 {
		t.Errorf("rendered %d times, want once", renders)
	}
}
