package postgres_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/gridflow/gridflow/services/feedback/internal/feedback"

	eventsv1 "github.com/gridflow/gridflow/proto/gen/go/gridflow/events/v1"
	typesv1 "github.com/gridflow/gridflow/proto/gen/go/gridflow/types/v1"
)

// TestChangesMatchRebuild drives cases — duplicates merged into a primary
// among them — through random callbacks (reached or not, satisfied or not),
// their retry and window timers and the rounds after a reopening, and
// requires the views and side rows the changes left to be those a rebuild
// from the log makes. A change reads the stored view when it locks its case
// and writes only the side rows that differ (LockCaseToSave, issue 17).
func TestChangesMatchRebuild(t *testing.T) {
	for seed := range uint64(4) {
		t.Run(fmt.Sprint(seed), func(t *testing.T) {
			e := newEnv(t)
			ctx := context.Background()
			r := rand.New(rand.NewPCG(seed, 29))
			primary := e.receive(typesv1.Source_SOURCE_HOTLINE, false)
			e.classify(primary, "")
			cases := []kase{primary}
			for range 2 {
				cases = append(cases, e.duplicate(primary, e.clock.Now()))
			}
			other := e.receive(typesv1.Source_SOURCE_HOTLINE, false)
			e.classify(other, "")
			cases = append(cases, other)
			rounds := map[string]uint32{}
			e.work(primary, 0, false)
			e.work(other, 0, r.IntN(2) == 0)
			callbacks := 0
			for i := range 16 {
				k := cases[r.IntN(len(cases))]
				if i == 0 {
					k = primary // replied: a callback at once
				}
				c := e.state(k.id)
				switch c.State {
				case feedback.Replied:
					sat := []eventsv1.Satisfaction{eventsv1.Satisfaction_SATISFACTION_SATISFIED,
						eventsv1.Satisfaction_SATISFACTION_UNSATISFIED}[r.IntN(2)]
					if _, err := e.callback(k.id, r.IntN(3) > 0, r.IntN(3) > 0, sat); err != nil {
						t.Fatalf("callback on %s: %v", k.number, err)
					}
					callbacks++
				case feedback.Classified: // reopened too: a new round is due
					if k == primary || k == other {
						rounds[k.id]++
						e.work(k, rounds[k.id], false)
					}
				}
				e.clock.Advance(time.Duration(1+r.IntN(3)) * time.Hour)
				if r.IntN(3) == 0 {
					e.clock.Advance(72 * time.Hour) // past a callback window
				}
				if _, err := e.timers.RunOnce(ctx); err != nil {
					t.Fatal(err)
				}
			}
			if callbacks == 0 {
				t.Fatal("no callback was recorded: the test drove nothing")
			}
			changed, changedSide := e.views(), e.sideRows()
			if _, err := e.svc.Rebuild(ctx); err != nil {
				t.Fatal(err)
			}
			if d := cmp.Diff(e.views(), changed); d != "" {
				t.Errorf("views from changes differ from the rebuilt ones (-rebuilt +changed):\n%s", d)
			}
			if d := cmp.Diff(e.sideRows(), changedSide); d != "" {
				t.Errorf("side rows from changes differ from the rebuilt ones (-rebuilt +changed):\n%s", d)
			}
		})
	}
}
