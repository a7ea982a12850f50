package postgres

import (
	"strings"
	"testing"

	"github.com/gridflow/gridflow/pkg/testenv"
	"github.com/gridflow/gridflow/services/dispatch/internal/worktasks"
)

// Issue 17: the open tasks of a recheck or an inspection are read through
// their kind's partial index on a generic plan too — the plan the plan
// cache settles on after a statement's first runs. With the kind passed as
// an argument no partial index could serve and every lookup scanned the
// table.
func TestOpenTasksUseTheirIndexOnAGenericPlan(t *testing.T) {
	pool := testenv.Pool(t, Schema, 2, Migrations...)
	for kind, index := range map[worktasks.Kind]string{
		worktasks.Recheck:    "worker_tasks_recheck",
		worktasks.Inspection: "worker_tasks_inspection",
	} {
		plan := testenv.GenericPlan(t, pool, openTasks[kind], 1)
		if !strings.Contains(plan, index) || strings.Contains(plan, "Seq Scan") {
			t.Errorf("%s: the generic plan does not read %s:\n%s", kind, index, plan)
		}
	}
}
