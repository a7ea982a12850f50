package memstore_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/gridflow/gridflow/services/classify/internal/classify"
	"github.com/gridflow/gridflow/services/classify/internal/classify/memstore"
)

// A failed transaction leaves nothing behind, as in PostgreSQL.
func TestFailedTransactionUndoes(t *testing.T) {
	ctx := context.Background()
	st := memstore.New()
	inc := &classify.Incident{ID: "i1", Subject: "06020", Place: classify.Place{Site: "s"}, CaseIDs: []string{"c0"},
		FirstAt: time.Unix(0, 0), LastAt: time.Unix(0, 0)}
	if err := st.InTx(ctx, func(tx classify.Tx) error { return tx.SaveIncident(ctx, inc) }); err != nil {
		t.Fatal(err)
	}
	boom := errors.New("boom")
	err := st.InTx(ctx, func(tx classify.Tx) error {
		if _, err := tx.CreateCase(ctx, &classify.Record{Case: classify.Case{ID: "c1"}}); err != nil {
			return err
		}
		moved := *inc
		moved.Place = classify.Place{Site: "elsewhere"}
		moved.CaseIDs = append(moved.CaseIDs, "c1")
		if err := tx.SaveIncident(ctx, &moved); err != nil {
			return err
		}
		if err := tx.ScheduleFallback(ctx, "c1", time.Unix(60, 0)); err != nil {
			return err
		}
		if err := tx.Emit(ctx, classify.Classified{}); err != nil {
			return err
		}
		return boom
	})
	if !errors.Is(err, boom) {
		t.Fatalf("InTx = %v", err)
	}
	if _, err := st.GetRecord(ctx, "c1"); !errors.Is(err, classify.ErrNotFound) {
		t.Errorf("case survived the rollback: %v", err)
	}
	if len(st.Events()) != 0 || len(st.DueFallbacks(time.Unix(120, 0))) != 0 {
		t.Error("events or timers survived the rollback")
	}
	err = st.InTx(ctx, func(tx classify.Tx) error {
		got, err := tx.FindIncidents(ctx, classify.IncidentQuery{Site: "s", From: time.Unix(0, 0), To: time.Unix(0, 0)})
		if err != nil {
			return err
		}
		if len(got) != 1 || len(got[0].CaseIDs) != 1 {
			t.Errorf("incident after rollback: %+v", got)
		}
		if got, _ := tx.FindIncidents(ctx, classify.IncidentQuery{Site: "elsewhere", From: time.Unix(0, 0), To: time.Unix(0, 0)}); len(got) != 0 {
			t.Errorf("index kept the rolled-back place: %+v", got)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
