package postgres_test

import (
	"bytes"
	"context"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/gridflow/gridflow/pkg/outbox"
	"github.com/gridflow/gridflow/pkg/pgdb"
	"github.com/gridflow/gridflow/services/intake/internal/intake"
	"github.com/gridflow/gridflow/services/intake/internal/postgres"
	"github.com/jackc/pgx/v5"
)

// TestContactRetention: the sweep replaces the stored contact by its masked
// form once the retention has passed since the case ended — closed,
// withdrawn, or answered on the call — and leaves open, recently closed and
// reopened cases alone. The events the outbox rebuilds from the stored
// submission do not change (they were masked already).
func TestContactRetention(t *testing.T) {
	st, pool := newStore(t)
	ctx := context.Background()
	now := time.Date(2026, 12, 3, 8, 0, 0, 0, time.UTC)
	old, recent := now.Add(-20*24*time.Hour), now.Add(-5*24*time.Hour)
	const retention = 15 * 24 * time.Hour

	create := func(orderNo string, accepted time.Time, answered bool) *intake.Submission {
		t.Helper()
		s := submission(orderNo, "h-"+orderNo)
		s.AcceptedAt = accepted
		s.WorkOrder.CallerName, s.WorkOrder.CallerPhone = "王小明", "13812345678"
		s.WorkOrder.Content = "噪声扰民，请回电13812345678"
		s.WorkOrder.AnsweredOnCall = answered
		got, _, err := st.Create(ctx, s)
		if err != nil {
			t.Fatal(err)
		}
		return got
	}
	closeAt := func(s *intake.Submission, closed bool, at time.Time) {
		t.Helper()
		if err := pgdb.InTx(ctx, pool, func(tx pgx.Tx) error { return postgres.SetClosed(ctx, tx, s.CaseID, closed, at) }); err != nil {
			t.Fatal(err)
		}
	}
	closedOld := create("R-CLOSED-OLD", old, false)
	closeAt(closedOld, true, old)
	closedRecent := create("R-CLOSED-RECENT", old, false)
	closeAt(closedRecent, true, recent)
	reopened := create("R-REOPENED", old, false)
	closeAt(reopened, true, old)
	closeAt(reopened, false, old.Add(time.Hour)) // a merged case's bad callback reopened it
	withdrawn := create("R-WITHDRAWN", old, false)
	if _, _, err := st.AddFollowUp(ctx, intake.Key{HotlineOrderNo: "R-WITHDRAWN"}, &intake.FollowUp{Kind: intake.FollowUpWithdraw,
		Text: "市民来电撤单，新号码13987654321", AddedAt: old, Principal: "hotline", RequestID: "w-1", RequestHash: "w"},
		func(*intake.Submission) error { return nil }); err != nil {
		t.Fatal(err)
	}
	answered := create("R-ANSWERED", old, true)
	open := create("R-OPEN", old, false)

	// The rebuilt case.received of a case before its erasure, to compare.
	eventID := uuid.NewString()
	rebuild := func(s *intake.Submission) []byte {
		t.Helper()
		var out [][]byte
		if err := pgdb.InTx(ctx, pool, func(tx pgx.Tx) error {
			var err error
			out, err = postgres.Rebuild(ctx, tx, []outbox.Ref{{EventID: eventID, Ref: s.CaseID}})
			return err
		}); err != nil {
			t.Fatal(err)
		}
		return out[0]
	}
	eventBefore := rebuild(closedOld)

	sweepCtx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() {
		done <- st.RetainContacts(sweepCtx, retention, 20*time.Millisecond, func() time.Time { return now }, slog.Default())
	}()
	erased := map[string]bool{}
	deadline := time.Now().Add(10 * time.Second)
	for len(erased) < 3 && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
		rows, err := pool.Query(ctx, `SELECT hotline_order_no FROM submissions WHERE contact_erased_at IS NOT NULL`)
		if err != nil {
			t.Fatal(err)
		}
		nos, err := pgx.CollectRows(rows, pgx.RowTo[string])
		if err != nil {
			t.Fatal(err)
		}
		for _, no := range nos {
			erased[no] = true
		}
	}
	time.Sleep(100 * time.Millisecond) // a few more sweeps: they must change nothing
	stop()
	if err := <-done; err != nil {
		t.Fatal(err)
	}

	for _, tc := range []struct {
		s     *intake.Submission
		erase bool
	}{{closedOld, true}, {closedRecent, false}, {reopened, false}, {withdrawn, true}, {answered, true}, {open, false}} {
		no := tc.s.WorkOrder.HotlineOrderNo
		got, err := st.Get(ctx, intake.Key{CaseID: tc.s.CaseID})
		if err != nil {
			t.Fatal(err)
		}
		wo := got.WorkOrder
		var raw string
		if err := pool.QueryRow(ctx, `SELECT body::text FROM submissions WHERE case_id = $1`, tc.s.CaseID).Scan(&raw); err != nil {
			t.Fatal(err)
		}
		clear := strings.Contains(raw, "13812345678") || strings.Contains(raw, "王小明")
		switch {
		case tc.erase && (got.ContactErasedAt.IsZero() || clear || wo.CallerName != "王**" || wo.CallerPhone != "138****5678" ||
			wo.Content != "噪声扰民，请回电138****5678"):
			t.Errorf("%s: not erased: %+v at %v (stored clear: %v)", no, wo, got.ContactErasedAt, clear)
		case !tc.erase && (!got.ContactErasedAt.IsZero() || !clear || wo.CallerPhone != "13812345678"):
			t.Errorf("%s: erased before its time: %+v at %v", no, wo, got.ContactErasedAt)
		}
		if erased[no] != tc.erase {
			t.Errorf("%s: erased %v, want %v", no, erased[no], tc.erase)
		}
	}
	var fu string
	if err := pool.QueryRow(ctx, `SELECT text FROM follow_ups WHERE request_id = 'w-1'`).Scan(&fu); err != nil {
		t.Fatal(err)
	}
	if fu != "市民来电撤单，新号码139****4321" {
		t.Errorf("withdrawal's text = %q, want its number masked", fu)
	}
	if after := rebuild(closedOld); !bytes.Equal(eventBefore, after) {
		t.Error("erasing the stored contact changed the case.received the outbox rebuilds")
	}
	// A second sweep finds nothing left to do.
	if n, err := st.EraseContacts(ctx, now.Add(-retention), now, 500); err != nil || n != 0 {
		t.Errorf("second sweep erased %d (%v), want 0", n, err)
	}
}
