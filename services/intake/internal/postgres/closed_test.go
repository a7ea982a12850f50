package postgres_test

import (
	"context"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/gridflow/gridflow/pkg/consumer"
	"github.com/gridflow/gridflow/pkg/pgdb"
	"github.com/gridflow/gridflow/services/intake/internal/events"
	"github.com/gridflow/gridflow/services/intake/internal/intake"
	"github.com/gridflow/gridflow/services/intake/internal/postgres"
	"github.com/jackc/pgx/v5"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	eventsv1 "github.com/gridflow/gridflow/proto/gen/go/gridflow/events/v1"
)

// Closed and reopened arrive in any order; the newest wins.
func TestClosuresSetClosedNewestWins(t *testing.T) {
	st, pool := newStore(t)
	ctx := context.Background()
	s, _, err := st.Create(ctx, submission("H-closed", "h"))
	if err != nil {
		t.Fatal(err)
	}
	h := events.Closures(postgres.SetClosed)
	t0 := time.Date(2026, 3, 2, 2, 0, 0, 0, time.UTC)
	deliver := func(at time.Time, closed bool) {
		t.Helper()
		env := &eventsv1.Envelope{EventId: uuid.NewString(), CaseId: s.CaseID, OccurredAt: timestamppb.New(at)}
		if closed {
			env.Type, env.Payload = "case.closed", &eventsv1.Envelope_CaseClosed{CaseClosed: &eventsv1.CaseClosed{}}
		} else {
			env.Type, env.Payload = "case.reopened", &eventsv1.Envelope_CaseReopened{CaseReopened: &eventsv1.CaseReopened{}}
		}
		data, _ := proto.Marshal(env)
		if err := pgdb.InTx(ctx, pool, func(tx pgx.Tx) error {
			return h(ctx, tx, consumer.Message{Subject: "grid.case.x", Data: data})
		}); err != nil {
			t.Fatal(err)
		}
	}
	closed := func() bool {
		t.Helper()
		got, err := st.Get(ctx, intake.Key{CaseID: s.CaseID})
		if err != nil {
			t.Fatal(err)
		}
		return got.Closed
	}
	deliver(t0.Add(2*time.Hour), true) // closed after the rework
	deliver(t0, false)                 // the earlier reopening, late
	if !closed() {
		t.Fatal("a late reopening opened a case closed after it")
	}
	deliver(t0.Add(3*time.Hour), false)
	if closed() {
		t.Fatal("a newer reopening left the case closed")
	}
	if err := pgdb.InTx(ctx, pool, func(tx pgx.Tx) error {
		return h(ctx, tx, consumer.Message{Subject: "grid.case.x", Data: []byte("junk")})
	}); !consumer.IsPermanent(err) {
		t.Fatalf("junk payload: %v, want permanent", err)
	}
}
