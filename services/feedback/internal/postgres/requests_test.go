package postgres_test

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"sync"
	"testing"
	"testing/fstest"

	"github.com/gridflow/gridflow/pkg/consumer"
	"github.com/gridflow/gridflow/pkg/fault"
	"github.com/gridflow/gridflow/pkg/outbox"
	"github.com/gridflow/gridflow/pkg/pgdb"
	"github.com/gridflow/gridflow/pkg/testenv"
	"github.com/gridflow/gridflow/pkg/timer"
	"github.com/gridflow/gridflow/services/feedback/internal/feedback"
	"github.com/gridflow/gridflow/services/feedback/internal/postgres"

	typesv1 "github.com/gridflow/gridflow/proto/gen/go/gridflow/types/v1"
)

func wantAlreadyExists(t *testing.T, err error, resource string) {
	t.Helper()
	var f *fault.Error
	if !errors.As(err, &f) || f.Kind != fault.AlreadyExists || f.Resource != resource {
		t.Fatalf("err = %v, want ALREADY_EXISTS naming %s", err, resource)
	}
}

// A callback request is recorded once: concurrent twins and a later repeat
// get the first callback's id; the id with other content, or for a
// re-check, is ALREADY_EXISTS naming that callback; another principal's
// request with the same id is its own.
func TestCallbackRequestsAreIdempotent(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	k := e.receive(typesv1.Source_SOURCE_HOTLINE, false)
	e.classify(k, "")
	e.work(k, 0, false)
	// Not reached: the case stays replied, so a second application would
	// record a second callback.
	in := feedback.CallbackInput{RequestID: "cb-1", CaseID: k.id, Note: "无人接听"}
	ids := make([]string, 4)
	errs := make([]error, 4)
	var wg sync.WaitGroup
	for i := range ids {
		wg.Go(func() { _, ids[i], errs[i] = e.svc.RecordCallback(ctx, everything, "hotline", in) })
	}
	wg.Wait()
	for i := range ids {
		if errs[i] != nil || ids[i] == "" || ids[i] != ids[0] {
			t.Fatalf("call %d: %q, %v (call 0: %q)", i, ids[i], errs[i], ids[0])
		}
	}
	if n := len(e.state(k.id).Callbacks); n != 1 {
		t.Fatalf("%d callbacks recorded, want 1", n)
	}
	c, id, err := e.svc.RecordCallback(ctx, everything, "hotline", in)
	if err != nil || id != ids[0] || c.ID != k.id {
		t.Fatalf("repeat: %q, %v; want %q", id, err, ids[0])
	}
	resource := "cases/" + k.id + "/callbacks/" + ids[0]
	other := in
	other.Note = "已接通"
	_, _, err = e.svc.RecordCallback(ctx, everything, "hotline", other)
	wantAlreadyExists(t, err, resource)
	_, _, err = e.svc.RecordRecheck(ctx, everything, "hotline", "", feedback.RecheckInput{RequestID: in.RequestID, CaseID: k.id, Passed: true})
	wantAlreadyExists(t, err, resource)
	if _, id, err := e.svc.RecordCallback(ctx, everything, "dispatcher:"+street, in); err != nil || id == ids[0] {
		t.Fatalf("another principal's request: %q, %v", id, err)
	}
	if n := len(e.state(k.id).Callbacks); n != 2 {
		t.Fatalf("%d callbacks recorded, want 2", n)
	}
}

// Rows of feedback's old requests table are moved: the id stays used and
// is ALREADY_EXISTS naming requests/<id>, as feedback named it.
func TestOldRequestsAreMoved(t *testing.T) {
	ctx := context.Background()
	pool, err := pgdb.Open(ctx, testenv.DatabaseURL(t), postgres.Schema, 4)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	old := fstest.MapFS{}
	for _, name := range []string{"0001_log.sql", "0002_views.sql", "0003_figures.sql"} {
		b, err := fs.ReadFile(os.DirFS("migrations"), name)
		if err != nil {
			t.Fatal(err)
		}
		old["migrations/"+name] = &fstest.MapFile{Data: b}
	}
	if err := pgdb.Migrate(ctx, pool, postgres.Schema, outbox.Migrations, consumer.Migrations, timer.Migrations,
		pgdb.Migrations{Name: "feedback", FS: old, Dir: "migrations"}); err != nil {
		t.Fatal(err)
	}
	const caseID = "00000000-0000-7000-8000-000000000001"
	if _, err := pool.Exec(ctx, `INSERT INTO requests (principal, request_id, hash, outcome) VALUES ($1, $2, $3, $4)`,
		"hotline", "old-1", "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08", "cb-0001"); err != nil {
		t.Fatal(err)
	}
	if err := pgdb.Migrate(ctx, pool, postgres.Schema, postgres.Migrations...); err != nil {
		t.Fatal(err)
	}
	var gone bool
	var outcome string
	if err := pool.QueryRow(ctx, `SELECT to_regclass('requests') IS NULL,
		(SELECT convert_from(result, 'UTF8')::json->>'id' FROM idempotency_requests WHERE request_id = 'old-1')`).Scan(&gone, &outcome); err != nil || !gone || outcome != "cb-0001" {
		t.Fatalf("old table gone %v, moved outcome %q, %v", gone, outcome, err)
	}
	err = postgres.New(pool, nil).InTx(ctx, func(tx feedback.Tx) error {
		_, _, err := tx.BeginRequest(ctx, feedback.Request{Principal: "hotline", ID: "old-1", Method: "RecordCallback",
			Content: feedback.CallbackInput{RequestID: "old-1", CaseID: caseID}})
		return err
	})
	wantAlreadyExists(t, err, "requests/old-1")
}
