package postgres

import (
	"context"
	"fmt"

	"github.com/gridflow/gridflow/pkg/pgdb"
	"github.com/gridflow/gridflow/pkg/redact"
	"github.com/jackc/pgx/v5"
	"google.golang.org/protobuf/proto"

	eventsv1 "github.com/gridflow/gridflow/proto/gen/go/gridflow/events/v1"
)

// maskContacts (migration 0006, in Go: stored envelopes are protobuf, and
// the masking rule is pkg/redact's) masks what feedback's log kept of
// intake's events from before intake masked them — the caller's name and
// phone, phone numbers in the texts, an anonymous caller's house number —
// exactly as intake now masks them before publishing (redact.Envelope).
// The cases view took the title and the place key from case.received:
// they are set again from the masked event, as a rebuild would.
func maskContacts(ctx context.Context, tx pgx.Tx) error {
	type view struct{ caseID, title, placeKey string }
	var views []view
	_, err := pgdb.Rewrite(ctx, tx, "events", "seq", "bigint", "envelope",
		"type IN ('case.received', 'case.answered', 'case.followed_up')", func(b []byte) ([]byte, bool, error) {
			var env eventsv1.Envelope
			if err := proto.Unmarshal(b, &env); err != nil {
				return nil, false, err
			}
			if !redact.Envelope(&env) {
				return b, false, nil
			}
			if r := env.GetCaseReceived(); r != nil || env.GetCaseAnswered() != nil {
				if r == nil {
					r = env.GetCaseAnswered()
				}
				views = append(views, view{env.GetCaseId(), r.GetTitle(), r.GetAddress().GetKey()})
			}
			out, err := proto.Marshal(&env)
			return out, true, err
		})
	if err != nil {
		return err
	}
	for _, v := range views {
		if _, err := tx.Exec(ctx, `UPDATE cases SET body = jsonb_set(jsonb_set(body, '{Title}', to_jsonb($2::text)),
			'{PlaceKey}', to_jsonb($3::text)) WHERE case_id = $1`, v.caseID, v.title, v.placeKey); err != nil {
			return fmt.Errorf("mask the view of case %s: %w", v.caseID, err)
		}
	}
	return nil
}
