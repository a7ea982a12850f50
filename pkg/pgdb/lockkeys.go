package pgdb

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"
)

// LockKeysSQL takes a transaction-scoped advisory lock in the space
// hashtext($1) on every key of $2 (text[]), in one statement and in the
// order of the lock keys (not of the keys: two keys whose hashes collide
// are one lock), so that transactions locking overlapping sets wait for each
// other in one order and cannot deadlock. The lock of one key is
// pg_advisory_xact_lock(hashtext(space), hashtext(key)): a single-key lock
// taken that way meets these. For a pgx.Batch; LockKeys runs it alone.
const LockKeysSQL = `SELECT pg_advisory_xact_lock(hashtext($1), k)
	FROM (SELECT DISTINCT hashtext(key) AS k FROM unnest($2::text[]) AS key ORDER BY k) AS keys`

// LockKeys runs LockKeysSQL for space and keys in tx.
// On a transaction that holds statements (Lazy) the locks travel with its
// next statement: nothing reads them before it.
func LockKeys(ctx context.Context, tx pgx.Tx, space string, keys []string) error {
	if h, ok := tx.(Holder); ok {
		h.Hold(LockKeysSQL, space, keys)
		return nil
	}
	if _, err := tx.Exec(ctx, LockKeysSQL, space, keys); err != nil {
		return fmt.Errorf("lock %s: %w", space, Translate(err))
	}
	return nil
}
