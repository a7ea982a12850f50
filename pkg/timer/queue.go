package timer

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
)

// Op is one change to a timer for Queue: Schedule (kind, key) at At with
// Payload, or with Cancel set, Cancel it.
type Op struct {
	Kind, Key string
	At        time.Time
	Payload   []byte
	Cancel    bool
}

// Queue queues on b what Schedule and Cancel would do for ops, taken in
// order (the last op of a kind and key wins), as at most two statements
// whatever the number of ops: one upsert of the scheduled timers, which
// wakes the schema's workers as Schedule does, and one delete of the
// cancelled. Rows are written in (kind, key) order, so two transactions
// queueing overlapping timers take their row locks in one order. For a
// consumer's batch or a store writing many changes at once (issue 17);
// errors show when b is sent.
func Queue(b *pgx.Batch, ops []Op) error {
	last := make(map[[2]string]Op, len(ops))
	for _, op := range ops {
		if op.Kind == "" {
			return errors.New("timer: schedule: empty kind")
		}
		if !op.Cancel && op.At.IsZero() {
			return fmt.Errorf("timer: schedule %s/%s: zero due time", op.Kind, op.Key)
		}
		last[[2]string{op.Kind, op.Key}] = op
	}
	keys := make([][2]string, 0, len(last))
	for k := range last {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(a, b [2]string) int {
		if c := strings.Compare(a[0], b[0]); c != 0 {
			return c
		}
		return strings.Compare(a[1], b[1])
	})
	var (
		sk, skey, ck, ckey []string
		due                []time.Time
		payload            [][]byte
	)
	for _, k := range keys {
		op := last[k]
		if op.Cancel {
			ck, ckey = append(ck, k[0]), append(ckey, k[1])
			continue
		}
		p := op.Payload
		if p == nil {
			p = []byte{}
		}
		sk, skey, due, payload = append(sk, k[0]), append(skey, k[1]), append(due, op.At.UTC()), append(payload, p)
	}
	if len(sk) > 0 {
		b.Queue(`
		WITH up AS (
			INSERT INTO timers (kind, key, due_at, payload)
			SELECT k, y, d, p FROM unnest($1::text[], $2::text[], $3::timestamptz[], $4::bytea[]) WITH ORDINALITY AS t (k, y, d, p, n)
			ORDER BY n
			ON CONFLICT (kind, key) DO UPDATE
				SET id = DEFAULT, due_at = EXCLUDED.due_at, payload = EXCLUDED.payload,
				    attempts = 0, last_error = NULL
			RETURNING due_at)
		SELECT pg_notify(`+channelSQL+`, '') WHERE EXISTS (SELECT FROM up WHERE `+soonSQL+`)`, sk, skey, due, payload)
	}
	if len(ck) > 0 {
		b.Queue(`DELETE FROM timers t USING unnest($1::text[], $2::text[]) AS c (k, y) WHERE t.kind = c.k AND t.key = c.y`, ck, ckey)
	}
	return nil
}
