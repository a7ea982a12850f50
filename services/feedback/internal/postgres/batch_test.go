package postgres_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/gridflow/gridflow/pkg/pgdb"
	"github.com/gridflow/gridflow/services/feedback/internal/events"
	"github.com/gridflow/gridflow/services/feedback/internal/feedback"
	"github.com/gridflow/gridflow/services/feedback/internal/postgres"
	"github.com/jackc/pgx/v5"
	"google.golang.org/protobuf/types/known/timestamppb"

	eventsv1 "github.com/gridflow/gridflow/proto/gen/go/gridflow/events/v1"
	typesv1 "github.com/gridflow/gridflow/proto/gen/go/gridflow/types/v1"
)

// handleBatch handles envelopes as the consumer's batch handler does on
// the store's transaction: their cases locked at once, then a
// feedback.Applier — each event applied in memory, everything written at
// the end.
func (e *env) handleBatch(datas [][]byte) {
	e.t.Helper()
	ctx := context.Background()
	tx, err := pgdb.BeginLazy(ctx, e.served, pgx.TxOptions{}) // the runner's, for a Deduped consumer
	if err != nil {
		e.t.Fatal(err)
	}
	defer tx.Rollback(ctx) //nolint:errcheck // after Commit a no-op
	evs := make([]feedback.Event, len(datas))
	var ids, eventIDs []string
	for i, d := range datas {
		if evs[i], err = events.Decode(d); err != nil {
			e.t.Fatal(err)
		}
		ids, eventIDs = append(ids, evs[i].CaseID), append(eventIDs, evs[i].ID)
	}
	if err := postgres.LockCases(ctx, tx, ids); err != nil {
		e.t.Fatal(err)
	}
	bind := e.store.Bind
	if e.announcer != nil {
		bind = e.store.BindQuiet
	}
	a, err := e.svc.NewApplier(ctx, bind(tx).(feedback.BatchTx), ids, eventIDs)
	if err != nil {
		e.t.Fatal(err)
	}
	for _, ev := range evs {
		if err := a.Apply(ctx, ev); err != nil {
			e.t.Fatalf("apply %s: %v", ev.Type, err)
		}
	}
	if err := a.Flush(ctx); err != nil {
		e.t.Fatal(err)
	}
	if err := tx.Commit(ctx); err != nil {
		e.t.Fatal(err)
	}
	if e.announcer != nil {
		e.announcer.Committed()
	}
}

func (e *env) views() map[string]string {
	e.t.Helper()
	rows, err := e.pool.Query(context.Background(), `SELECT case_id, body::text FROM cases`)
	if err != nil {
		e.t.Fatal(err)
	}
	out := map[string]string{}
	for rows.Next() {
		var id, body string
		if err := rows.Scan(&id, &body); err != nil {
			e.t.Fatal(err)
		}
		out[id] = body
	}
	return out
}

// sideRows are the rows kept beside the views — figures, patrol reports,
// replies and callback timers — each as text, by table and key.
func (e *env) sideRows() map[string]string {
	e.t.Helper()
	rows, err := e.pool.Query(context.Background(), `
		SELECT 'figure_cases/' || case_id, f::text FROM figure_cases f
		UNION ALL SELECT 'figure_tasks/' || case_id || '/' || task_id, f::text FROM figure_tasks f
		UNION ALL SELECT 'patrol_reports/' || case_id, p::text FROM patrol_reports p
		UNION ALL SELECT 'replies/' || reply_id, r::text FROM replies r
		UNION ALL SELECT 'timers/' || kind || '/' || key, due_at::text FROM timers WHERE kind LIKE 'feedback.callback%'`)
	if err != nil {
		e.t.Fatal(err)
	}
	out := map[string]string{}
	for rows.Next() {
		var k, v string
		if err := rows.Scan(&k, &v); err != nil {
			e.t.Fatal(err)
		}
		out[k] = v
	}
	if err := rows.Err(); err != nil {
		e.t.Fatal(err)
	}
	return out
}

// TestBatchesMatchRebuild hands random lives of several cases — a primary
// and its duplicates among them, some events late and out of order, a
// withdrawal now and then, some redelivered — to feedback in random
// batches, and requires the views the batches left to be those a rebuild
// from the log makes (the decisions they took are in the log).
func TestBatchesMatchRebuild(t *testing.T) {
	for seed := range uint64(6) {
		t.Run(fmt.Sprint(seed), func(t *testing.T) {
			e := newEnv(t)
			r := rand.New(rand.NewPCG(seed, 17))
			var held [][]byte
			e.held = &held
			cases := make([]kase, 5)
			stage := make([]int, len(cases))
			tasks := make([]string, len(cases))
			for i := range cases {
				cases[i] = e.receive([]typesv1.Source{typesv1.Source_SOURCE_HOTLINE, typesv1.Source_SOURCE_PATROL}[r.IntN(2)], r.IntN(3) == 0)
			}
			for range 60 {
				i := r.IntN(len(cases))
				k := cases[i]
				e.skew = 0
				if r.IntN(5) == 0 {
					e.skew = -time.Duration(1+r.IntN(30)) * time.Minute // late: older than what the case has seen
				}
				due := e.clock.Now().Add(48 * time.Hour)
				switch stage[i] {
				case 0:
					primary := ""
					if i > 0 && r.IntN(2) == 0 {
						primary = cases[0].id
					}
					e.classify(k, primary)
				case 1:
					tasks[i] = fmt.Sprintf("task-%d-%d", seed, i)
					e.publish(k.id, "task.dispatched", &eventsv1.TaskDispatched{Task: ref(k, tasks[i], 0, eventsv1.TaskState_TASK_STATE_DISPATCHED, 0, due)})
				case 2:
					e.publish(k.id, "task.acknowledged", &eventsv1.TaskAcknowledged{Task: ref(k, tasks[i], 0, eventsv1.TaskState_TASK_STATE_ACKNOWLEDGED, 0, due)})
				case 3:
					if r.IntN(6) == 0 {
						e.publish(k.id, "case.followed_up", &eventsv1.CaseFollowedUp{CaseId: k.id, FollowUpId: "f-" + k.id,
							Kind: eventsv1.FollowUpKind_FOLLOW_UP_KIND_WITHDRAW})
					} else {
						e.publish(k.id, "task.completed", &eventsv1.TaskCompleted{Task: ref(k, tasks[i], 0, eventsv1.TaskState_TASK_STATE_COMPLETED,
							eventsv1.ReviewState_REVIEW_STATE_NOT_REQUIRED, due), Result: "已处理"})
					}
				default:
					e.publish(k.id, "case.received", &eventsv1.CaseReceived{CaseId: k.id, CaseNumber: k.number, Source: k.source,
						ReceivedAt: timestamppb.New(e.clock.Now()), Title: "again"}) // a redelivery's twin: another event id
				}
				stage[i]++
				if r.IntN(4) == 0 && len(held) > 1 { // redelivered
					held = append(held, held[r.IntN(len(held))])
				}
				e.clock.Advance(time.Duration(r.IntN(20)) * time.Minute)
			}
			for len(held) > 0 {
				n := min(len(held), 1+r.IntN(12))
				e.handleBatch(held[:n])
				held = held[n:]
			}
			batched, batchedSide := e.views(), e.sideRows()
			var states []string
			if err := e.pool.QueryRow(context.Background(), `SELECT array_agg(state ORDER BY state) FROM cases`).Scan(&states); err != nil {
				t.Fatal(err)
			}
			if !slices.ContainsFunc(states, func(s string) bool {
				return s == "replied" || s == "closed" || s == "awaiting_recheck" || s == "withdrawn"
			}) {
				t.Errorf("states %v: no case took feedback's decisions", states)
			}
			if len(batched) != len(cases) {
				t.Fatalf("%d views, want %d", len(batched), len(cases))
			}
			if _, err := e.svc.Rebuild(context.Background()); err != nil {
				t.Fatal(err)
			}
			if d := cmp.Diff(e.views(), batched); d != "" {
				t.Errorf("views from batches differ from the rebuilt ones (-rebuilt +batched):\n%s", d)
			}
			// The batches wrote only the side rows that changed (side.go);
			// the rebuild writes every one.
			if d := cmp.Diff(e.sideRows(), batchedSide); d != "" {
				t.Errorf("side rows from batches differ from the rebuilt ones (-rebuilt +batched):\n%s", d)
			}
		})
	}
}
