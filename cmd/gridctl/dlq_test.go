package main

import (
	"context"
	"errors"
	"log/slog"
	"path/filepath"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gridflow/gridflow/pkg/consumer"
	"github.com/gridflow/gridflow/pkg/natsauth"
	"github.com/gridflow/gridflow/pkg/natsjs"
	"github.com/gridflow/gridflow/pkg/testenv"
	"github.com/jackc/pgx/v5"
	"github.com/nats-io/nats-server/v2/server"
	natstest "github.com/nats-io/nats-server/v2/test"
	"github.com/nats-io/nats.go/jetstream"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	eventsv1 "github.com/gridflow/gridflow/proto/gen/go/gridflow/events/v1"
)

// A poison event goes the whole way as it does in the stack: NATS with
// the stack's users, classify's durable declared by the setup step and run
// by classify's user against PostgreSQL, the event dead-lettered; the
// operator lists and shows it (phone numbers masked) but may not replay it;
// the ops user replays it once the handler is mended, the consumer handles
// it once and GRID_DLQ is empty.
func TestDLQListShowReplay(t *testing.T) {
	t.Parallel()
	dir := filepath.Join(t.TempDir(), "users")
	if _, _, err := gridctl(t, "nats", "users", "--dir", dir); err != nil {
		t.Fatal(err)
	}
	opts, err := server.ProcessConfigFile(natsauth.ConfigFile(dir))
	if err != nil {
		t.Fatal(err)
	}
	opts.Host, opts.Port, opts.JetStream, opts.StoreDir, opts.NoLog, opts.NoSigs = "127.0.0.1", -1, true, t.TempDir(), true, true
	ns := natstest.RunServer(opts)
	if !ns.ReadyForConnections(10 * time.Second) {
		t.Fatal("nats server not ready")
	}
	t.Cleanup(ns.Shutdown)
	url := ns.ClientURL()
	if _, _, err := gridctl(t, "--nkey", natsauth.SeedFile(dir, natsauth.Streams), "nats", "streams", "--nats", url); err != nil {
		t.Fatalf("nats streams: %v", err)
	}
	as := func(user string, args ...string) (string, error) {
		out, _, err := gridctl(t, append([]string{"--nkey", natsauth.SeedFile(dir, user), "--timeout", "20s"}, args...)...)
		return out, err
	}

	// classify's consumer, as classify runs it.
	ctx := context.Background()
	pool := testenv.Pool(t, "dlqtest", 4, consumer.Migrations)
	if _, err := pool.Exec(ctx, `CREATE TABLE effects (event_id text NOT NULL)`); err != nil {
		t.Fatal(err)
	}
	connect := func(user string) jetstream.JetStream {
		o, err := natsjs.User(user, natsauth.SeedFile(dir, user))
		if err != nil {
			t.Fatal(err)
		}
		nc, js, err := natsjs.Connect(ctx, url, user, slog.New(slog.DiscardHandler), o...)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(nc.Close)
		return js
	}
	var mended atomic.Bool
	h := consumer.Decoding(func(b []byte) (*eventsv1.Envelope, error) {
		var env eventsv1.Envelope
		return &env, proto.Unmarshal(b, &env)
	}, func(ctx context.Context, tx pgx.Tx, msg consumer.Message, env *eventsv1.Envelope) error {
		if !mended.Load() {
			return consumer.Permanent(errors.New("unknown catalogue code H99999"))
		}
		_, err := tx.Exec(ctx, `INSERT INTO effects VALUES ($1)`, msg.EventID)
		return err
	})
	r, err := consumer.New(connect(natsauth.Classify), pool, consumer.Config{Name: "classify-cases",
		Subjects: natsauth.FilterOf("classify-cases")}, h, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	rctx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- r.Run(rctx) }()
	t.Cleanup(func() { stop(); <-done })

	// Nothing dead-lettered yet: nothing to list or replay.
	if out, err := as(natsauth.Ops, "dlq", "replay", "--durable", "classify-cases", "--all", "--nats", url); err != nil ||
		!strings.Contains(out, "0 dead letters replayed") {
		t.Errorf("dlq replay --all of an empty GRID_DLQ: %v\n%s", err, out)
	}

	const subject = "grid.case.received.310106.310106022"
	env := &eventsv1.Envelope{Type: "case.received", EventId: "ev-poison", CaseId: "c-1",
		OccurredAt: timestamppb.New(time.Date(2026, 3, 2, 2, 0, 0, 0, time.UTC)),
		Payload: &eventsv1.Envelope_CaseReceived{CaseReceived: &eventsv1.CaseReceived{CaseId: "c-1",
			CaseNumber: "GF-20260302-000001", Title: "楼上噪声，回电13812345678",
			Caller: &eventsv1.Caller{Name: "王**", Phone: "13812345678"}}}}
	data, err := proto.Marshal(env)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := connect(natsauth.Intake).Publish(ctx, subject, data, jetstream.WithMsgID("ev-poison")); err != nil {
		t.Fatal(err)
	}

	// list: the count per durable and the newest with its reason.
	var out string
	deadline := time.Now().Add(20 * time.Second)
	for !regexp.MustCompile(`classify-cases\s+1\n`).MatchString(out) {
		if time.Now().After(deadline) {
			t.Fatalf("dlq list never showed the dead letter:\n%s", out)
		}
		time.Sleep(100 * time.Millisecond)
		if out, err = as(natsauth.Operator, "dlq", "list", "--nats", url); err != nil {
			t.Fatalf("dlq list: %v", err)
		}
	}
	if !regexp.MustCompile(`total\s+1\n`).MatchString(out) {
		t.Errorf("dlq list printed:\n%s\nwant a total of 1", out)
	}
	for _, want := range []string{"newest 1:", subject, "ev-poison", "unknown catalogue code H99999"} {
		if !strings.Contains(out, want) {
			t.Errorf("dlq list printed:\n%s\nwant %q", out, want)
		}
	}
	if out, err := as(natsauth.Operator, "dlq", "list", "--nats", url, "--durable", "dispatch-cases"); err != nil ||
		!regexp.MustCompile(`total\s+0\n`).MatchString(out) {
		t.Errorf("dlq list --durable dispatch-cases: %v\n%s", err, out)
	}

	// show: headers and the payload as JSON, the phone masked everywhere.
	out, err = as(natsauth.Operator, "dlq", "show", "1", "--nats", url)
	if err != nil {
		t.Fatalf("dlq show: %v", err)
	}
	for _, want := range []string{"durable        classify-cases", "event          ev-poison", "Gridflow-Dlq-Reason: permanent: unknown catalogue code",
		`"caseNumber": "GF-20260302-000001"`, `"phone": "138****5678"`, "回电138****5678"} {
		if !strings.Contains(out, want) {
			t.Errorf("dlq show printed:\n%s\nwant %q", out, want)
		}
	}
	if strings.Contains(out, "13812345678") {
		t.Errorf("dlq show printed the phone number unmasked:\n%s", out)
	}
	if out, err := as(natsauth.Operator, "dlq", "show", "1", "--nats", url, "--json"); err != nil ||
		!strings.Contains(out, `"durable": "classify-cases"`) || strings.Contains(out, "13812345678") {
		t.Errorf("dlq show --json: %v\n%s", err, out)
	}

	// The operator reads; it cannot replay.
	if _, err := as(natsauth.Operator, "dlq", "replay", "1", "--nats", url, "--timeout", "2s"); err == nil {
		t.Error("the operator replayed a dead letter")
	}

	mended.Store(true)
	out, err = as(natsauth.Ops, "dlq", "replay", "--durable", "classify-cases", "--all", "--nats", url)
	if err != nil || !strings.Contains(out, "replayed 1 to classify-cases: "+subject+" ev-poison") {
		t.Fatalf("dlq replay: %v\n%s", err, out)
	}
	deadline = time.Now().Add(20 * time.Second)
	for n := 0; n != 1; {
		if time.Now().After(deadline) {
			t.Fatal("the replayed event was not handled")
		}
		time.Sleep(50 * time.Millisecond)
		if err := pool.QueryRow(ctx, `SELECT count(*) FROM effects WHERE event_id = 'ev-poison'`).Scan(&n); err != nil {
			t.Fatal(err)
		}
	}
	if out, err := as(natsauth.Operator, "dlq", "list", "--nats", url); err != nil || !regexp.MustCompile(`total\s+0\n`).MatchString(out) {
		t.Errorf("after the replay dlq list printed: %v\n%s", err, out)
	}
	if _, err := as(natsauth.Operator, "dlq", "show", "1", "--nats", url); err == nil || !strings.Contains(err.Error(), "no dead letter there") {
		t.Errorf("dlq show of a replayed dead letter: %v", err)
	}
}
