package idempotency_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/gridflow/gridflow/pkg/fault"
	"github.com/gridflow/gridflow/pkg/idempotency"
	"github.com/gridflow/gridflow/pkg/pgdb"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// doQueued is do with the protocol's statements queued on batches, as
// dispatch's store sends them: the lock and look-up with the change's
// first statement, the result with its last.
func doQueued(ctx context.Context, pool *pgxpool.Pool, req idempotency.Request, note string, during func()) (res idempotency.Result, ran bool, err error) {
	err = pgdb.InTx(ctx, pool, func(tx pgx.Tx) error {
		ran = false
		b := &pgx.Batch{}
		prior, err := idempotency.QueueBegin(b, req)
		if err != nil {
			return err
		}
		var count int
		b.Queue(`SELECT count(*) FROM effects`).QueryRow(func(r pgx.Row) error { return r.Scan(&count) })
		if err := tx.SendBatch(ctx, b).Close(); err != nil {
			return err
		}
		p, err := prior()
		if err != nil {
			return err
		}
		if p != nil {
			res = *p
			return nil
		}
		if during != nil {
			during()
		}
		ran = true
		res = idempotency.Result{Resource: fmt.Sprintf("effects/%d", count+1), Body: []byte(`{"note":"` + note + `"}`)}
		b = &pgx.Batch{}
		b.Queue(`INSERT INTO effects (request_id, note) VALUES ($1, $2)`, req.ID, note)
		if err := idempotency.QueueSave(b, req, res); err != nil {
			return err
		}
		return tx.SendBatch(ctx, b).Close()
	})
	return res, ran, err
}

// The queued protocol is the protocol: a repeat gets the first result
// whichever way either was sent, other content is ALREADY_EXISTS, twins
// wait at the lock and apply once, a bad id is refused before anything is
// sent.
func TestQueuedProtocol(t *testing.T) {
	pool := setup(t)
	ctx := context.Background()
	req := request(t, "department:310106022-pcs", "q-1", "AcknowledgeTask", ackContent{"t1", "已签收"})
	first, ran, err := doQueued(ctx, pool, req, "first", nil)
	if err != nil || !ran {
		t.Fatalf("first: ran %v, %v", ran, err)
	}
	for name, run := range map[string]func(context.Context, *pgxpool.Pool, idempotency.Request, string, func()) (idempotency.Result, bool, error){
		"queued": doQueued, "sent": do} {
		again, ran, err := run(ctx, pool, req, "second", nil)
		if err != nil || ran || again.Resource != first.Resource || string(again.Body) != string(first.Body) {
			t.Fatalf("%s repeat: %+v ran %v, %v; want the first %+v", name, again, ran, err, first)
		}
	}
	_, _, err = doQueued(ctx, pool, request(t, "department:310106022-pcs", "q-1", "AcknowledgeTask", ackContent{"t1", "另一条"}), "x", nil)
	wantAlreadyExists(t, err, first.Resource)
	if _, _, err := doQueued(ctx, pool, request(t, "hotline", "", "RecordCallback", ackContent{}), "x", nil); fault.KindOf(err) != fault.InvalidArgument {
		t.Fatalf("empty request id: %v, want INVALID_ARGUMENT", err)
	}

	twin := request(t, "hotline", "q-twin", "RecordCallback", ackContent{"c1", "满意"})
	inFirst, release := make(chan struct{}), make(chan struct{})
	var (
		wg           sync.WaitGroup
		ranA, ranB   bool
		errA, errB   error
		resA, resB   idempotency.Result
		secondWaited = true
	)
	wg.Go(func() { resA, ranA, errA = doQueued(ctx, pool, twin, "a", func() { close(inFirst); <-release }) })
	<-inFirst
	done := make(chan struct{})
	wg.Go(func() { defer close(done); resB, ranB, errB = doQueued(ctx, pool, twin, "b", nil) })
	select {
	case <-done:
		secondWaited = false
	case <-time.After(300 * time.Millisecond):
	}
	close(release)
	wg.Wait()
	if !secondWaited {
		t.Fatal("the twin did not wait for the first request")
	}
	if errA != nil || errB != nil || !ranA || ranB || resA.Resource != resB.Resource || string(resA.Body) != string(resB.Body) {
		t.Fatalf("twins: first %+v ran %v err %v; second %+v ran %v err %v", resA, ranA, errA, resB, ranB, errB)
	}
	if n := effects(t, pool); n != 2 {
		t.Fatalf("%d effects, want 2", n)
	}
}
