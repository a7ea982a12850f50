// Package testenv gives tests the real infrastructure: a fresh PostgreSQL
// database on the server named by TEST_DATABASE_URL (make test starts one),
// and an in-process NATS server with JetStream. A missing database skips the
// test loudly on a laptop and fails it under CI=true, so CI can never pass by
// skipping.
package testenv

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"log/slog"
	"net/url"
	"os"
	"testing"
	"time"

	"github.com/gridflow/gridflow/pkg/natsjs"
	"github.com/gridflow/gridflow/pkg/pgdb"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/nats-io/nats-server/v2/server"
	natstest "github.com/nats-io/nats-server/v2/test"
	"github.com/nats-io/nats.go/jetstream"
)

// DatabaseURL creates an empty database for this test and returns its URL;
// the database is dropped when the test ends.
func DatabaseURL(t testing.TB) string {
	t.Helper()
	base := os.Getenv("TEST_DATABASE_URL")
	if base == "" {
		if os.Getenv("CI") == "true" {
			t.Fatal("TEST_DATABASE_URL is not set under CI=true: integration tests must run (make test sets it)")
		}
		t.Skip("SKIPPING integration test: TEST_DATABASE_URL is not set (run `make test`, which starts PostgreSQL)")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	admin, err := pgx.Connect(ctx, base)
	if err != nil {
		t.Fatalf("connect TEST_DATABASE_URL: %v", err)
	}
	defer admin.Close(ctx)
	var b [6]byte
	_, _ = rand.Read(b[:])
	name := "gftest_" + hex.EncodeToString(b[:])
	if _, err := admin.Exec(ctx, "CREATE DATABASE "+name); err != nil {
		t.Fatalf("create test database: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		c, err := pgx.Connect(ctx, base)
		if err != nil {
			t.Logf("drop %s: %v", name, err)
			return
		}
		defer c.Close(ctx)
		if _, err := c.Exec(ctx, "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)"); err != nil {
			t.Logf("drop %s: %v", name, err)
		}
	})
	u, err := url.Parse(base)
	if err != nil {
		t.Fatalf("parse TEST_DATABASE_URL: %v", err)
	}
	u.Path = "/" + name
	return u.String()
}

// NATS starts an in-process NATS server with JetStream on a free port,
// storing in a temporary directory, and returns it; it stops with the test.
func NATS(t testing.TB) *server.Server {
	t.Helper()
	opts := natstest.DefaultTestOptions
	opts.Port = -1
	opts.JetStream = true
	opts.StoreDir = t.TempDir()
	s := natstest.RunServer(&opts)
	if !s.ReadyForConnections(10 * time.Second) {
		t.Fatal("nats server not ready")
	}
	t.Cleanup(s.Shutdown)
	return s
}

// Pool opens a pool on schema in a fresh database (DatabaseURL) and applies
// the migration sets; it closes with the test.
func Pool(t testing.TB, schema string, maxConns int32, sets ...pgdb.Migrations) *pgxpool.Pool {
	t.Helper()
	pool, err := pgdb.OpenMigrated(context.Background(), DatabaseURL(t), schema, maxConns, sets...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	return pool
}

// JetStream starts an in-process NATS (see NATS), connects to it and
// declares gridflow's streams; the connection closes with the test.
func JetStream(t testing.TB) (*server.Server, jetstream.JetStream) {
	t.Helper()
	ns := NATS(t)
	nc, js, err := natsjs.Connect(context.Background(), ns.ClientURL(), t.Name(), slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	if err := natsjs.EnsureStreams(context.Background(), js, natsjs.StreamOptions{}); err != nil {
		t.Fatal(err)
	}
	return ns, js
}
