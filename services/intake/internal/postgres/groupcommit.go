package postgres

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/gridflow/gridflow/pkg/outbox"
	"github.com/gridflow/gridflow/pkg/pgdb"
	"github.com/gridflow/gridflow/services/intake/internal/events"
	"github.com/gridflow/gridflow/services/intake/internal/intake"
	"github.com/jackc/pgx/v5"
)

// Group commit: with synchronous_commit on, each commit waits for a WAL
// flush, and that flush — not the inserts — bounds how many submissions one
// connection takes per second. Concurrent Creates therefore share
// transactions: a worker takes the first waiting request, drains whatever
// else is already waiting (never waiting for more, so a lone request pays
// no extra latency) and commits them together, rows and outbox events in one
// flush. Several workers keep several flushes in flight.

type createReq struct {
	ctx  context.Context // the request's, for its trace context only
	sub  *intake.Submission
	done chan createRes
}

type createRes struct {
	stored  *intake.Submission
	created bool
	err     error
}

// RunGroupCommit serves Creates through workers sharing transactions of up
// to maxBatch submissions, until ctx ends. Stop it only after the gRPC server
// has stopped: Creates in flight wait for it.
func (st *Store) RunGroupCommit(ctx context.Context, workers, maxBatch int) {
	st.maxBatch = max(maxBatch, 1)
	st.creates = make(chan *createReq, workers*st.maxBatch)
	for range max(workers, 1) {
		go st.worker(ctx)
	}
}

func (st *Store) worker(ctx context.Context) {
	for {
		var first *createReq
		select {
		case <-ctx.Done():
			return
		case first = <-st.creates:
		}
		batch := []*createReq{first}
	drain:
		for len(batch) < st.maxBatch {
			select {
			case r := <-st.creates:
				batch = append(batch, r)
			default:
				break drain
			}
		}
		st.createBatch(context.WithoutCancel(ctx), batch)
	}
}

// Create inserts s and its event, or returns the submission already stored
// under the same principal and request id (or hotline order number).
func (st *Store) Create(ctx context.Context, s *intake.Submission) (*intake.Submission, bool, error) {
	r := &createReq{ctx: ctx, sub: s, done: make(chan createRes, 1)}
	if st.creates == nil {
		st.createBatch(ctx, []*createReq{r})
	} else {
		select {
		case st.creates <- r:
		case <-ctx.Done():
			return nil, false, ctx.Err()
		}
	}
	// Once queued the submission may commit even if ctx ends meanwhile; the
	// client's retry with the same request id then gets this result.
	select {
	case res := <-r.done:
		return res.stored, res.created, res.err
	case <-ctx.Done():
		return nil, false, ctx.Err()
	}
}

// createBatch stores a batch in one transaction. If the transaction fails,
// each request is retried alone so one bad row cannot fail its neighbours.
func (st *Store) createBatch(ctx context.Context, batch []*createReq) {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	results := make([]createRes, len(batch))
	var out outbox.Stored
	err := pgdb.InTx(ctx, st.pool, func(tx pgx.Tx) error {
		out = outbox.Stored{}
		rows, err := tx.Query(ctx, `SELECT nextval('case_number_seq') FROM generate_series(1, $1)`, len(batch))
		if err != nil {
			return err
		}
		seqs, err := pgx.CollectRows(rows, pgx.RowTo[int64])
		if err != nil {
			return err
		}
		b := &pgx.Batch{}
		for i, r := range batch {
			s := r.sub
			s.CaseID = uuid.Must(uuid.NewV7()).String()
			s.CaseNumber = CaseNumber(s.AcceptedAt, seqs[i])
			body, err := json.Marshal(s)
			if err != nil {
				return err
			}
			var hotline *string
			if s.WorkOrder != nil {
				hotline = &s.WorkOrder.HotlineOrderNo
			}
			b.Queue(`INSERT INTO submissions (case_id, case_number, source, principal, request_id, request_hash,
					hotline_order_no, accepted_at, district_code, street_code, community_code, grid_code, body)
				VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13) ON CONFLICT DO NOTHING`,
				s.CaseID, s.CaseNumber, s.Source, s.Principal, s.RequestID, s.RequestHash,
				hotline, s.AcceptedAt, s.Area.District, s.Area.Street, s.Area.Community, s.Area.Grid, body)
		}
		inserted := make([]bool, len(batch))
		br := tx.SendBatch(ctx, b)
		for i := range batch {
			tag, err := br.Exec()
			if err != nil {
				br.Close()
				return pgdb.Translate(err)
			}
			inserted[i] = tag.RowsAffected() == 1
		}
		if err := br.Close(); err != nil {
			return err
		}
		var msgs []outbox.Message
		for i, r := range batch {
			s := r.sub
			if !inserted[i] {
				// Taken before (or earlier in this batch): by this principal's
				// request id, or for the hotline its order number.
				var hotline *string
				if s.WorkOrder != nil {
					hotline = &s.WorkOrder.HotlineOrderNo
				}
				existing, err := getOne(ctx, tx, `WHERE (principal = $1 AND request_id = $2) OR hotline_order_no = $3`, s.Principal, s.RequestID, hotline)
				if err != nil {
					return fmt.Errorf("read existing submission: %w", err)
				}
				results[i] = createRes{stored: existing}
				continue
			}
			msg, err := events.Received(s, s.Principal, s.AcceptedAt)
			if err != nil {
				return err
			}
			msgs = append(msgs, outbox.WithTrace(r.ctx, msg))
			results[i] = createRes{stored: s, created: true}
		}
		out, err = outbox.EnqueueStored(ctx, tx, msgs...)
		return err
	})
	if err != nil {
		if len(batch) > 1 {
			for _, r := range batch {
				st.createBatch(ctx, []*createReq{r})
			}
			return
		}
		batch[0].done <- createRes{err: fmt.Errorf("create submission: %w", err)}
		return
	}
	st.relay.PublishCommitted(out)
	for i, r := range batch {
		r.done <- results[i]
	}
}
