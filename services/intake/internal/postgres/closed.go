package postgres

import (
	"context"
	"fmt"
	"time"

	"github.com/gridflow/gridflow/pkg/consumer"
	"github.com/gridflow/gridflow/pkg/pgdb"
	"github.com/jackc/pgx/v5"
)

// ClosureMigrations are the shared tables the closures consumer needs (its
// handled-event ledger).
var ClosureMigrations = consumer.Migrations

// SetClosed records in tx, the consumer's transaction, that feedback closed
// (or reopened) a case as of at; an older report than the one applied is
// ignored, and a case intake does not hold is not an error.
func SetClosed(ctx context.Context, tx pgx.Tx, caseID string, closed bool, at time.Time) error {
	_, err := tx.Exec(ctx, `UPDATE submissions SET closed = $2, closure_at = $3
		WHERE case_id = $1 AND (closure_at IS NULL OR closure_at <= $3)`, caseID, closed, at)
	if err != nil {
		return fmt.Errorf("set closed %s: %w", caseID, pgdb.Translate(err))
	}
	return nil
}
