package postgres_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io/fs"
	"os"
	"testing"
	"testing/fstest"

	"github.com/google/uuid"
	"github.com/gridflow/gridflow/pkg/consumer"
	"github.com/gridflow/gridflow/pkg/fault"
	"github.com/gridflow/gridflow/pkg/outbox"
	"github.com/gridflow/gridflow/pkg/pgdb"
	"github.com/gridflow/gridflow/pkg/testenv"
	"github.com/gridflow/gridflow/pkg/timer"
	"github.com/gridflow/gridflow/services/dispatch/internal/dispatch"
	"github.com/gridflow/gridflow/services/dispatch/internal/postgres"
)

// migrationsBefore is dispatch's own migration set as it stood before the
// requests moved to pkg/idempotency.
func migrationsBefore(t *testing.T) pgdb.Migrations {
	t.Helper()
	old := fstest.MapFS{}
	for _, name := range []string{"0001_dispatch.sql"} {
		b, err := fs.ReadFile(os.DirFS("migrations"), name)
		if err != nil {
			t.Fatal(err)
		}
		old["migrations/"+name] = &fstest.MapFile{Data: b}
	}
	return pgdb.Migrations{Name: "dispatch", FS: old, Dir: "migrations"}
}

// A request stored in dispatch's old requests table is moved whole: after
// the upgrade its repeat gets the first result without running again, and
// the same id with other content is ALREADY_EXISTS naming the task.
func TestOldRequestsAreMovedAndStillAnswer(t *testing.T) {
	ctx := context.Background()
	pool, err := pgdb.Open(ctx, testenv.DatabaseURL(t), postgres.Schema, 4)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	if err := pgdb.Migrate(ctx, pool, postgres.Schema, outbox.Migrations, consumer.Migrations, timer.Migrations, migrationsBefore(t)); err != nil {
		t.Fatal(err)
	}

	// A first AcknowledgeTask as the old code stored it: its hash was
	// SHA-256 over method, NUL and the input's JSON, its result JSON.
	in := dispatch.AckInput{RequestID: "ack-1", TaskID: uuid.NewString(), Note: "已签收"}
	content, _ := json.Marshal(in)
	sum := sha256.Sum256(append([]byte("AcknowledgeTask\x00"), content...))
	first := &dispatch.Result{Task: &dispatch.Task{ID: in.TaskID, CaseID: uuid.NewString(), Department: "310106022-pcs", State: dispatch.Acknowledged}}
	result, _ := json.Marshal(first)
	if _, err := pool.Exec(ctx, `INSERT INTO requests (principal, request_id, method, request_hash, result) VALUES ($1, $2, $3, $4, $5)`,
		"department:310106022-pcs", in.RequestID, "AcknowledgeTask", hex.EncodeToString(sum[:]), result); err != nil {
		t.Fatal(err)
	}

	if err := pgdb.Migrate(ctx, pool, postgres.Schema, postgres.Migrations...); err != nil {
		t.Fatal(err)
	}
	var old bool
	if err := pool.QueryRow(ctx, `SELECT to_regclass('requests') IS NOT NULL`).Scan(&old); err != nil || old {
		t.Fatalf("old requests table still there: %v %v", old, err)
	}

	st := postgres.New(pool, nil)
	req := &dispatch.Request{Principal: "department:310106022-pcs", ID: in.RequestID, Method: "AcknowledgeTask", Content: in}
	ran := false
	op := func(*dispatch.Case) (*dispatch.Result, *dispatch.Commit, error) {
		ran = true
		return nil, nil, errors.New("a repeat must not run")
	}
	got, err := st.Update(ctx, dispatch.Target{TaskID: in.TaskID}, req, op)
	if err != nil || ran || got.Task == nil || got.Task.ID != first.Task.ID || got.Task.State != dispatch.Acknowledged {
		t.Fatalf("repeat after the upgrade: %+v, ran %v, %v", got, ran, err)
	}

	other := in
	other.Note = "另一个"
	req.Content = other
	_, err = st.Update(ctx, dispatch.Target{TaskID: in.TaskID}, req, op)
	var f *fault.Error
	if !errors.As(err, &f) || f.Kind != fault.AlreadyExists || f.Resource != "tasks/"+in.TaskID || ran {
		t.Fatalf("same id, other content: %v, want ALREADY_EXISTS naming tasks/%s", err, in.TaskID)
	}
}
