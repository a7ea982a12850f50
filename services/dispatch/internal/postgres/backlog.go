package postgres

import (
	"context"
	"fmt"

	"github.com/gridflow/gridflow/pkg/telemetry"
)

// Gauges of the SLA backlog on /metrics: the open tasks (still waiting for
// their unit) and those of them past a limit. Every replica counts the same
// table; take their max, not their sum.
const (
	GaugeOpenTasks    = "gridflow_dispatch_open_tasks"
	GaugeWarnedTasks  = "gridflow_dispatch_warned_tasks"
	GaugeOverdueTasks = "gridflow_dispatch_overdue_tasks"
)

// Backlog counts the open tasks, the warned (80 % of a limit used) and the
// overdue among them. The states are dispatch.TaskState.Open's, as the
// partial index tasks_open holds them.
func (st *Store) Backlog(ctx context.Context) (map[string]float64, error) {
	var open, warned, overdue int64
	err := st.pool.QueryRow(ctx, `SELECT count(*), count(*) FILTER (WHERE body->>'warned' = 'true'),
		count(*) FILTER (WHERE body->>'overdue' = 'true')
		FROM tasks WHERE state IN ('dispatched', 'acknowledged', 'extension_requested')`).Scan(&open, &warned, &overdue)
	if err != nil {
		return nil, fmt.Errorf("task backlog: %w", err)
	}
	return map[string]float64{GaugeOpenTasks: float64(open), GaugeWarnedTasks: float64(warned),
		GaugeOverdueTasks: float64(overdue)}, nil
}

// BacklogGauges reports Backlog on /metrics.
func (st *Store) BacklogGauges() telemetry.PolledGauges {
	return telemetry.PolledGauges{
		Scope: "github.com/gridflow/gridflow/services/dispatch/internal/postgres",
		Gauges: map[string]string{
			GaugeOpenTasks:    "tasks waiting for their unit (dispatched, acknowledged, extension requested)",
			GaugeWarnedTasks:  "open tasks past 80 % of a limit",
			GaugeOverdueTasks: "open tasks past a limit (the SLA backlog)",
		},
		Poll: st.Backlog,
	}
}
