package postgres_test

import (
	"context"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/gridflow/gridflow/services/dispatch/internal/dispatch"
	"github.com/gridflow/gridflow/services/dispatch/internal/postgres"
)

// The SLA backlog counts open tasks and the warned and overdue among them;
// a task no longer open is not backlog, whatever its flags.
func TestBacklog(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	recv := at("2026-03-02 09:00")
	var cases []kase
	for range 4 {
		cases = append(cases, e.newCase(t, zj, recv))
	}
	acked := cases[1]
	e.update(t, dispatch.Target{TaskID: acked.task}, func(c *dispatch.Case) error {
		_, err := c.Acknowledge(denv(recv.Add(time.Hour), "department:"+zj+"-pcs"), acked.task, recv.Add(2*time.Hour), "")
		return err
	})
	// The clock's flags as its timers set them, on an open task and on one
	// that has since ended.
	ctx := context.Background()
	for _, q := range []struct {
		sql  string
		task string
	}{
		{`UPDATE tasks SET body = body || '{"warned": true, "overdue": true}' WHERE task_id = $1`, acked.task},
		{`UPDATE tasks SET body = body || '{"warned": true}' WHERE task_id = $1`, cases[2].task},
		{`UPDATE tasks SET state = 'withdrawn', body = body || '{"warned": true, "overdue": true}' WHERE task_id = $1`, cases[3].task},
	} {
		if _, err := e.pool.Exec(ctx, q.sql, q.task); err != nil {
			t.Fatal(err)
		}
	}
	got, err := e.store.Backlog(ctx)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]float64{postgres.GaugeOpenTasks: 3, postgres.GaugeWarnedTasks: 2, postgres.GaugeOverdueTasks: 1}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("backlog mismatch (-want +got):\n%s", diff)
	}
}
