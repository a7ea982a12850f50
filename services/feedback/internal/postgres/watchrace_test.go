package postgres_test

import (
	"context"
	"math/rand/v2"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/gridflow/gridflow/services/feedback/internal/feedback"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	eventsv1 "github.com/gridflow/gridflow/proto/gen/go/gridflow/events/v1"
)

// TestWatcherNeverSkipsUnderConcurrentWriters: writers on different cases
// append to the log at once and commit in another order than they drew
// their seqs (a pause between the append and the commit), while a watcher
// of the whole log reads on from its cursor as WatchCaseUpdates does. The
// watcher ends up with every event exactly once: none is stepped over
// because it became visible after a higher one was read.
func TestWatcherNeverSkipsUnderConcurrentWriters(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	const writers, perWriter = 8, 40

	var wg sync.WaitGroup
	for w := range writers {
		wg.Go(func() {
			caseID := uuid.NewString()
			for i := range perWriter {
				env := &eventsv1.Envelope{EventId: uuid.NewString(), Type: "case.followed_up", CaseId: caseID,
					OccurredAt: timestamppb.Now(), Version: 1,
					Payload: &eventsv1.Envelope_CaseFollowedUp{CaseFollowedUp: &eventsv1.CaseFollowedUp{
						FollowUpId: uuid.NewString(), Kind: eventsv1.FollowUpKind_FOLLOW_UP_KIND_URGE}}}
				raw, err := proto.Marshal(env)
				if err != nil {
					t.Error(err)
					return
				}
				err = e.store.InTx(ctx, func(tx feedback.Tx) error {
					if err := tx.LockCase(ctx, caseID); err != nil {
						return err
					}
					ev := feedback.Event{ID: env.GetEventId(), CaseID: caseID, Type: "case.followed_up", At: time.Now(), Raw: raw}
					if err := tx.(feedback.BatchTx).SaveBatch(ctx, []*feedback.Event{&ev}, nil, nil); err != nil {
						return err
					}
					// Hold the drawn seq uncommitted while others commit theirs.
					time.Sleep(time.Duration(rand.IntN(3000)) * time.Microsecond)
					return nil
				})
				if err != nil {
					t.Errorf("writer %d, event %d: %v", w, i, err)
					return
				}
			}
		})
	}
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()

	seen := map[int64]int{}
	var cursor int64
	read := func() int {
		evs, err := e.store.LogAfter(ctx, cursor, "", 50)
		if err != nil {
			t.Fatal(err)
		}
		for _, ev := range evs {
			seen[ev.Seq]++
			cursor = ev.Seq
		}
		return len(evs)
	}
	for running := true; running; {
		select {
		case <-done:
			running = false
		default:
			read()
		}
	}
	// Caught up once nothing more comes (every writer has committed).
	for deadline := time.Now().Add(10 * time.Second); len(seen) < writers*perWriter && time.Now().Before(deadline); {
		if read() == 0 {
			time.Sleep(10 * time.Millisecond)
		}
	}

	var all []int64
	rows, err := e.pool.Query(ctx, `SELECT seq FROM events ORDER BY seq`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var s int64
		if err := rows.Scan(&s); err != nil {
			t.Fatal(err)
		}
		all = append(all, s)
	}
	if len(all) != writers*perWriter {
		t.Fatalf("the log holds %d events, want %d", len(all), writers*perWriter)
	}
	var missed []int64
	for _, s := range all {
		if seen[s] == 0 {
			missed = append(missed, s)
		}
	}
	for s, n := range seen {
		if n > 1 {
			t.Errorf("event %d read %d times", s, n)
		}
	}
	if len(missed) > 0 {
		t.Errorf("the watcher stepped over %d of %d events (seqs %v …)", len(missed), len(all), missed[:min(len(missed), 10)])
	}
}
