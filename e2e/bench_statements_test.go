//go:build bench

package e2e

import (
	"context"
	"net/url"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// Where PostgreSQL's time goes (issue 17): with BENCH_STATEMENTS=1 the
// bench's cluster preloads pg_stat_statements (scripts/pg.sh,
// GRIDFLOW_PG_STATEMENTS=1) and every service connects as a database role
// of its own name, so that the statements — which pg_stat_statements keys
// by role, not by schema — are told apart by service even where they share
// their text (every service's outbox and consumer_handled). Over the fixed
// phase the bench then prints the top statements by total execution time
// with their calls per order and µs per call, and each service's sum.
//
// Always (statements or not), PostgreSQL's CPU over the phase is split by
// the service its backends serve (their application_name, gridflow-<schema>).

// benchStatements is the per-service database URLs and the statistics
// reader; nil methods do nothing when BENCH_STATEMENTS is off.
type benchStatements struct {
	on   bool
	base string // the cluster's URL (the gridflow role)
}

// statementsFromEnv turns statements on for the cluster startPostgres is
// about to start; call it first.
func statementsFromEnv(t *testing.T) *benchStatements {
	t.Helper()
	if os.Getenv("BENCH_STATEMENTS") != "1" {
		return &benchStatements{}
	}
	t.Setenv("GRIDFLOW_PG_STATEMENTS", "1")
	return &benchStatements{on: true}
}

// roles makes a superuser login role per service (the same rights as the
// gridflow role they replace: nothing else about the stack changes).
func (b *benchStatements) roles(t *testing.T, dbURL string) {
	t.Helper()
	b.base = dbURL
	if !b.on {
		return
	}
	ctx := context.Background()
	db, err := pgx.Connect(ctx, dbURL)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close(ctx)
	for _, svc := range services {
		if _, err := db.Exec(ctx, `DO $$BEGIN CREATE ROLE `+svc+` LOGIN SUPERUSER; EXCEPTION WHEN duplicate_object THEN NULL; END$$`); err != nil {
			t.Fatalf("role %s: %v", svc, err)
		}
	}
	if _, err := db.Exec(ctx, `CREATE EXTENSION IF NOT EXISTS pg_stat_statements`); err != nil {
		t.Fatalf("pg_stat_statements (is it preloaded?): %v", err)
	}
}

// url is the database URL svc connects with: as its own role when
// statements are on.
func (b *benchStatements) url(svc string) string {
	if !b.on {
		return b.base
	}
	u, err := url.Parse(b.base)
	if err != nil {
		return b.base
	}
	u.User = url.User(svc)
	return u.String()
}

// env is what starts svc as its own role (the last setting of a key wins).
func (b *benchStatements) env(svc string) []string {
	return []string{"GRIDFLOW_DATABASE_URL=" + b.url(svc)}
}

// connect opens a connection to the bench's database as its superuser.
func (b *benchStatements) connect(t *testing.T) *pgx.Conn {
	t.Helper()
	db, err := pgx.Connect(context.Background(), b.base)
	if err != nil {
		t.Fatal(err)
	}
	return db
}

// reset forgets the statistics so far (the baseline's, the steps').
func (b *benchStatements) reset(t *testing.T) {
	t.Helper()
	if !b.on {
		return
	}
	ctx := context.Background()
	db := b.connect(t)
	defer db.Close(ctx)
	if _, err := db.Exec(ctx, `SELECT pg_stat_statements_reset()`); err != nil {
		t.Fatalf("reset pg_stat_statements: %v", err)
	}
}

var spaces = regexp.MustCompile(`\s+`)

// report prints the top statements by total execution time since reset,
// per order of the phase, and each service's total.
func (b *benchStatements) report(t *testing.T, orders int, top int) {
	t.Helper()
	if !b.on {
		return
	}
	ctx := context.Background()
	db := b.connect(t)
	defer db.Close(ctx)
	rows, err := db.Query(ctx, `SELECT r.rolname, s.calls, s.total_exec_time, s.rows, s.query
		FROM pg_stat_statements s JOIN pg_roles r ON r.oid = s.userid JOIN pg_database d ON d.oid = s.dbid
		WHERE d.datname = current_database() AND r.rolname = ANY($1) ORDER BY s.total_exec_time DESC`, services)
	if err != nil {
		t.Fatalf("read pg_stat_statements: %v", err)
	}
	type stmt struct {
		svc        string
		calls      int64
		ms         float64
		rows       int64
		query      string
		perOrderUs float64
	}
	var all []stmt
	per := map[string]float64{}
	perCalls := map[string]int64{}
	for rows.Next() {
		var s stmt
		if err := rows.Scan(&s.svc, &s.calls, &s.ms, &s.rows, &s.query); err != nil {
			t.Fatal(err)
		}
		s.perOrderUs = s.ms * 1000 / float64(max(orders, 1))
		per[s.svc] += s.ms
		perCalls[s.svc] += s.calls
		all = append(all, s)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	say("(3) PostgreSQL statements over the phase and its drain (pg_stat_statements, execution time; %d orders):", orders)
	names := slices.Sorted(func(yield func(string) bool) {
		for k := range per {
			if !yield(k) {
				return
			}
		}
	})
	slices.SortFunc(names, func(a, b string) int { return int(per[b]*1000 - per[a]*1000) })
	for _, n := range names {
		say("      %-9s %8.0f µs/order in %6.1f statements/order", n, per[n]*1000/float64(max(orders, 1)),
			float64(perCalls[n])/float64(max(orders, 1)))
	}
	say("      %-9s %9s %9s %9s %7s  %s", "service", "µs/order", "calls/ord", "µs/call", "rows/c", "statement")
	for _, s := range all[:min(top, len(all))] {
		q := strings.TrimSpace(spaces.ReplaceAllString(s.query, " "))
		if r := []rune(q); len(r) > 150 {
			q = string(r[:150]) + "…"
		}
		say("      %-9s %9.0f %9.2f %9.1f %7.1f  %s", s.svc, s.perOrderUs, float64(s.calls)/float64(max(orders, 1)),
			s.ms*1000/float64(max(s.calls, 1)), float64(s.rows)/float64(max(s.calls, 1)), q)
	}
}

// pgCPUByService is the CPU time of PostgreSQL's live backends by the
// service they serve (an emergency lane's count as its service's; others
// are "other"). A backend that exits between two readings loses its share.
func pgCPUByService(t *testing.T, w *procWatch, dbURL string) map[string]time.Duration {
	t.Helper()
	ctx := context.Background()
	db, err := pgx.Connect(ctx, dbURL)
	if err != nil {
		t.Logf("PostgreSQL backends: %v", err)
		return nil
	}
	defer db.Close(ctx)
	backends, err := pgBackends(ctx, db)
	if err != nil {
		t.Logf("PostgreSQL backends: %v", err)
		return nil
	}
	out := map[string]time.Duration{}
	for pid, name := range backends {
		svc := serviceOf(name)
		if !slices.Contains(services, svc) {
			svc = "other"
		}
		out[svc] += w.cpuOf(pid, false)
	}
	return out
}

// pgBackends is the process name each client backend serves, by its pid:
// its application_name without "gridflow-" (a schema, or
// <svc>-emergency: startLanes), or "" for a backend of something else.
func pgBackends(ctx context.Context, db *pgx.Conn) (map[int]string, error) {
	rows, err := db.Query(ctx, `SELECT pid, coalesce(application_name, '') FROM pg_stat_activity WHERE backend_type = 'client backend'`)
	if err != nil {
		return nil, err
	}
	out := map[int]string{}
	var (
		pid int
		app string
	)
	_, err = pgx.ForEachRow(rows, []any{&pid, &app}, func() error {
		name, ok := strings.CutPrefix(app, "gridflow-")
		if !ok {
			name = ""
		}
		out[pid] = name
		return nil
	})
	return out, err
}

func sayPGByService(before, after map[string]time.Duration, orders int) {
	if before == nil || after == nil {
		return
	}
	say("(3) PostgreSQL backends' CPU by the service they serve (live backends only):")
	for _, svc := range append(slices.Clone(services), "other") {
		d := after[svc] - before[svc]
		if d <= 0 {
			continue
		}
		say("      %-9s %8.0f µs/order", svc, float64(d.Microseconds())/float64(max(orders, 1)))
	}
}

// idle reads what the stack costs with no orders coming in, over d after
// the fixed phase has drained: each process's CPU per second and, with
// statements on, each service's statements per second and the busiest
// ones — the polls, timers and watchers that cost per second, not per
// order.
func (b *benchStatements) idle(t *testing.T, w *procWatch, d time.Duration) {
	t.Helper()
	b.reset(t)
	cpu0 := w.cpu()
	time.Sleep(d)
	cpu1 := w.cpu()
	say("(3) idle for %s after the drain: CPU per second of each process:", d)
	for _, name := range w.names() {
		say("      %-9s %8.1f ms/s", name, float64((cpu1[name]-cpu0[name]).Microseconds())/1000/d.Seconds())
	}
	if !b.on {
		return
	}
	ctx := context.Background()
	db := b.connect(t)
	defer db.Close(ctx)
	rows, err := db.Query(ctx, `SELECT r.rolname, s.calls, s.total_exec_time, s.query
		FROM pg_stat_statements s JOIN pg_roles r ON r.oid = s.userid JOIN pg_database d ON d.oid = s.dbid
		WHERE d.datname = current_database() AND r.rolname = ANY($1) ORDER BY s.calls DESC LIMIT 15`, services)
	if err != nil {
		t.Fatalf("read pg_stat_statements: %v", err)
	}
	var (
		svc, q string
		calls  int64
		ms     float64
	)
	say("      %-9s %9s %9s  %s", "service", "calls/s", "µs/s", "statement (idle, by calls)")
	_, err = pgx.ForEachRow(rows, []any{&svc, &calls, &ms, &q}, func() error {
		q = strings.TrimSpace(spaces.ReplaceAllString(q, " "))
		if r := []rune(q); len(r) > 120 {
			q = string(r[:120]) + "…"
		}
		say("      %-9s %9.1f %9.0f  %s", svc, float64(calls)/d.Seconds(), ms*1000/d.Seconds(), q)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
