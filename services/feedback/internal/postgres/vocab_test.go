package postgres_test

import (
	"context"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/uuid"
	"github.com/gridflow/gridflow/pkg/reference"
	"github.com/gridflow/gridflow/services/feedback/internal/feedback"
)

// A case's area codes became the shared reference.AreaCodes, whose json tags
// differ from the Go field names feedback stored before, and its urgency
// and appeal type pkg/reference's (stored as the same strings). Rows
// written the old way read back the same.
func TestOldCaseBodiesReadBack(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	at := time.Date(2026, 3, 2, 2, 0, 0, 0, time.UTC)
	c := &feedback.Case{ID: uuid.NewString(), Number: "GF-20260302-000001", Source: reference.FromHotline,
		Area:       reference.AreaCodes{District: district, Street: street, Community: "310106022001", Grid: "0"},
		AppealType: reference.Complaint, Urgency: reference.Urgent, State: feedback.Received, ReceivedAt: at, UpdatedAt: at}
	if err := e.store.InTx(ctx, func(tx feedback.Tx) error { return tx.SaveCase(ctx, c) }); err != nil {
		t.Fatal(err)
	}
	load := func() *feedback.Case {
		got, err := e.store.FindCase(ctx, c.ID, "", "")
		if err != nil {
			t.Fatal(err)
		}
		return got
	}
	want := load()
	if want.Area != c.Area || want.Urgency != c.Urgency || want.AppealType != c.AppealType {
		t.Fatalf("stored %+v %q %q, want %+v %q %q", want.Area, want.Urgency, want.AppealType, c.Area, c.Urgency, c.AppealType)
	}
	const oldArea = `{"District":"310106","Street":"310106022","Community":"310106022001","Grid":"0"}`
	if _, err := e.pool.Exec(ctx, `UPDATE cases SET body = jsonb_set(body, '{Area}', $2::jsonb) WHERE case_id = $1`,
		c.ID, oldArea); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(want, load()); diff != "" {
		t.Errorf("old body mismatch (-want +got):\n%s", diff)
	}
}
