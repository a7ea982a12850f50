package deadletters_test

import (
	"context"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/gridflow/gridflow/pkg/auth"
	"github.com/gridflow/gridflow/pkg/testenv"
	"github.com/gridflow/gridflow/services/console/internal/deadletters"
	"github.com/gridflow/gridflow/services/console/internal/web"
)

// Dead letters on GRID_DLQ of a real in-process NATS, counted per durable
// for each principal: admin all, a street's dispatcher its street's, a
// district's its district's, a department none (the board is not its).
func TestCountNarrowsToTheScope(t *testing.T) {
	t.Parallel()
	_, js := testenv.JetStream(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	const zj, lf = "310106.310106022", "310106.310106021"
	for subject, n := range map[string]int{
		"dlq.classify-cases.grid.case.received." + zj:                              2,
		"dlq.dispatch-cases.grid.case.classified." + zj:                            1,
		"dlq.dispatch-emergencies.grid.case.received." + zj + ".emergency":         1,
		"dlq.feedback-events.grid.task.dispatched.310106022-cgzd." + zj:            1,
		"dlq.feedback-events.grid.incident.grouped." + lf:                          3,
		"dlq.dispatch-cases.grid.replay.dispatch-cases.grid.case.classified." + lf: 1,
		"dlq.intake-tasks.grid.task.completed.310107-cgj.310107.310107001":         4, // another district
		"dlq.feedback-events.grid.case.received.0.0":                               1, // area unknown: the district desk's
		"dlq.feedback-events.not-a-grid-subject":                                   1, // keys unreadable: admin's alone
	} {
		for range n {
			if _, err := js.Publish(ctx, subject, []byte("poison")); err != nil {
				t.Fatal(err)
			}
		}
	}
	c := deadletters.Counter{JS: js}
	dl := func(durable string, n int) web.DeadLetterCount {
		return web.DeadLetterCount{Durable: durable, Count: n}
	}
	for _, tc := range []struct {
		who  auth.Principal
		want []web.DeadLetterCount
	}{
		{auth.Principal{Role: auth.RoleAdmin}, []web.DeadLetterCount{dl("classify-cases", 2), dl("dispatch-cases", 2), dl("dispatch-emergencies", 1),
			dl("feedback-events", 6), dl("intake-tasks", 4)}},
		{auth.Principal{Role: auth.RoleDispatcher, Subject: "310106022"}, []web.DeadLetterCount{dl("classify-cases", 2), dl("dispatch-cases", 1),
			dl("dispatch-emergencies", 1), dl("feedback-events", 1)}},
		{auth.Principal{Role: auth.RoleDispatcher, Subject: "310106021"}, []web.DeadLetterCount{dl("dispatch-cases", 1), dl("feedback-events", 3)}},
		{auth.Principal{Role: auth.RoleDistrict, Subject: "310106"}, []web.DeadLetterCount{dl("classify-cases", 2), dl("dispatch-cases", 2),
			dl("dispatch-emergencies", 1), dl("feedback-events", 5)}},
		{auth.Principal{Role: auth.RoleDepartment, Subject: "310106022-cgzd"}, []web.DeadLetterCount{}},
	} {
		got, err := c.Count(ctx, tc.who)
		if err != nil {
			t.Fatalf("%s: %v", tc.who, err)
		}
		if diff := cmp.Diff(tc.want, got); diff != "" {
			t.Errorf("%s: dead letters mismatch (-want +got):\n%s", tc.who, diff)
		}
	}
}
