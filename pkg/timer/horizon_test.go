package timer_test

import (
	"context"
	"testing"
	"time"

	"github.com/gridflow/gridflow/pkg/timer"
	"github.com/jackc/pgx/v5"
)

// TestOnlySoonTimersNotify: Schedule and Queue wake the schema's workers
// only for a timer due within NotifyHorizon (a NOTIFY serialises commits
// cluster-wide; issue 17); a later one is left to the workers' poll.
func TestOnlySoonTimersNotify(t *testing.T) {
	ctx := context.Background()
	open := setup(t)
	pool := open()
	conn, err := open().Acquire(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Release()
	var channel string
	if err := conn.QueryRow(ctx, `SELECT left('gridflow_timers_' || current_schema(), 63)`).Scan(&channel); err != nil {
		t.Fatal(err)
	}
	if _, err := conn.Exec(ctx, "LISTEN "+pgx.Identifier{channel}.Sanitize()); err != nil {
		t.Fatal(err)
	}
	notified := func() bool {
		wctx, cancel := context.WithTimeout(ctx, 300*time.Millisecond)
		defer cancel()
		_, err := conn.Conn().WaitForNotification(wctx)
		return err == nil
	}
	later := time.Now().Add(10 * timer.NotifyHorizon)
	soon := time.Now().Add(timer.NotifyHorizon / 4)

	schedule(t, pool, "warn", "later", later, "")
	if notified() {
		t.Error("Schedule of a timer due beyond the horizon notified")
	}
	schedule(t, pool, "warn", "soon", soon, "")
	if !notified() {
		t.Error("Schedule of a timer due within the horizon did not notify")
	}
	for _, c := range []struct {
		at   time.Time
		want bool
	}{{later, false}, {soon, true}} {
		b := &pgx.Batch{}
		if err := timer.Queue(b, []timer.Op{{Kind: "warn", Key: "q", At: c.at}}); err != nil {
			t.Fatal(err)
		}
		if err := pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error { return tx.SendBatch(ctx, b).Close() }); err != nil {
			t.Fatal(err)
		}
		if got := notified(); got != c.want {
			t.Errorf("Queue of a timer due %v from now: notified %v, want %v", time.Until(c.at).Round(time.Millisecond), got, c.want)
		}
	}
}
