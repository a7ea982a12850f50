package postgres

import (
	"context"

	"github.com/gridflow/gridflow/pkg/pgdb"
	"github.com/gridflow/gridflow/pkg/redact"
	"github.com/jackc/pgx/v5"
)

// maskContacts (migration 0005, in Go: the masking rule is pkg/redact's)
// masks the phone numbers callers typed into the texts classify kept from
// case.received before intake masked its events: a case's title, content and
// address as given, and the text of each correction. Classify never kept a
// caller's name or phone field. It cannot tell which old cases came from
// anonymous callers (case.received carried that only in its caller), so an
// anonymous caller's house number in an old case's address stays; new ones
// arrive masked.
func maskContacts(ctx context.Context, tx pgx.Tx) error {
	if _, err := pgdb.Rewrite(ctx, tx, "cases", "case_id", "text", "body", "true", func(b []byte) ([]byte, bool, error) {
		return redact.JSONText(b, []string{"Case", "Title"}, []string{"Case", "Content"}, []string{"Case", "Address"})
	}); err != nil {
		return err
	}
	_, err := pgdb.Rewrite(ctx, tx, "corrections", "id", "bigint", "body", "true", func(b []byte) ([]byte, bool, error) {
		return redact.JSONText(b, []string{"Text"})
	})
	return err
}
