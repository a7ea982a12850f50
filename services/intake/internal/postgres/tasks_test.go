package postgres_test

import (
	"context"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/gridflow/gridflow/pkg/pgdb"
	"github.com/gridflow/gridflow/services/intake/internal/events"
	"github.com/gridflow/gridflow/services/intake/internal/intake"
	"github.com/gridflow/gridflow/services/intake/internal/postgres"
	"github.com/jackc/pgx/v5"
)

// Issue 17: SetTasks writes a batch's task states in one statement with the
// outcome of SetTask applied to each in turn — of one task's states the
// newest wins, the last of equals, and a stored newer state is kept.
func TestSetTasksIsSetTaskInTurn(t *testing.T) {
	st, pool := newStore(t)
	ctx := context.Background()
	t0 := time.Date(2026, 3, 2, 2, 0, 0, 0, time.UTC)
	state := func(task, caseID, dept string, open bool, at time.Duration) events.TaskState {
		return events.TaskState{TaskHolder: intake.TaskHolder{TaskID: task, Department: dept, Lead: true},
			CaseID: caseID, Open: open, At: t0.Add(at)}
	}
	stored := []events.TaskState{state("t-kept", "c1", "d-new", true, 3*time.Hour)}
	batch := []events.TaskState{
		state("t-done", "c1", "d1", true, 0),               // dispatched …
		state("t-done", "c1", "d1", false, time.Hour),      // … then completed
		state("t-late", "c1", "d2", false, 2*time.Hour),    // completed …
		state("t-late", "c1", "d2", true, time.Hour),       // … its signing-for, late
		state("t-tie", "c1", "d3", false, time.Hour),       // two states at one instant:
		state("t-tie", "c1", "d3", true, time.Hour),        // the last applied wins
		state("t-kept", "c1", "d-old", true, time.Hour),    // older than what is stored
		state("t-other", "c2", "d4", true, 30*time.Minute), // another case
	}
	open := func(caseID string) []intake.TaskHolder {
		t.Helper()
		got, err := st.OpenTasks(ctx, caseID)
		if err != nil {
			t.Fatal(err)
		}
		return got
	}
	write := func(f func(tx pgx.Tx) error) {
		t.Helper()
		if err := pgdb.InTx(ctx, pool, f); err != nil {
			t.Fatal(err)
		}
	}
	// One by one, as the per-event handler wrote them.
	write(func(tx pgx.Tx) error { return postgres.SetTasks(ctx, tx, stored) })
	for _, s := range batch {
		write(func(tx pgx.Tx) error { return postgres.SetTask(ctx, tx, s) })
	}
	want1, want2 := open("c1"), open("c2")
	if len(want1) != 2 || len(want2) != 1 {
		t.Fatalf("one by one: open tasks %v and %v, want t-kept and t-tie, and t-other", want1, want2)
	}
	if _, err := pool.Exec(ctx, `DELETE FROM task_holders`); err != nil {
		t.Fatal(err)
	}
	// The same in one statement.
	write(func(tx pgx.Tx) error { return postgres.SetTasks(ctx, tx, stored) })
	write(func(tx pgx.Tx) error { return postgres.SetTasks(ctx, tx, batch) })
	if diff := cmp.Diff(want1, open("c1")); diff != "" {
		t.Errorf("case c1's open tasks mismatch (-one by one +batch):\n%s", diff)
	}
	if diff := cmp.Diff(want2, open("c2")); diff != "" {
		t.Errorf("case c2's open tasks mismatch (-one by one +batch):\n%s", diff)
	}
	var dept string
	if err := pool.QueryRow(ctx, `SELECT department FROM task_holders WHERE task_id = 't-kept'`).Scan(&dept); err != nil || dept != "d-new" {
		t.Errorf("t-kept's department = %q (%v), want the stored newer d-new", dept, err)
	}
}
