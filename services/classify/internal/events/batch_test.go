package events_test

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/gridflow/gridflow/pkg/consumer"
	"github.com/gridflow/gridflow/pkg/natsjs"
	"github.com/gridflow/gridflow/pkg/outbox"
	"github.com/gridflow/gridflow/pkg/reference"
	"github.com/gridflow/gridflow/pkg/testenv"
	"github.com/gridflow/gridflow/services/classify/internal/classify"
	"github.com/gridflow/gridflow/services/classify/internal/events"
	"github.com/gridflow/gridflow/services/classify/internal/postgres"
	"github.com/gridflow/gridflow/services/classify/internal/rules"
)

// TestBatchesRaceWithoutDeadlockOrSplitIncident: two replicas, each with
// two workers, classify one burst in batches — reports of one noise at one
// address, other reports elsewhere, and a payload that does not decode in
// the middle. Batches holding the same places take their locks in one
// order, so none deadlocks; the poison payload is dead-lettered alone while
// its batch commits; every case is classified once; and the repeated
// reports make exactly one incident, its primary and the rest duplicates.
func TestBatchesRaceWithoutDeadlockOrSplitIncident(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	pool := testenv.Pool(t, postgres.Schema, 12, postgres.Migrations...)
	ns := testenv.NATS(t)
	log := slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelError}))
	nc, js, err := natsjs.Connect(ctx, ns.ClientURL(), "classify-batch-test", log)
	if err != nil {
		t.Fatal(err)
	}
	if err := natsjs.EnsureStreams(ctx, js, natsjs.StreamOptions{}); err != nil {
		t.Fatal(err)
	}
	ref, _ := reference.LoadDefault()
	rs, _ := rules.Load("", ref)
	s := &stack{js: js}

	const same, other = 24, 16
	for i := range same {
		s.publishEnv(t, received(fmt.Sprintf("same-%02d", i), "晚上噪声扰民", "共和新路1234号"))
		if i == same/2 {
			s.publish(t, "grid.case.received.310106.310106022", "poison", []byte("not an envelope"))
		}
	}
	for i := range other {
		s.publishEnv(t, received(fmt.Sprintf("other-%02d", i), "晚上噪声扰民", fmt.Sprintf("临汾路%d号", 100+i*40)))
	}

	var wg sync.WaitGroup
	var mu sync.Mutex
	var sizes []int
	for replica := range 2 {
		relay := outbox.NewRelay(pool, js, log, outbox.RelayOptions{PollInterval: 20 * time.Millisecond, Grace: 2 * time.Second})
		store := postgres.New(pool, nil, time.Now).WithRelay(relay)
		svc := classify.New(classify.DefaultConfig(), store, classify.Deps{
			Reference: func() *reference.Set { return ref }, Rules: func() *rules.Set { return rs },
			Model: func() classify.Model { return noiseModel{} },
		})
		h := events.BatchHandler(svc, store.Bind)
		r, err := consumer.NewBatch(js, pool, consumer.Config{
			Name: events.ConsumerCases, Subjects: []string{events.SubjectsReceived, events.SubjectsAnswered},
			Concurrency: 2, BatchSize: 16, FetchWait: 200 * time.Millisecond, Scope: relay.Scope,
		}, func(ctx context.Context, b *consumer.Batch) error {
			mu.Lock()
			sizes = append(sizes, len(b.Messages()))
			mu.Unlock()
			return h(ctx, b)
		}, log.With("replica", replica))
		if err != nil {
			t.Fatal(err)
		}
		wg.Go(func() { _ = relay.Run(ctx) })
		wg.Go(func() { _ = r.Run(ctx) })
	}
	t.Cleanup(func() {
		cancel()
		wg.Wait()
		nc.Close()
	})

	got := classified(t, s.read(t, natsjs.StreamGrid, "grid.case.classified.>", same+other))
	// Each case's first version once; a primary whose incident reached
	// the threshold gets a second version (its urgency rose).
	byCase := map[string]int{}
	for _, c := range got {
		if c.GetClassificationVersion() == 1 {
			byCase[c.GetCaseId()]++
		}
	}
	for id, n := range byCase {
		if n != 1 {
			t.Errorf("case %s classified %d times", id, n)
		}
	}
	if len(byCase) != same+other {
		t.Errorf("%d cases classified, want %d", len(byCase), same+other)
	}
	s.read(t, natsjs.StreamDLQ, consumer.DeadLetterPrefix+events.ConsumerCases+".>", 1)

	var incidents, reports int
	if err := pool.QueryRow(ctx, `SELECT count(*), coalesce(max(reports), 0) FROM incidents WHERE site LIKE '%共和新路%'`).Scan(&incidents, &reports); err != nil {
		t.Fatal(err)
	}
	if incidents != 1 || reports != same {
		t.Errorf("%d incidents at 共和新路1234号, the largest of %d reports; want 1 of %d: one problem never opens two", incidents, reports, same)
	}
	mu.Lock()
	defer mu.Unlock()
	big := 0
	for _, n := range sizes {
		big = max(big, n)
	}
	if big < 2 {
		t.Errorf("batches of %v messages: want some of several", sizes)
	}
}
