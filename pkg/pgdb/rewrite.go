package pgdb

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"
)

// Rewrite is a data migration over one column: it passes the column's value
// of every row of table that where selects (a SQL condition, "true" for
// all) to fn and writes back what fn changed, in batches ordered by the
// table's key column (of SQL type keyType: text, bigint …). It returns how
// many rows it changed. It is for values only Go can rewrite — stored
// protobuf, text masked by Go's rules — in a migration Step's transaction.
func Rewrite(ctx context.Context, tx pgx.Tx, table, key, keyType, column, where string,
	fn func(value []byte) ([]byte, bool, error)) (int, error) {
	for _, name := range []string{table, key, keyType, column} {
		if !schemaName.MatchString(name) {
			return 0, fmt.Errorf("pgdb: rewrite: bad name %q", name)
		}
	}
	type row struct {
		key   string
		value []byte
	}
	changed := 0
	var last *string
	for {
		rows, err := tx.Query(ctx, fmt.Sprintf(`SELECT %[2]s::text, %[4]s FROM %[1]s
			WHERE (%[5]s) AND ($1::text IS NULL OR %[2]s > $1::text::%[3]s) ORDER BY %[2]s LIMIT 500`, table, key, keyType, column, where), last)
		if err != nil {
			return changed, fmt.Errorf("rewrite %s.%s: %w", table, column, err)
		}
		batch, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (row, error) {
			var x row
			err := r.Scan(&x.key, &x.value)
			return x, err
		})
		if err != nil {
			return changed, fmt.Errorf("rewrite %s.%s: %w", table, column, err)
		}
		for _, x := range batch {
			out, ok, err := fn(x.value)
			if err != nil {
				return changed, fmt.Errorf("rewrite %s.%s of %s: %w", table, column, x.key, err)
			}
			if !ok {
				continue
			}
			if _, err := tx.Exec(ctx, fmt.Sprintf(`UPDATE %[1]s SET %[4]s = $2 WHERE %[2]s = $1::%[3]s`, table, key, keyType, column),
				x.key, out); err != nil {
				return changed, fmt.Errorf("rewrite %s.%s of %s: %w", table, column, x.key, err)
			}
			changed++
		}
		if len(batch) < 500 {
			return changed, nil
		}
		last = &batch[len(batch)-1].key
	}
}
