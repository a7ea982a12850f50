package main

import (
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gridflow/gridflow/pkg/natsauth"
	"github.com/nats-io/nats-server/v2/server"
	natstest "github.com/nats-io/nats-server/v2/test"
)

// The stack's setup as gridctl does it: nats users writes the seeds and
// the authorization block, a nats-server runs with it, nats streams
// declares the streams as the streams user — and no other user may.
func TestNATSUsersAndStreams(t *testing.T) {
	t.Parallel()
	dir := filepath.Join(t.TempDir(), "users")
	out, _, err := gridctl(t, "nats", "users", "--dir", dir)
	if err != nil || !strings.Contains(out, natsauth.ConfigFile(dir)) {
		t.Fatalf("nats users: %v\n%s", err, out)
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

	if _, _, err := gridctl(t, "--timeout", "2s", "--nkey", natsauth.SeedFile(dir, natsauth.Dispatch),
		"nats", "streams", "--nats", url, "--wait", "0s"); err == nil {
		t.Error("dispatch's user declared the streams")
	}
	out, _, err = gridctl(t, "--nkey", natsauth.SeedFile(dir, natsauth.Streams), "nats", "streams", "--nats", url, "--max-age", "240h")
	if err != nil {
		t.Fatalf("nats streams: %v", err)
	}
	for _, want := range []string{"stream GRID on [grid.>] declared: replicas 1, max age 240h0m0s",
		"stream GRID_DLQ on [dlq.>] declared: replicas 1, max age 240h0m0s"} {
		if !strings.Contains(out, want) {
			t.Errorf("nats streams printed:\n%s\nwant %q", out, want)
		}
	}
	// The defaults: GRID a month, dead letters two weeks (README, "Personal
	// data"); each settable on its own.
	out, _, err = gridctl(t, "--nkey", natsauth.SeedFile(dir, natsauth.Streams), "nats", "streams", "--nats", url)
	if err != nil || !strings.Contains(out, "stream GRID on [grid.>] declared: replicas 1, max age 720h0m0s") ||
		!strings.Contains(out, "stream GRID_DLQ on [dlq.>] declared: replicas 1, max age 336h0m0s") {
		t.Errorf("nats streams with the defaults: %v\n%s", err, out)
	}
	out, _, err = gridctl(t, "--nkey", natsauth.SeedFile(dir, natsauth.Streams), "nats", "streams", "--nats", url, "--dlq-max-age", "72h")
	if err != nil || !strings.Contains(out, "stream GRID_DLQ on [dlq.>] declared: replicas 1, max age 72h0m0s") {
		t.Errorf("nats streams --dlq-max-age 72h: %v\n%s", err, out)
	}
	// The operator reads the (empty) stream; without a user, nothing.
	if _, _, err := gridctl(t, "--nkey", natsauth.SeedFile(dir, natsauth.Operator), "events", "tail", "--nats", url, "--last", "1", "--timeout", "5s"); err != nil {
		t.Errorf("events tail as the operator: %v", err)
	}
	if _, _, err := gridctl(t, "--nkey", filepath.Join(dir, "nobody.nk"), "events", "tail", "--nats", url, "--timeout", "5s"); err == nil ||
		!strings.Contains(err.Error(), "nobody.nk") {
		t.Errorf("events tail with a missing seed: %v, want an error naming it", err)
	}
}
