//go:build bench

package e2e

import (
	"cmp"
	"context"
	"fmt"
	"maps"
	"slices"
	"testing"

	"github.com/jackc/pgx/v5"
)

// What PostgreSQL writes for an order (issue 17, "show where the
// microseconds go"): its commits, its WAL, and each table's row writes
// with the index entries they cost. A row inserted, or updated other than HOT, writes an
// entry in every index of its table (a partial index only where the row
// falls in it, so the figure is an upper bound); a HOT update — no indexed
// column changed and room on the row's page — writes none. Read from
// pg_stat_database, pg_stat_wal and pg_stat_user_tables before and after
// the fixed phase, on one connection.

// pgWrites is what the cluster has written so far.
type pgWrites struct {
	commits                      int64 // every database's; the stack uses one
	walRecords, walFPI, walBytes int64
	tables                       map[string]tableWrites // schema.table
}

// tableWrites is one table's row writes so far, and its indexes.
type tableWrites struct {
	ins, upd, hot, del int64
	indexes            int64
}

// pgWritesNow reads pgWrites; on an error it logs and returns what it has.
func pgWritesNow(t *testing.T, dbURL string) pgWrites {
	t.Helper()
	w := pgWrites{tables: map[string]tableWrites{}}
	ctx := context.Background()
	db, err := pgx.Connect(ctx, dbURL)
	if err != nil {
		t.Logf("PostgreSQL writes: %v", err)
		return w
	}
	defer db.Close(ctx)
	// The statistics are flushed by each backend at most once a second
	// (stats_fetch_consistency aside): read them fresh.
	_, _ = db.Exec(ctx, `SELECT pg_stat_clear_snapshot()`)
	if err := db.QueryRow(ctx, `SELECT (SELECT coalesce(sum(xact_commit), 0)::bigint FROM pg_stat_database),
			wal_records, wal_fpi, wal_bytes::bigint FROM pg_stat_wal`).
		Scan(&w.commits, &w.walRecords, &w.walFPI, &w.walBytes); err != nil {
		t.Logf("PostgreSQL writes: commits and WAL: %v", err)
	}
	rows, err := db.Query(ctx, `SELECT schemaname || '.' || relname, n_tup_ins, n_tup_upd, n_tup_hot_upd, n_tup_del,
			(SELECT count(*) FROM pg_index i WHERE i.indrelid = s.relid)
		FROM pg_stat_user_tables s`)
	if err != nil {
		t.Logf("PostgreSQL writes: tables: %v", err)
		return w
	}
	var (
		name string
		tw   tableWrites
	)
	if _, err := pgx.ForEachRow(rows, []any{&name, &tw.ins, &tw.upd, &tw.hot, &tw.del, &tw.indexes}, func() error {
		w.tables[name] = tw
		return nil
	}); err != nil {
		t.Logf("PostgreSQL writes: tables: %v", err)
	}
	return w
}

// sayPGWrites reports the WAL and the index entries per order between a
// and b, and the top tables by index entries.
func sayPGWrites(a, b pgWrites, orders, top int) {
	n := float64(max(orders, 1))
	type row struct {
		name               string
		ins, upd, hot, del float64
		indexes            int64
		entries            float64
	}
	var (
		rows    []row
		entries float64
	)
	for _, name := range slices.Sorted(maps.Keys(b.tables)) {
		x, y := a.tables[name], b.tables[name]
		r := row{name: name, ins: float64(y.ins-x.ins) / n, upd: float64(y.upd-x.upd) / n, hot: float64(y.hot-x.hot) / n,
			del: float64(y.del-x.del) / n, indexes: y.indexes}
		r.entries = (r.ins + r.upd - r.hot) * float64(r.indexes)
		if r.ins+r.upd+r.del == 0 {
			continue
		}
		entries += r.entries
		rows = append(rows, r)
	}
	say("(3) PostgreSQL writes per order over the phase and its drain: %.0f WAL records, %.1f KiB of WAL (%.1f full-page images); %.0f index entries at most",
		float64(b.walRecords-a.walRecords)/n, float64(b.walBytes-a.walBytes)/n/1024, float64(b.walFPI-a.walFPI)/n, entries)
	slices.SortStableFunc(rows, func(p, q row) int { return cmp.Compare(q.entries, p.entries) })
	say("      %-34s %8s %8s %6s %8s %7s %8s", "table", "inserted", "updated", "HOT", "deleted", "indexes", "entries")
	for _, r := range rows[:min(top, len(rows))] {
		hot := "-"
		if r.upd > 0 {
			hot = fmt.Sprintf("%.0f %%", 100*r.hot/r.upd)
		}
		say("      %-34s %8.2f %8.2f %6s %8.2f %7d %8.1f", r.name, r.ins, r.upd, hot, r.del, r.indexes, r.entries)
	}
}
