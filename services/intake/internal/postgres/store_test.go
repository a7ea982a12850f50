package postgres_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/gridflow/gridflow/pkg/outbox"
	"github.com/gridflow/gridflow/pkg/reference"
	"github.com/gridflow/gridflow/pkg/testenv"
	"github.com/gridflow/gridflow/services/intake/internal/intake"
	"github.com/gridflow/gridflow/services/intake/internal/postgres"
	"github.com/jackc/pgx/v5/pgxpool"
)

func newStore(t *testing.T) (*postgres.Store, *pgxpool.Pool) {
	t.Helper()
	pool := testenv.Pool(t, postgres.Schema, 8, postgres.Migrations...)
	return postgres.New(pool, nil), pool
}

func submission(orderNo, hash string) *intake.Submission {
	at := time.Date(2026, 11, 21, 17, 30, 0, 0, time.UTC) // 01:30 on the 22nd in Shanghai
	return &intake.Submission{
		Source: reference.FromHotline, AcceptedAt: at, Principal: "hotline", RequestID: orderNo, RequestHash: hash,
		Area:      intake.Area{AreaCodes: reference.AreaCodes{District: "310106", Street: "310106022", Community: "0", Grid: "0"}, Resolution: intake.ResolvedPartly},
		WorkOrder: &intake.WorkOrder{HotlineOrderNo: orderNo, ReceivedAt: at, AppealType: reference.Complaint, Content: "噪声扰民"},
	}
}

// patrolSubmission is keyed by (principal, request id) alone.
func patrolSubmission(requestID string) *intake.Submission {
	at := time.Date(2026, 11, 21, 17, 30, 0, 0, time.UTC)
	return &intake.Submission{
		Source: reference.FromPatrol, AcceptedAt: at, Principal: "patrol:w-1", RequestID: requestID, RequestHash: "hash-p",
		Area:   intake.Area{AreaCodes: reference.AreaCodes{District: "310106", Street: "310106022", Community: "310106022001", Grid: "g-1"}, Resolution: intake.ResolvedByCoordinates},
		Patrol: &intake.PatrolReport{RequestID: requestID, WorkerID: "w-1", GridCode: "g-1", Description: "垃圾满溢", ObservedAt: at},
	}
}

func TestCreateIsIdempotentUnderConcurrency(t *testing.T) {
	kinds := map[string]func() *intake.Submission{
		"hotline": func() *intake.Submission { return submission("H-1", "hash-a") },
		"patrol":  func() *intake.Submission { return patrolSubmission("P-1") },
		// An emergency commits in a batch of its own, outside the group
		// commit; its repeats fall back to it (issue 17).
		"emergency": func() *intake.Submission {
			s := submission("H-E", "hash-e")
			s.WorkOrder.Urgency = reference.Emergency
			return s
		},
	}
	for kind, newSub := range kinds {
		for _, grouped := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s/group_commit=%v", kind, grouped), func(t *testing.T) { testIdempotentUnderConcurrency(t, grouped, newSub) })
		}
	}
}

func testIdempotentUnderConcurrency(t *testing.T, grouped bool, newSubmission func() *intake.Submission) {
	st, pool := newStore(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	if grouped {
		st.RunGroupCommit(ctx, 2, 8)
	}
	const n = 16
	var wg sync.WaitGroup
	ids := make([]string, n)
	created := make([]bool, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s, c, err := st.Create(ctx, newSubmission())
			if err != nil {
				t.Error(err)
				return
			}
			ids[i], created[i] = s.CaseID, c
		}()
	}
	wg.Wait()
	nCreated := 0
	for i := range n {
		if created[i] {
			nCreated++
		}
		if ids[i] != ids[0] {
			t.Errorf("call %d got case %s, call 0 got %s", i, ids[i], ids[0])
		}
	}
	if nCreated != 1 {
		t.Errorf("%d calls created the case, want exactly 1", nCreated)
	}
	var rows, events int
	_ = pool.QueryRow(ctx, `SELECT count(*) FROM submissions`).Scan(&rows)
	ev, _ := outbox.Pending(ctx, pool)
	events = int(ev)
	if rows != 1 || events != 1 {
		t.Errorf("rows = %d, outbox events = %d; want 1 and 1", rows, events)
	}
}

func TestCreateAndGet(t *testing.T) {
	st, _ := newStore(t)
	ctx := context.Background()
	s, created, err := st.Create(ctx, submission("H-2", "h"))
	if err != nil || !created {
		t.Fatalf("Create = %v, %v", created, err)
	}
	if want := "GF-20261122-"; s.CaseNumber[:len(want)] != want {
		t.Errorf("case number %s: want the Shanghai date 20261122", s.CaseNumber)
	}
	for _, k := range []intake.Key{{CaseID: s.CaseID}, {CaseNumber: s.CaseNumber}, {HotlineOrderNo: "H-2"}} {
		got, err := st.Get(ctx, k)
		if err != nil || got.CaseID != s.CaseID {
			t.Errorf("Get(%+v) = %v, %v", k, got, err)
		}
	}
	if _, err := st.Get(ctx, intake.Key{CaseNumber: "GF-19990101-000001"}); err == nil {
		t.Error("Get of a missing case succeeded")
	}
	if _, err := st.Get(ctx, intake.Key{CaseID: "not-a-uuid"}); err == nil {
		t.Error("Get of a malformed id succeeded")
	}
}

func TestCaseNumber(t *testing.T) {
	t.Parallel()
	at := time.Date(2026, 12, 31, 16, 0, 0, 0, time.UTC) // already 2027-01-01 in Shanghai
	if got, want := postgres.CaseNumber(at, 42), "GF-20270101-000042"; got != want {
		t.Errorf("CaseNumber = %s, want %s", got, want)
	}
	if got, want := postgres.CaseNumber(at, 12345678), "GF-20270101-12345678"; got != want {
		t.Errorf("CaseNumber = %s, want %s", got, want)
	}
}

// TestGroupCommitStoresEveryone sends many distinct submissions at once
// through shared transactions: each is stored once with one event.
func TestGroupCommitStoresEveryone(t *testing.T) {
	st, pool := newStore(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	st.RunGroupCommit(ctx, 2, 16)
	const n = 200
	var wg sync.WaitGroup
	numbers := make(chan string, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s, created, err := st.Create(ctx, submission(fmt.Sprintf("G-%d", i), "h"))
			if err != nil || !created {
				t.Errorf("Create %d = %v, %v", i, created, err)
				return
			}
			numbers <- s.CaseNumber
		}()
	}
	wg.Wait()
	close(numbers)
	seen := map[string]bool{}
	for num := range numbers {
		if seen[num] {
			t.Errorf("case number %s given twice", num)
		}
		seen[num] = true
	}
	var rows int
	_ = pool.QueryRow(ctx, `SELECT count(*) FROM submissions`).Scan(&rows)
	events, _ := outbox.Pending(ctx, pool)
	if rows != n || events != n {
		t.Errorf("rows = %d, events = %d; want %d each", rows, events, n)
	}
}

// Issue 17, emergencies first: an emergency work order commits without
// queueing for the group commit's workers — here stopped, so a routine
// order waits until its caller gives up while the emergency is stored.
func TestEmergencySkipsTheGroupCommitQueue(t *testing.T) {
	st, _ := newStore(t)
	stopped, stop := context.WithCancel(context.Background())
	stop()
	st.RunGroupCommit(stopped, 1, 8)   // workers that take nothing
	time.Sleep(100 * time.Millisecond) // (they have returned)
	ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
	defer cancel()
	if _, _, err := st.Create(ctx, submission("H-ROUTINE", "hash-r")); err == nil {
		t.Fatal("a routine order was stored with the group commit's workers stopped")
	}
	gas := submission("H-GAS", "hash-g")
	gas.WorkOrder.Urgency = reference.Emergency
	ctx, cancel = context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	s, created, err := st.Create(ctx, gas)
	if err != nil || !created || s.CaseID == "" {
		t.Fatalf("the emergency: %+v created=%v err=%v", s, created, err)
	}
}

// Issue 17: an emergency costs intake two round trips to PostgreSQL — its
// case number, then its row and its event in one batch, one implicit
// transaction — where the group commit's transaction takes six; under load
// each round trip waits for the CPU. Its row and its event are stored, and
// a repeat of its order number answers with the stored case.
func TestEmergencyTakesTwoRoundTrips(t *testing.T) {
	pool := testenv.Pool(t, postgres.Schema, 8, postgres.Migrations...)
	traced, wire := testenv.TracedPool(t, pool)
	st := postgres.New(traced, nil)
	ctx := context.Background()
	st.RunGroupCommit(ctx, 1, 8)
	// Each statement's first use on a connection prepares it, a round trip
	// of its own: warm the pool's connection with one emergency first.
	warm := submission("H-WARM", "hash-w")
	warm.WorkOrder.Urgency = reference.Emergency
	if _, _, err := st.Create(ctx, warm); err != nil {
		t.Fatal(err)
	}
	gas := submission("H-GAS", "hash-g")
	gas.WorkOrder.Urgency = reference.Emergency
	before := wire.Trips()
	s, created, err := st.Create(ctx, gas)
	if err != nil || !created {
		t.Fatalf("the emergency: created=%v err=%v", created, err)
	}
	if n := wire.Trips() - before; n != 2 {
		t.Errorf("an emergency took %d round trips, want 2", n)
	}
	var rows int
	if err := pool.QueryRow(ctx, `SELECT count(*) FROM submissions WHERE case_id = $1 AND case_number = $2`, s.CaseID, s.CaseNumber).Scan(&rows); err != nil || rows != 1 {
		t.Fatalf("its row: %d (%v)", rows, err)
	}
	var events int
	if err := pool.QueryRow(ctx, `SELECT count(*) FROM outbox WHERE subject LIKE '%.emergency'`).Scan(&events); err != nil || events != 2 {
		t.Fatalf("emergency events in the outbox: %d (%v), want 2 (the warm-up's and this one's)", events, err)
	}
	again := submission("H-GAS", "hash-g")
	again.WorkOrder.Urgency = reference.Emergency
	s2, created, err := st.Create(ctx, again)
	if err != nil || created || s2.CaseID != s.CaseID || s2.CaseNumber != s.CaseNumber {
		t.Fatalf("the repeat: %+v created=%v err=%v; want case %s", s2, created, err, s.CaseID)
	}
}
