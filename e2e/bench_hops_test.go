//go:build bench

package e2e

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/gridflow/gridflow/pkg/lane"

	eventsv1 "github.com/gridflow/gridflow/proto/gen/go/gridflow/events/v1"
)

// Where an emergency waits (issue 17): each emergency case of a step is
// timed hop by hop, from the harness's submit to the stream storing its
// first task.dispatched. A stage's own time is the gap between the event
// it consumed being stored and the event it built (the envelope's
// occurred_at, taken inside the stage's transaction); a relay's is the gap
// between that occurred_at and the stream storing the event. One host, one
// clock.
var hopNames = []string{
	"submit → intake built case.received",
	"intake built → case.received stored (intake commit + relay)",
	"case.received stored → classify built case.classified",
	"classify built → case.classified stored (commit + relay)",
	"case.classified stored → dispatch built task.dispatched",
	"dispatch built → task.dispatched stored (commit + relay)",
}

// hopTimes are the instants of one emergency case, in hopNames' order
// (seven instants, six hops); a zero instant is one not seen.
type hopTimes [7]time.Time

// emergencyHops reads, between two stream sequences, the emergency lane's
// case.received and case.classified and every task.dispatched, and returns
// each of the given cases' instants (sent: the case id → its submit time).
func (b *bench) emergencyHops(ctx context.Context, from, to uint64, sent map[string]time.Time) map[string]*hopTimes {
	out := map[string]*hopTimes{}
	if to <= from || len(sent) == 0 {
		return out
	}
	for id, at := range sent {
		out[id] = &hopTimes{0: at}
	}
	filters := []string{lane.Emergency("grid.case.received"), lane.Emergency("grid.case.classified"), "grid.task.dispatched.>"}
	b.readRange(ctx, "the emergencies' hops", from, to, filters, func(env *eventsv1.Envelope, stored time.Time) {
		h := out[env.GetCaseId()]
		if h == nil {
			return
		}
		var at int
		switch {
		case env.GetCaseReceived() != nil:
			at = 1
		case env.GetCaseClassified() != nil:
			at = 3
		case env.GetTaskDispatched() != nil:
			at = 5
		default:
			return
		}
		if h[at].IsZero() {
			h[at], h[at+1] = env.GetOccurredAt().AsTime(), stored
		}
	})
	return out
}

// sayHops prints the p50/p99 of each hop over the cases seen whole.
func sayHops(hops map[string]*hopTimes) {
	per := make([][]time.Duration, len(hopNames))
	whole := 0
	for _, h := range hops {
		complete := true
		for _, x := range h {
			complete = complete && !x.IsZero()
		}
		if !complete {
			continue
		}
		whole++
		for i := range hopNames {
			per[i] = append(per[i], max(h[i+1].Sub(h[i]), 0))
		}
	}
	say("(3) emergencies hop by hop (%d cases seen whole, of %d):", whole, len(hops))
	for i, name := range hopNames {
		l := latenciesOf(per[i])
		say("      p50 %7.1f ms  p99 %7.1f ms  %s", ms(l.p50), ms(l.p99), name)
	}
}

// natsCounts is what has crossed NATS so far: the events GRID stored (each
// a publish and its ack) and each durable consumer's deliveries (each a
// message and its ack). The console's live feed and the departments'
// watches (ordered consumers) come on top.
func (b *bench) natsCounts(ctx context.Context) (events uint64, deliveries map[string]uint64) {
	events, deliveries = b.lastSeq(ctx), map[string]uint64{}
	for name, info := range b.durableInfos(ctx) {
		deliveries[name] = info.Delivered.Consumer
	}
	return events, deliveries
}

// total sums a durable-keyed count.
func total(m map[string]uint64) (n uint64) {
	for _, v := range m {
		n += v
	}
	return n
}

// commits prints each service's transactions per order since reset, as
// pg_stat_statements counts its COMMITs (a statement outside a
// transaction, such as the relay's delete, commits without one and is not
// counted here; pgWritesNow counts everything). A COMMIT sent in a batch with
// the writes (dispatch's and feedback's requests) counts only the first
// time a connection sends it: pgx prepares it, and the extension does not
// count a prepared utility statement's later runs.
func (b *benchStatements) commits(t *testing.T, orders int) {
	t.Helper()
	if !b.on {
		return
	}
	ctx := context.Background()
	db := b.connect(t)
	defer db.Close(ctx)
	rows, err := db.Query(ctx, `SELECT r.rolname, sum(s.calls)::bigint
		FROM pg_stat_statements s JOIN pg_roles r ON r.oid = s.userid JOIN pg_database d ON d.oid = s.dbid
		WHERE d.datname = current_database() AND r.rolname = ANY($1) AND lower(s.query) = 'commit'
		GROUP BY r.rolname ORDER BY r.rolname`, services)
	if err != nil {
		t.Fatalf("read pg_stat_statements: %v", err)
	}
	var (
		svc   string
		calls int64
	)
	say("(3) COMMITs per order by service (pg_stat_statements; not a COMMIT batched with writes, see commits):")
	if _, err := pgx.ForEachRow(rows, []any{&svc, &calls}, func() error {
		say("      %-9s %6.2f", svc, float64(calls)/float64(max(orders, 1)))
		return nil
	}); err != nil {
		t.Fatal(err)
	}
}

// profileServices saves, when BENCH_PPROF_DIR is set, a CPU profile of
// every running service over the first half of the fixed phase
// (<dir>/<service>.pprof); the returned function waits for them.
func profileServices(t *testing.T, s *stack, d time.Duration) func() {
	t.Helper()
	dir := os.Getenv("BENCH_PPROF_DIR")
	if dir == "" {
		return func() {}
	}
	var wg sync.WaitGroup
	for _, svc := range s.only {
		admin := s.admins[svc]
		if admin == "" {
			continue
		}
		wg.Go(func() {
			url := "http://" + admin + "/debug/pprof/profile?seconds=" + fmt.Sprint(max(int(d.Seconds()/2), 1))
			resp, err := http.Get(url)
			if err != nil {
				t.Logf("profile %s: %v", svc, err)
				return
			}
			defer resp.Body.Close()
			f, err := os.Create(filepath.Join(dir, svc+".pprof"))
			if err != nil {
				t.Logf("profile %s: %v", svc, err)
				return
			}
			defer f.Close()
			if _, err := io.Copy(f, resp.Body); err != nil {
				t.Logf("profile %s: %v", svc, err)
			}
		})
	}
	return wg.Wait
}
