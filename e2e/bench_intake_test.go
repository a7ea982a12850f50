//go:build bench

package e2e

import (
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/gridflow/gridflow/pkg/auth"
	"github.com/gridflow/gridflow/pkg/natsauth"
	"github.com/gridflow/gridflow/pkg/natsjs"
	"github.com/gridflow/gridflow/pkg/pgdb"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/nats-io/nats.go/jetstream"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	eventsv1 "github.com/gridflow/gridflow/proto/gen/go/gridflow/events/v1"
	intakev1 "github.com/gridflow/gridflow/proto/gen/go/gridflow/intake/v1"
	typesv1 "github.com/gridflow/gridflow/proto/gen/go/gridflow/types/v1"
)

// TestBenchIntake is `make bench-intake`: a measurement, not a pass/fail on
// speed. (1) the naive baseline, (2) intake over gRPC with 64 requests in
// flight, counting only orders whose event reached the stream, (3) the
// baseline again, (4) an open-loop run at half of (2)'s rate for latency.
func TestBenchIntake(t *testing.T) {
	texts := loadTexts(t)
	s := startStack(t, "intake")
	ctx := context.Background()
	dur := envDuration("BENCH_SECONDS", 20*time.Second)

	// The baseline publishes case.received as intake does, as intake.
	js := s.jetStreamAs(t, natsauth.Intake)

	base1 := baseline(t, s, js, texts, dur/2)
	t.Logf("(1) baseline: %.0f orders/s", base1)

	rate := closedLoop(t, s, js, texts, dur)
	t.Logf("(2) intake, 64 in flight: %.0f orders/s reached the stream", rate)

	base2 := baseline(t, s, js, texts, dur/2)
	t.Logf("(3) baseline again: %.0f orders/s", base2)

	p50, p99 := openLoop(t, s, texts, rate/2, dur/2)
	t.Logf("(4) open loop at %.0f/s: p50 %.1f ms, p99 %.1f ms", rate/2, p50, p99)
	_ = ctx
	baseMean := (base1 + base2) / 2
	fmt.Printf("intake_orders_per_s=%.0f p99_ms=%.1f baseline_orders_per_s=%.0f ratio=%.2f\n", rate, p99, baseMean, rate/baseMean)
}

func envDuration(key string, def time.Duration) time.Duration {
	if v := os.Getenv(key); v != "" {
		var n float64
		if _, err := fmt.Sscanf(v, "%g", &n); err == nil && n > 0 {
			return time.Duration(n * float64(time.Second))
		}
	}
	return def
}

type text struct{ title, body string }

// loadTexts reads real citizen messages from ../shared (never copied here).
func loadTexts(t *testing.T) []text {
	t.Helper()
	dir := os.Getenv("GRIDFLOW_SHARED_DIR")
	if dir == "" {
		dir = "../../shared"
	}
	path := filepath.Join(dir, "data", "messages", "unlabelled.jsonl")
	f, err := os.Open(path)
	if err != nil {
		t.Skipf("SKIPPING intake benchmark: the shared messages are not at %s (%v)", path, err)
	}
	defer f.Close()
	var out []text
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<22)
	for sc.Scan() {
		var m struct{ Title, Detail string }
		if json.Unmarshal(sc.Bytes(), &m) == nil && m.Detail != "" {
			body := []rune(m.Detail)
			if len(body) > 10000 {
				body = body[:10000]
			}
			title := []rune(m.Title)
			if len(title) > 200 {
				title = title[:200]
			}
			out = append(out, text{string(title), string(body)})
		}
	}
	if len(out) == 0 {
		t.Fatalf("no messages in %s", path)
	}
	return out
}

func benchOrder(no string, tx text) *intakev1.WorkOrder {
	return &intakev1.WorkOrder{
		HotlineOrderNo: no, ReceivedAt: timestamppb.New(time.Now().Add(-time.Second)),
		AppealType: typesv1.AppealType_APPEAL_TYPE_COMPLAINT, Title: tx.title, Content: tx.body,
		CallerName: "市民", CallerPhone: "13812345678", Address: "上海市静安区共和新路1234弄5号",
		DistrictCode: "310106", StreetCode: "310106022",
	}
}

// baseline is the naive way: per order, one transaction (insert + outbox
// row), then a publish with Nats-Msg-Id awaiting its ack, then mark sent;
// 16 workers on the same PostgreSQL and NATS. It stores what intake stores —
// tables made LIKE intake's own (same columns, indexes and compression), a
// JSON body of the whole order, a case.received envelope as the event — so
// that the two runs differ in how they commit and publish, not in how much
// they write.
func baseline(t *testing.T, s *stack, js jetstream.JetStream, texts []text, dur time.Duration) float64 {
	t.Helper()
	ctx := context.Background()
	pool, err := pgdb.Open(ctx, s.dbURL, "naive", 16)
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	if _, err := pool.Exec(ctx, `CREATE SCHEMA IF NOT EXISTS naive;
		CREATE TABLE IF NOT EXISTS naive.submissions (LIKE intake.submissions INCLUDING ALL);
		CREATE TABLE IF NOT EXISTS naive.outbox (LIKE intake.outbox INCLUDING ALL, sent boolean NOT NULL DEFAULT false)`); err != nil {
		t.Fatal(err)
	}
	var n atomic.Int64
	deadline := time.Now().Add(dur)
	start := time.Now()
	var wg sync.WaitGroup
	for w := range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; time.Now().Before(deadline); i++ {
				if err := naiveOne(ctx, pool, js, texts[(w*7919+i)%len(texts)]); err != nil {
					t.Error(err)
					return
				}
				n.Add(1)
			}
		}()
	}
	wg.Wait()
	return float64(n.Load()) / time.Since(start).Seconds()
}

var naiveSeq atomic.Int64

func naiveOne(ctx context.Context, pool *pgxpool.Pool, js jetstream.JetStream, tx text) error {
	id := uuid.Must(uuid.NewV7()).String()
	number := fmt.Sprintf("GF-NAIVE-%d-%06d", os.Getpid(), naiveSeq.Add(1))
	now := time.Now()
	wo := benchOrder(id, tx)
	body, err := json.Marshal(map[string]any{"CaseID": id, "CaseNumber": number, "AcceptedAt": now, "WorkOrder": wo})
	if err != nil {
		return err
	}
	hash := sha256.Sum256(body)
	env := &eventsv1.Envelope{EventId: id, CaseId: id, OccurredAt: timestamppb.New(now), Version: 1,
		Payload: &eventsv1.Envelope_CaseReceived{CaseReceived: &eventsv1.CaseReceived{
			CaseId: id, CaseNumber: number, AcceptedAt: timestamppb.New(now), ReceivedAt: wo.GetReceivedAt(),
			Title: wo.GetTitle(), Content: wo.GetContent(), Caller: &eventsv1.Caller{Name: wo.GetCallerName(), Phone: wo.GetCallerPhone()},
			HotlineOrderNo: id, AppealType: wo.GetAppealType(),
		}}}
	data, err := proto.Marshal(env)
	if err != nil {
		return err
	}
	// The subject intake would use: the baseline publishes as intake's NATS
	// user, which may publish only intake's subjects. Phase (2) counts only
	// what arrives during it, so the baseline's events are not counted.
	const subject = "grid.case.received.310106.310106022"
	var outboxID int64
	err = pgdb.InTx(ctx, pool, func(dbtx pgx.Tx) error {
		if _, err := dbtx.Exec(ctx, `INSERT INTO naive.submissions (case_id, case_number, source, principal, request_id,
				request_hash, hotline_order_no, accepted_at, district_code, street_code, community_code, grid_code, body)
			VALUES ($1, $2, 'hotline', 'hotline:bench', $3, $4, $3, $5, '310106', '310106022', '0', '0', $6)`,
			id, number, id, hex.EncodeToString(hash[:]), now, string(body)); err != nil {
			return err
		}
		return dbtx.QueryRow(ctx, `INSERT INTO naive.outbox (event_id, subject, data) VALUES ($1, $2, $3) RETURNING id`,
			id, subject, data).Scan(&outboxID)
	})
	if err != nil {
		return err
	}
	if _, err := js.Publish(ctx, subject, data, jetstream.WithMsgID(id)); err != nil {
		return err
	}
	_, err = pool.Exec(ctx, `UPDATE naive.outbox SET sent = true WHERE id = $1`, outboxID)
	return err
}

func streamSubjectCount(t *testing.T, js jetstream.JetStream, subject string) uint64 {
	t.Helper()
	st, err := js.Stream(context.Background(), natsjs.StreamGrid)
	if err != nil {
		t.Fatal(err)
	}
	info, err := st.Info(context.Background(), jetstream.WithSubjectFilter(subject))
	if err != nil {
		t.Fatal(err)
	}
	var n uint64
	for _, c := range info.State.Subjects {
		n += c
	}
	return n
}

// closedLoop keeps 64 requests in flight for dur, then waits for the outbox
// to drain, and counts what reached the stream.
func closedLoop(t *testing.T, s *stack, js jetstream.JetStream, texts []text, dur time.Duration) float64 {
	t.Helper()
	client := intakev1.NewIntakeServiceClient(s.dial(t, "intake", auth.Principal{Role: auth.RoleHotline}))
	before := streamSubjectCount(t, js, "grid.case.received.>")
	if out := os.Getenv("BENCH_PPROF"); out != "" {
		// A CPU profile of intake during the run, for finding where time goes.
		go func() {
			resp, err := http.Get("http://" + s.admins["intake"] + "/debug/pprof/profile?seconds=" + fmt.Sprint(int(dur.Seconds()/2)))
			if err != nil {
				t.Logf("pprof: %v", err)
				return
			}
			defer resp.Body.Close()
			f, err := os.Create(out)
			if err == nil {
				_, _ = io.Copy(f, resp.Body)
				f.Close()
			}
		}()
	}
	var seq atomic.Int64
	deadline := time.Now().Add(dur)
	start := time.Now()
	var wg sync.WaitGroup
	for range 64 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for time.Now().Before(deadline) {
				i := seq.Add(1)
				ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
				_, err := client.SubmitWorkOrder(ctx, &intakev1.SubmitWorkOrderRequest{WorkOrder: benchOrder(fmt.Sprintf("BENCH-C-%d", i), texts[int(i)%len(texts)])})
				cancel()
				if err != nil {
					t.Errorf("submit: %v", err)
					return
				}
			}
		}()
	}
	wg.Wait()
	waitOutboxEmpty(t, s)
	elapsed := time.Since(start)
	reached := streamSubjectCount(t, js, "grid.case.received.>") - before
	t.Logf("closed loop: %d submitted, %d reached the stream in %s", seq.Load(), reached, elapsed.Round(time.Millisecond))
	return float64(reached) / elapsed.Seconds()
}

func waitOutboxEmpty(t *testing.T, s *stack) {
	t.Helper()
	ctx := context.Background()
	db, err := pgx.Connect(ctx, s.dbURL)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close(ctx)
	for deadline := time.Now().Add(2 * time.Minute); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		var n int
		if err := db.QueryRow(ctx, `SELECT count(*) FROM intake.outbox`).Scan(&n); err != nil {
			t.Fatal(err)
		}
		if n == 0 {
			return
		}
	}
	t.Fatal("outbox did not drain in 2 minutes")
}

// openLoop sends at a fixed rate regardless of answers (so slow answers
// cannot hide queueing) and returns p50 and p99 latency in milliseconds.
func openLoop(t *testing.T, s *stack, texts []text, rate float64, dur time.Duration) (float64, float64) {
	t.Helper()
	client := intakev1.NewIntakeServiceClient(s.dial(t, "intake", auth.Principal{Role: auth.RoleHotline}))
	interval := time.Duration(float64(time.Second) / rate)
	var (
		mu   sync.Mutex
		lats []float64
		wg   sync.WaitGroup
	)
	ticker := time.NewTicker(interval)
	defer ticker.Stop()
	end := time.Now().Add(dur)
	for i := 0; time.Now().Before(end); i++ {
		<-ticker.C
		wg.Add(1)
		go func() {
			defer wg.Done()
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			t0 := time.Now()
			_, err := client.SubmitWorkOrder(ctx, &intakev1.SubmitWorkOrderRequest{WorkOrder: benchOrder(fmt.Sprintf("BENCH-O-%d", i), texts[i%len(texts)])})
			ms := float64(time.Since(t0).Microseconds()) / 1000
			if err != nil {
				t.Errorf("submit: %v", err)
				return
			}
			mu.Lock()
			lats = append(lats, ms)
			mu.Unlock()
		}()
	}
	wg.Wait()
	slices.Sort(lats)
	q := func(p float64) float64 { return lats[int(math.Ceil(p*float64(len(lats))))-1] }
	t.Logf("open loop: %d requests", len(lats))
	return q(0.50), q(0.99)
}
