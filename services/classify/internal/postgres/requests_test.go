package postgres_test

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"testing"
	"testing/fstest"

	"github.com/gridflow/gridflow/pkg/consumer"
	"github.com/gridflow/gridflow/pkg/fault"
	"github.com/gridflow/gridflow/pkg/outbox"
	"github.com/gridflow/gridflow/pkg/pgdb"
	"github.com/gridflow/gridflow/pkg/testenv"
	"github.com/gridflow/gridflow/pkg/timer"
	"github.com/gridflow/gridflow/services/classify/internal/classify"
	"github.com/gridflow/gridflow/services/classify/internal/postgres"
)

func wantAlreadyExists(t *testing.T, err error, resource string) {
	t.Helper()
	var f *fault.Error
	if !errors.As(err, &f) || f.Kind != fault.AlreadyExists || f.Resource != resource {
		t.Fatalf("err = %v, want ALREADY_EXISTS naming %s", err, resource)
	}
}

// One request id is one request: used for ResolveReview, it cannot be used
// for Reclassify.
func TestRequestIDForAnotherMethodIsAlreadyExists(t *testing.T) {
	e := newEnv(t)
	c := e.hotline("有点事情反映一下", "")
	e.receive(t, c)
	v, err := e.svc.ResolveReview(admin(), classify.Decision{RequestID: "once", CaseID: c.ID, ItemCode: "06020"})
	if err != nil {
		t.Fatal(err)
	}
	_, err = e.svc.Reclassify(admin(), classify.Decision{RequestID: "once", CaseID: c.ID, ItemCode: "06021"})
	wantAlreadyExists(t, err, (classify.StoredRequest{CaseID: c.ID, Version: v.Version}).Resource())
}

// Rows of classify's old requests table are moved: the id stays used and
// ALREADY_EXISTS names the version the first request wrote; the answer is
// stored in the new encoding.
func TestOldRequestsAreMoved(t *testing.T) {
	ctx := context.Background()
	pool, err := pgdb.Open(ctx, testenv.DatabaseURL(t), postgres.Schema, 4)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	old := fstest.MapFS{}
	b, err := fs.ReadFile(os.DirFS("migrations"), "0001_classify.sql")
	if err != nil {
		t.Fatal(err)
	}
	old["migrations/0001_classify.sql"] = &fstest.MapFile{Data: b}
	if err := pgdb.Migrate(ctx, pool, postgres.Schema, outbox.Migrations, consumer.Migrations, timer.Migrations,
		pgdb.Migrations{Name: "classify", FS: old, Dir: "migrations"}); err != nil {
		t.Fatal(err)
	}
	const caseID = "00000000-0000-7000-8000-000000000001"
	if _, err := pool.Exec(ctx, `INSERT INTO requests (principal, request_id, request_hash, case_id, version) VALUES ($1, $2, $3, $4, $5)`,
		"dispatcher:310106022", "old-1", "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08", caseID, 3); err != nil {
		t.Fatal(err)
	}
	if err := pgdb.Migrate(ctx, pool, postgres.Schema, postgres.Migrations...); err != nil {
		t.Fatal(err)
	}
	var gone bool
	var answer string
	if err := pool.QueryRow(ctx, `SELECT to_regclass('requests') IS NULL,
		(SELECT convert_from(result, 'UTF8') FROM idempotency_requests WHERE request_id = 'old-1')`).Scan(&gone, &answer); err != nil || !gone {
		t.Fatalf("old table gone %v, %v", gone, err)
	}
	if answer != `{"case_id" : "`+caseID+`", "version" : 3}` {
		t.Errorf("moved answer %s", answer)
	}
	st := postgres.New(pool, nil, nil)
	err = st.InTx(ctx, func(tx classify.Tx) error {
		_, err := tx.BeginRequest(ctx, classify.Request{Principal: "dispatcher:310106022", ID: "old-1", Method: "ResolveReview",
			Content: classify.Decision{RequestID: "old-1", CaseID: caseID, ItemCode: "06020"}})
		return err
	})
	wantAlreadyExists(t, err, "cases/"+caseID+"/classifications/3")
}
