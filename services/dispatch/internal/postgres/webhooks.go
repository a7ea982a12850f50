package postgres

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/gridflow/gridflow/pkg/fault"
	"github.com/gridflow/gridflow/pkg/idempotency"
	"github.com/gridflow/gridflow/pkg/pagetoken"
	"github.com/gridflow/gridflow/pkg/pgdb"
	"github.com/gridflow/gridflow/pkg/policy"
	"github.com/gridflow/gridflow/pkg/telemetry"
	"github.com/gridflow/gridflow/services/dispatch/internal/webhooks"
	"github.com/jackc/pgx/v5"
)

// Webhooks (issue 19): registrations, and a delivery per task event per
// registration of its unit, written with the event's outbox row.

var (
	_ webhooks.Store = (*Store)(nil)
	_ webhooks.Queue = (*Store)(nil)
)

const webhookCols = `webhook_id, department, url, events, created_by, created_at`

func scanWebhook(row pgx.Row) (webhooks.Webhook, error) {
	var w webhooks.Webhook
	var id uuid.UUID
	err := row.Scan(&id, &w.Department, &w.URL, &w.Events, &w.CreatedBy, &w.CreatedAt)
	w.ID = id.String()
	return w, err
}

// Register implements webhooks.Store.
func (st *Store) Register(ctx context.Context, principal, requestID string, w webhooks.Webhook, secret []byte) (webhooks.Webhook, []byte, error) {
	req, err := idempotency.NewRequest(principal, requestID, webhooks.OpRegister,
		struct {
			Department string   `json:"department"`
			URL        string   `json:"url"`
			Events     []string `json:"events"`
		}{w.Department, w.URL, w.Events})
	if err != nil {
		return w, nil, err
	}
	err = pgx.BeginFunc(ctx, st.pool, func(tx pgx.Tx) error {
		first, err := idempotency.Begin(ctx, tx, req)
		if err != nil {
			return err
		}
		if first != nil {
			// A repeat: the first registration, and its secret again, to the
			// principal that registered it.
			row := tx.QueryRow(ctx, `SELECT `+webhookCols+`, secret FROM webhooks WHERE webhook_id = $1`, string(first.Body))
			var id uuid.UUID
			if err := row.Scan(&id, &w.Department, &w.URL, &w.Events, &w.CreatedBy, &w.CreatedAt, &secret); err != nil {
				return fmt.Errorf("read webhook %s: %w", first.Body, pgdb.Translate(err))
			}
			w.ID = id.String()
			return nil
		}
		if _, err := tx.Exec(ctx, `INSERT INTO webhooks (webhook_id, department, url, events, secret, created_by, created_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7)`, w.ID, w.Department, w.URL, w.Events, secret, w.CreatedBy, w.CreatedAt); err != nil {
			return fmt.Errorf("insert webhook: %w", pgdb.Translate(err))
		}
		return idempotency.Save(ctx, tx, req, idempotency.Result{Resource: "webhooks/" + w.ID, Body: []byte(w.ID)})
	})
	if w.Events == nil {
		w.Events = []string{}
	}
	return w, secret, err
}

// ListWebhooks implements webhooks.Store: live registrations, oldest first,
// of one unit or ("") all.
func (st *Store) ListWebhooks(ctx context.Context, department string, pageSize int, pageToken string) ([]webhooks.Webhook, string, error) {
	size := pageSizeOf(pageSize)
	after, afterID := time.Time{}, uuid.Nil.String()
	if pageToken != "" {
		var err error
		if after, afterID, err = pagetoken.Decode(pageToken); err != nil {
			return nil, "", invalidToken()
		}
	}
	rows, err := st.pool.Query(ctx, `SELECT `+webhookCols+` FROM webhooks
		WHERE deleted_at IS NULL AND ($1 = '' OR department = $1) AND (created_at, webhook_id) > ($2, $3)
		ORDER BY created_at, webhook_id LIMIT $4`, department, after, afterID, size+1)
	if err != nil {
		return nil, "", fmt.Errorf("list webhooks: %w", pgdb.Translate(err))
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (webhooks.Webhook, error) { return scanWebhook(r) })
	if err != nil {
		return nil, "", fmt.Errorf("list webhooks: %w", pgdb.Translate(err))
	}
	next := ""
	if len(out) > size {
		out = out[:size]
		last := out[size-1]
		next = pagetoken.Encode(last.CreatedAt, last.ID)
	}
	return out, next, nil
}

// Webhook implements webhooks.Store (a deleted one too: deleting twice is
// the first answer again).
func (st *Store) Webhook(ctx context.Context, id string) (webhooks.Webhook, error) {
	w, err := scanWebhook(st.pool.QueryRow(ctx, `SELECT `+webhookCols+` FROM webhooks WHERE webhook_id = $1`, id))
	if errors.Is(err, pgx.ErrNoRows) {
		return w, fault.NotFoundf("webhooks/"+id, "webhook %s not found", id)
	}
	if err != nil {
		return w, fmt.Errorf("read webhook %s: %w", id, pgdb.Translate(err))
	}
	return w, nil
}

// Delete implements webhooks.Store: the registration ends and what it still
// had to deliver is dropped (its dead letters stay, for the record).
func (st *Store) Delete(ctx context.Context, id string, at time.Time) error {
	return pgx.BeginFunc(ctx, st.pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `UPDATE webhooks SET deleted_at = $2 WHERE webhook_id = $1 AND deleted_at IS NULL`, id, at); err != nil {
			return fmt.Errorf("delete webhook %s: %w", id, pgdb.Translate(err))
		}
		if _, err := tx.Exec(ctx, `DELETE FROM webhook_deliveries WHERE webhook_id = $1 AND state = 'pending'`, id); err != nil {
			return fmt.Errorf("drop deliveries of webhook %s: %w", id, pgdb.Translate(err))
		}
		return nil
	})
}

const deliveryCols = `d.delivery_id, d.webhook_id, d.department, w.url, d.event_id, d.event_type, d.case_id, d.state, d.attempts,
	d.next_try, d.last_error, d.created_at, d.updated_at`

func scanDelivery(row pgx.Row, extra ...any) (webhooks.Delivery, error) {
	var d webhooks.Delivery
	var id, wid uuid.UUID
	var state string
	err := row.Scan(append([]any{&id, &wid, &d.Department, &d.URL, &d.EventID, &d.EventType, &d.CaseID, &state, &d.Attempts,
		&d.NextTry, &d.LastError, &d.CreatedAt, &d.UpdatedAt}, extra...)...)
	d.ID, d.WebhookID, d.State = id.String(), wid.String(), webhooks.State(state)
	return d, err
}

// ListDeliveries implements webhooks.Store: newest first, within scope.
func (st *Store) ListDeliveries(ctx context.Context, scope policy.Scope, f webhooks.DeliveryFilter) ([]webhooks.Delivery, string, error) {
	size := pageSizeOf(f.PageSize)
	var args []any
	arg := func(v any) string { args = append(args, v); return fmt.Sprintf("$%d", len(args)) }
	where := []string{scope.Where(policy.Columns{District: "d.district", Street: "d.street", Department: "d.department = %s"}, arg)}
	if f.Department != "" {
		where = append(where, "d.department = "+arg(f.Department))
	}
	if len(f.States) > 0 {
		states := make([]string, len(f.States))
		for i, s := range f.States {
			states[i] = string(s)
		}
		where = append(where, "d.state = ANY("+arg(states)+")")
	}
	if f.PageToken != "" {
		at, id, err := pagetoken.Decode(f.PageToken)
		if err != nil {
			return nil, "", invalidToken()
		}
		where = append(where, "(d.updated_at, d.delivery_id) < ("+arg(at)+", "+arg(id)+"::uuid)")
	}
	rows, err := st.pool.Query(ctx, `SELECT `+deliveryCols+` FROM webhook_deliveries d JOIN webhooks w USING (webhook_id)
		WHERE `+strings.Join(where, " AND ")+` ORDER BY d.updated_at DESC, d.delivery_id DESC LIMIT `+arg(size+1), args...)
	if err != nil {
		return nil, "", fmt.Errorf("list webhook deliveries: %w", pgdb.Translate(err))
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (webhooks.Delivery, error) { return scanDelivery(r) })
	if err != nil {
		return nil, "", fmt.Errorf("list webhook deliveries: %w", pgdb.Translate(err))
	}
	next := ""
	if len(out) > size {
		out = out[:size]
		last := out[size-1]
		next = pagetoken.Encode(last.UpdatedAt, last.ID)
	}
	return out, next, nil
}

// Delivery implements webhooks.Store.
func (st *Store) Delivery(ctx context.Context, id string) (webhooks.Delivery, bool, error) {
	var live bool
	d, err := scanDelivery(st.pool.QueryRow(ctx, `SELECT `+deliveryCols+`, w.deleted_at IS NULL
		FROM webhook_deliveries d JOIN webhooks w USING (webhook_id) WHERE d.delivery_id = $1`, id), &live)
	if errors.Is(err, pgx.ErrNoRows) {
		return d, false, fault.NotFoundf("webhook-deliveries/"+id, "webhook delivery %s not found", id)
	}
	if err != nil {
		return d, false, fmt.Errorf("read webhook delivery %s: %w", id, pgdb.Translate(err))
	}
	return d, live, nil
}

// Revive implements webhooks.Store: a dead delivery of a live registration
// is pending again with its tries counted afresh (its last error kept, for
// the record, until the next try).
func (st *Store) Revive(ctx context.Context, id string, at time.Time) (webhooks.Delivery, error) {
	d, err := scanDelivery(st.pool.QueryRow(ctx, `UPDATE webhook_deliveries d SET state = 'pending', attempts = 0, next_try = $2, updated_at = $2
		FROM webhooks w WHERE d.delivery_id = $1 AND d.state = 'dead' AND w.webhook_id = d.webhook_id AND w.deleted_at IS NULL
		RETURNING `+deliveryCols, id, at))
	if errors.Is(err, pgx.ErrNoRows) {
		d, _, err = st.Delivery(ctx, id)
		return d, err
	}
	if err != nil {
		return d, fmt.Errorf("retry webhook delivery %s: %w", id, pgdb.Translate(err))
	}
	return d, nil
}

// Claim implements webhooks.Queue.
func (st *Store) Claim(ctx context.Context, now time.Time, n int, lease time.Duration) ([]webhooks.Claimed, error) {
	rows, err := st.pool.Query(ctx, `WITH due AS (
			SELECT delivery_id FROM webhook_deliveries WHERE state = 'pending' AND next_try <= $1
			ORDER BY next_try LIMIT $2 FOR UPDATE SKIP LOCKED)
		UPDATE webhook_deliveries d SET attempts = d.attempts + 1, next_try = $3, updated_at = $1
		FROM due, webhooks w WHERE d.delivery_id = due.delivery_id AND w.webhook_id = d.webhook_id
		RETURNING `+deliveryCols+`, w.secret, d.payload`, now, n, now.Add(lease))
	if err != nil {
		return nil, fmt.Errorf("claim webhook deliveries: %w", pgdb.Translate(err))
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (webhooks.Claimed, error) {
		var c webhooks.Claimed
		d, err := scanDelivery(r, &c.Secret, &c.Payload)
		c.Delivery = d
		return c, err
	})
	if err != nil {
		return nil, fmt.Errorf("claim webhook deliveries: %w", pgdb.Translate(err))
	}
	return out, nil
}

func (st *Store) settle(ctx context.Context, id, state string, at, next time.Time, reason string) error {
	if _, err := st.pool.Exec(ctx, `UPDATE webhook_deliveries SET state = $2, updated_at = $3, next_try = $4, last_error = $5
		WHERE delivery_id = $1 AND state = 'pending'`, id, state, at, next, reason); err != nil {
		return fmt.Errorf("record webhook delivery %s: %w", id, pgdb.Translate(err))
	}
	return nil
}

// Delivered implements webhooks.Queue.
func (st *Store) Delivered(ctx context.Context, id string, at time.Time) error {
	return st.settle(ctx, id, string(webhooks.Delivered), at, at, "")
}

// Retry implements webhooks.Queue.
func (st *Store) Retry(ctx context.Context, id string, at, next time.Time, reason string) error {
	return st.settle(ctx, id, string(webhooks.Pending), at, next, reason)
}

// Release implements webhooks.Queue.
func (st *Store) Release(ctx context.Context, id string, at time.Time) error {
	if _, err := st.pool.Exec(ctx, `UPDATE webhook_deliveries SET attempts = greatest(attempts - 1, 0), next_try = $2, updated_at = $2
		WHERE delivery_id = $1 AND state = 'pending'`, id, at); err != nil {
		return fmt.Errorf("release webhook delivery %s: %w", id, pgdb.Translate(err))
	}
	return nil
}

// Kill implements webhooks.Queue.
func (st *Store) Kill(ctx context.Context, id string, at time.Time, reason string) error {
	return st.settle(ctx, id, string(webhooks.Dead), at, at, reason)
}

// GaugeDeadWebhooks counts dead webhook deliveries waiting for a person.
const GaugeDeadWebhooks = "gridflow_dispatch_webhook_dead_deliveries"

// GaugePendingWebhooks counts webhook deliveries not yet made.
const GaugePendingWebhooks = "gridflow_dispatch_webhook_pending_deliveries"

// WebhookGauges reports the dead and pending deliveries on /metrics.
func (st *Store) WebhookGauges() telemetry.PolledGauges {
	return telemetry.PolledGauges{
		Scope: "github.com/gridflow/gridflow/services/dispatch/internal/postgres",
		Gauges: map[string]string{
			GaugeDeadWebhooks:    "webhook deliveries of live registrations dead after their last try (listed by WebhookService/ListWebhookDeliveries, sent again by RetryWebhookDelivery)",
			GaugePendingWebhooks: "webhook deliveries waiting for their next try",
		},
		Poll: func(ctx context.Context) (map[string]float64, error) {
			var dead, pending int64
			// A deleted registration's dead letters stay for the record but
			// wait for no one (they cannot be retried): not counted, so the
			// dead-delivery alert clears once each is retried or its
			// registration ended.
			if err := st.pool.QueryRow(ctx, `SELECT count(*) FILTER (WHERE d.state = 'dead'), count(*) FILTER (WHERE d.state = 'pending')
				FROM webhook_deliveries d JOIN webhooks w USING (webhook_id)
				WHERE d.state IN ('dead', 'pending') AND w.deleted_at IS NULL`).Scan(&dead, &pending); err != nil {
				return nil, fmt.Errorf("webhook deliveries: %w", err)
			}
			return map[string]float64{GaugeDeadWebhooks: float64(dead), GaugePendingWebhooks: float64(pending)}, nil
		},
	}
}

// Webhook lists' page sizes: the domain has checked the size is not
// negative; 0 is the default page and a larger one than the maximum is
// coerced to it (AIP-158).
func pageSizeOf(n int) int {
	switch {
	case n <= 0:
		return 50
	case n > 500:
		return 500
	}
	return n
}

func invalidToken() error {
	var vs fault.Violations
	vs.Add("page_token", "is not a token this list returned")
	return vs.Err()
}
