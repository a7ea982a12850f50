package events

import (
	"context"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/gridflow/gridflow/pkg/consumer"
	"github.com/jackc/pgx/v5"
	"google.golang.org/protobuf/proto"

	eventsv1 "github.com/gridflow/gridflow/proto/gen/go/gridflow/events/v1"
)

// FuzzClosures: whatever arrives on intake's closures consumer
// (case.closed, case.reopened — or anything a publisher gets wrong) is
// decoded by the Closures handler. Properties: no panic; a refusal is
// permanent (terminated to the dead letters, never retried) and changes
// nothing; an accepted event changes exactly one case, named by a uuid, to
// closed for case.closed and open for case.reopened, at a time its store
// can keep. Seeds: testdata/fuzz/FuzzClosures.
func FuzzClosures(f *testing.F) {
	published := time.Date(2026, 3, 2, 2, 0, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, b []byte) {
		type change struct {
			caseID string
			closed bool
			at     time.Time
		}
		var got []change
		h := Closures(func(_ context.Context, _ pgx.Tx, caseID string, closed bool, at time.Time) error {
			got = append(got, change{caseID, closed, at})
			return nil
		})
		err := h(context.Background(), nil, consumer.Message{Subject: "grid.case.closed.310106.310106022", Data: b, Published: published})
		if err != nil {
			if !consumer.IsPermanent(err) || len(got) != 0 {
				t.Fatalf("refused with %v (permanent %v) after %d changes", err, consumer.IsPermanent(err), len(got))
			}
			return
		}
		if len(got) != 1 {
			t.Fatalf("%d changes, want 1", len(got))
		}
		var env eventsv1.Envelope
		if err := proto.Unmarshal(b, &env); err != nil {
			t.Fatalf("accepted what does not decode: %v", err)
		}
		c := got[0]
		if _, err := uuid.Parse(c.caseID); err != nil {
			t.Fatalf("changed case %q", c.caseID)
		}
		if want := env.GetCaseClosed() != nil; c.closed != want || (!want && env.GetCaseReopened() == nil) {
			t.Fatalf("%T sets closed %v", env.GetPayload(), c.closed)
		}
		if _, err := c.at.MarshalJSON(); err != nil {
			t.Fatalf("changed at %v", c.at)
		}
	})
}
