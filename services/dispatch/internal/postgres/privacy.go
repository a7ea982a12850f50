package postgres

import (
	"context"

	"github.com/gridflow/gridflow/pkg/pgdb"
	"github.com/gridflow/gridflow/pkg/redact"
	"github.com/jackc/pgx/v5"
)

// maskContacts (migration 0005, in Go: the masking rule is pkg/redact's)
// masks the phone numbers callers typed into the facts dispatch kept from
// case.received before intake masked its events: a case's title, content
// and address as given. Dispatch never kept the caller (FactsIn). It cannot
// tell which old cases came from anonymous callers, so an anonymous
// caller's house number in an old case's address stays; new ones arrive
// masked.
func maskContacts(ctx context.Context, tx pgx.Tx) error {
	_, err := pgdb.Rewrite(ctx, tx, "cases", "case_id", "uuid", "body", "body ? 'facts'", func(b []byte) ([]byte, bool, error) {
		return redact.JSONText(b, []string{"facts", "title"}, []string{"facts", "content"}, []string{"facts", "address", "raw"})
	})
	return err
}
