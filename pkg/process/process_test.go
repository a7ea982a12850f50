package process_test

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/gridflow/gridflow/pkg/auth"
	"github.com/gridflow/gridflow/pkg/config"
	"github.com/gridflow/gridflow/pkg/consumer"
	"github.com/gridflow/gridflow/pkg/natsjs"
	"github.com/gridflow/gridflow/pkg/outbox"
	"github.com/gridflow/gridflow/pkg/process"
	"github.com/gridflow/gridflow/pkg/testenv"
	"github.com/jackc/pgx/v5"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// base is a configuration on the test's own database and NATS server.
func base(t *testing.T) config.Base {
	t.Helper()
	keys := t.TempDir()
	if _, err := auth.EnsureKeyPair(keys); err != nil {
		t.Fatal(err)
	}
	// The streams are declared, as the stack's setup step declares them
	// before any service starts: a service only waits for them.
	ns, _ := testenv.JetStream(t)
	return config.Base{
		LogLevel:          slog.LevelWarn,
		DatabaseURL:       testenv.DatabaseURL(t),
		DatabaseMaxConns:  4,
		NATSURL:           ns.ClientURL(),
		AuthPublicKeyFile: filepath.Join(keys, auth.PublicKeyFile),
		ShutdownTimeout:   5 * time.Second,
	}
}

func freeAddr(t *testing.T) string {
	t.Helper()
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer lis.Close()
	return lis.Addr().String()
}

func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

const (
	inSubject  = "grid.case.received.310106.310106022"
	outSubject = "grid.case.closed.310106.310106022"
)

// The whole wiring, then a stop while a consumer holds a message: the
// consumer finishes it, and what it committed is published before Wait
// returns — the relay stops last.
func TestWaitStopsTheRelayLast(t *testing.T) {
	t.Parallel()
	cfg := base(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	p, err := process.Start(ctx, "ptest", cfg, cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()

	pool, err := p.Postgres("ptest", outbox.Migrations, consumer.Migrations)
	if err != nil {
		t.Fatal(err)
	}
	js, err := p.JetStream()
	if err != nil {
		t.Fatal(err)
	}
	p.Relay(pool, js, outbox.RelayOptions{PollInterval: time.Hour}) // nothing Notifies it: only the final drain publishes
	holding := make(chan struct{})
	r, err := consumer.New(js, pool, consumer.Config{Name: "ptest-cases", Subjects: []string{inSubject}},
		func(hctx context.Context, tx pgx.Tx, msg consumer.Message) error {
			close(holding)
			<-ctx.Done() // the stop arrives while the message is in hand
			return outbox.Enqueue(hctx, tx, outbox.Message{ID: "ev-out", Subject: outSubject, Data: []byte("closed")})
		}, p.Log)
	if err != nil {
		t.Fatal(err)
	}
	p.Consume(r)
	grpcAddr, adminAddr := freeAddr(t), freeAddr(t)
	if _, err := p.GRPC(grpcAddr, "PTEST_GRPC_ADDR"); err != nil {
		t.Fatal(err)
	}
	if err := p.Admin(adminAddr, "PTEST_ADMIN_ADDR"); err != nil {
		t.Fatal(err)
	}
	waited := make(chan error, 1)
	go func() { waited <- p.Wait() }()

	var ready map[string]string
	eventually(t, "/readyz", func() bool {
		resp, err := http.Get("http://" + adminAddr + "/readyz")
		if err != nil {
			return false
		}
		defer resp.Body.Close()
		return resp.StatusCode == http.StatusOK && json.NewDecoder(resp.Body).Decode(&ready) == nil
	})
	if diff := cmp.Diff(map[string]string{"postgres": "ok"}, ready); diff != "" {
		t.Errorf("readiness mismatch (-want +got):\n%s", diff)
	}
	if c, err := net.Dial("tcp", grpcAddr); err != nil {
		t.Errorf("gRPC port: %v", err)
	} else {
		c.Close()
	}

	// The test's own connection: the process closes its own at the end.
	nc, err := nats.Connect(cfg.NATSURL)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	tjs, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	eventually(t, "the streams", func() bool { return natsjs.Ready(ctx, tjs) == nil })
	if _, err := tjs.Publish(ctx, inSubject, []byte("received"), jetstream.WithMsgID("ev-in")); err != nil {
		t.Fatal(err)
	}
	<-holding
	cancel()
	select {
	case err := <-waited:
		if err != nil {
			t.Fatalf("Wait: %v", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("Wait did not return after the stop")
	}
	stream, err := tjs.Stream(context.Background(), natsjs.StreamGrid)
	if err != nil {
		t.Fatal(err)
	}
	got, err := stream.GetLastMsgForSubject(context.Background(), outSubject)
	if err != nil {
		t.Fatalf("what the consumer committed while stopping was not published before Wait returned: %v", err)
	}
	if got.Header.Get(jetstream.MsgIDHeader) != "ev-out" {
		t.Errorf("published %v, want ev-out", got.Header)
	}
	var left int
	if err := pool.QueryRow(context.Background(), `SELECT count(*) FROM outbox`).Scan(&left); err != nil || left != 0 {
		t.Errorf("outbox rows left: %d (%v)", left, err)
	}
}

// A start that fails half way (a port held by another process) names the
// setting that moves it, and Close releases what was built — the relay
// included — without waiting for a stop that will never come.
func TestStartFailingOnAHeldPortReleasesWhatWasBuilt(t *testing.T) {
	t.Parallel()
	cfg := base(t)
	held, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer held.Close()
	p, err := process.Start(context.Background(), "ptest", cfg, cfg)
	if err != nil {
		t.Fatal(err)
	}
	pool, err := p.Postgres("ptest", outbox.Migrations)
	if err != nil {
		t.Fatal(err)
	}
	js, err := p.JetStream()
	if err != nil {
		t.Fatal(err)
	}
	p.Relay(pool, js, outbox.RelayOptions{})
	_, err = p.GRPC(held.Addr().String(), "PTEST_GRPC_ADDR")
	if err == nil || !strings.Contains(err.Error(), "PTEST_GRPC_ADDR") {
		t.Fatalf("GRPC on a held port: %v, want an error naming PTEST_GRPC_ADDR", err)
	}
	closed := make(chan struct{})
	go func() { p.Close(); close(closed) }()
	select {
	case <-closed:
	case <-time.After(cfg.ShutdownTimeout + 5*time.Second):
		t.Fatal("Close did not return")
	}
	if err := pool.Ping(context.Background()); err == nil {
		t.Error("the pool is still open after Close")
	}
}

// A consumer wired before the relay has no streams to wait for: Wait says
// so instead of consuming from a stream that may not exist.
func TestConsumeBeforeRelayIsAnError(t *testing.T) {
	t.Parallel()
	cfg := base(t)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	p, err := process.Start(ctx, "ptest", cfg, cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	pool, err := p.Postgres("ptest", consumer.Migrations)
	if err != nil {
		t.Fatal(err)
	}
	js, err := p.JetStream()
	if err != nil {
		t.Fatal(err)
	}
	r, err := consumer.New(js, pool, consumer.Config{Name: "ptest-cases", Subjects: []string{inSubject}},
		func(context.Context, pgx.Tx, consumer.Message) error { return nil }, p.Log)
	if err != nil {
		t.Fatal(err)
	}
	p.Consume(r)
	if err := p.Wait(); err == nil || ctx.Err() != nil {
		t.Errorf("Wait = %v (ctx %v), want the wiring error", err, ctx.Err())
	}
}

type fakeLive struct {
	refreshed atomic.Int32
	fail      atomic.Bool
}

func (f *fakeLive) Name() string { return "test data" }
func (f *fakeLive) Attrs() []any { return []any{"generation", f.refreshed.Load()} }
func (f *fakeLive) Refresh(context.Context) error {
	if f.fail.Load() {
		return errors.New("broken file")
	}
	f.refreshed.Add(1)
	return nil
}

// SIGHUP reloads what the process was given, every time, until it stops.
// Not parallel: the signal goes to the whole test binary.
func TestReloadOnHangup(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	p, err := process.Start(ctx, "ptest", config.Base{LogLevel: slog.LevelError}, struct{}{})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	var l fakeLive
	p.ReloadOnHangup(&l)
	for want := int32(1); want <= 2; want++ {
		if err := syscall.Kill(syscall.Getpid(), syscall.SIGHUP); err != nil {
			t.Fatal(err)
		}
		eventually(t, "a reload", func() bool { return l.refreshed.Load() == want })
	}
	l.fail.Store(true)
	if err := syscall.Kill(syscall.Getpid(), syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	time.Sleep(100 * time.Millisecond)
	if n := l.refreshed.Load(); n != 2 {
		t.Errorf("%d reloads, want 2 (the failed one counts none)", n)
	}
}
