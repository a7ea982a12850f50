package testenv

import (
	"context"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

var planSeq atomic.Int64

// GenericPlan is the plan PostgreSQL gives sql with nargs parameters once
// its plan cache has turned generic — after a prepared statement's first
// runs it plans without the arguments' values — with sequential scans
// disabled, so that on a test's small tables the plan reads an index
// wherever one can serve. A plan that still says "Seq Scan" can do nothing
// else: no index serves the statement without its values (a partial
// index whose predicate the statement does not state, for one).
func GenericPlan(t testing.TB, pool *pgxpool.Pool, sql string, nargs int) string {
	t.Helper()
	name := fmt.Sprintf("generic_plan_%d", planSeq.Add(1)) // prepared statements outlive a transaction
	var plan []string
	err := pgx.BeginFunc(context.Background(), pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(context.Background(),
			`SET LOCAL plan_cache_mode = force_generic_plan; SET LOCAL enable_seqscan = off`); err != nil {
			return err
		}
		if _, err := tx.Exec(context.Background(), `PREPARE `+name+` AS `+sql); err != nil {
			return err
		}
		execute := `EXPLAIN EXECUTE ` + name
		if nargs > 0 {
			// A generic plan does not depend on the values: NULLs do.
			execute += `(NULL` + strings.Repeat(", NULL", nargs-1) + `)`
		}
		rows, err := tx.Query(context.Background(), execute, pgx.QueryExecModeSimpleProtocol)
		if err != nil {
			return err
		}
		plan, err = pgx.CollectRows(rows, pgx.RowTo[string])
		if err != nil {
			return err
		}
		_, err = tx.Exec(context.Background(), `DEALLOCATE `+name)
		return err
	})
	if err != nil {
		t.Fatalf("generic plan of %s: %v", sql, err)
	}
	return strings.Join(plan, "\n")
}
