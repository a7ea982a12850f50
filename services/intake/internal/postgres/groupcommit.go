package postgres

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
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

// createBatch stores a batch in one transaction. A batch is first inserted
// as if every request were new (a repeat is rare, and looking each key up
// first cost the database an index probe per unique index per row); if one
// was a repeat, the transaction is redone skipping what is taken. If it still
// fails, each request is retried alone so one bad row cannot fail its
// neighbours.
func (st *Store) createBatch(ctx context.Context, batch []*createReq) {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	results, out, err := st.insertBatch(ctx, batch, false)
	if isUniqueViolation(err) {
		results, out, err = st.insertBatch(ctx, batch, true)
	}
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

// insertBatch runs one transaction for batch: case numbers, the rows, their
// events. With skipTaken, requests whose idempotency key is taken get the
// stored submission instead; without, a taken key fails the transaction.
func (st *Store) insertBatch(ctx context.Context, batch []*createReq, skipTaken bool) ([]createRes, outbox.Stored, error) {
	results := make([]createRes, len(batch))
	var out outbox.Stored
	err := pgdb.InTx(ctx, st.pool, func(tx pgx.Tx) error {
		rows, err := tx.Query(ctx, `SELECT nextval('case_number_seq') FROM generate_series(1, $1)`, len(batch))
		if err != nil {
			return err
		}
		seqs, err := pgx.CollectRows(rows, pgx.RowTo[int64])
		if err != nil {
			return err
		}
		subs := make([]*intake.Submission, len(batch))
		for i, r := range batch {
			s := r.sub
			s.CaseID = uuid.Must(uuid.NewV7()).String()
			s.CaseNumber = CaseNumber(s.AcceptedAt, seqs[i])
			subs[i] = s
		}
		var stored map[string]bool
		if skipTaken {
			stored, err = insertNew(ctx, tx, subs)
		} else {
			err = copyAll(ctx, tx, subs)
		}
		if err != nil {
			return err
		}
		var msgs []outbox.Message
		for i, r := range batch {
			s := r.sub
			if skipTaken && !stored[s.CaseID] {
				// Taken before (or earlier in this batch): by this principal's
				// request id, or for the hotline its order number.
				var existing *intake.Submission
				if s.WorkOrder != nil {
					existing, err = getOne(ctx, tx, `WHERE hotline_order_no = $1`, s.WorkOrder.HotlineOrderNo)
				} else {
					existing, err = getOne(ctx, tx, `WHERE principal = $1 AND request_id = $2 AND hotline_order_no IS NULL`, s.Principal, s.RequestID)
				}
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
	return results, out, err
}

func isUniqueViolation(err error) bool {
	return errors.Is(pgdb.Translate(err), pgdb.ErrUniqueViolation)
}

// submissionColumns are the columns a submission is stored in.
var submissionColumns = []string{"case_id", "case_number", "source", "principal", "request_id", "request_hash",
	"hotline_order_no", "accepted_at", "district_code", "street_code", "community_code", "grid_code", "body"}

// row is a submission as stored, in submissionColumns' order.
type row struct {
	id, number, source, principal, request, hash string
	hotline                                      *string
	accepted                                     time.Time
	district, street, community, grid            string
	body                                         []byte
}

func rowOf(s *intake.Submission) (row, error) {
	body, err := json.Marshal(s)
	if err != nil {
		return row{}, err
	}
	r := row{id: s.CaseID, number: s.CaseNumber, source: string(s.Source), principal: s.Principal, request: s.RequestID,
		hash: s.RequestHash, accepted: s.AcceptedAt, district: s.Area.District, street: s.Area.Street,
		community: s.Area.Community, grid: s.Area.Grid, body: body}
	if s.WorkOrder != nil {
		r.hotline = &s.WorkOrder.HotlineOrderNo
	}
	return r, nil
}

// copyAll stores subs with COPY, the cheapest way into PostgreSQL for both
// sides (an INSERT of arrays had pgx build every column twice over); a taken
// idempotency key fails it with a unique violation.
func copyAll(ctx context.Context, tx pgx.Tx, subs []*intake.Submission) error {
	_, err := tx.CopyFrom(ctx, pgx.Identifier{"submissions"}, submissionColumns,
		pgx.CopyFromSlice(len(subs), func(i int) ([]any, error) {
			r, err := rowOf(subs[i])
			return []any{r.id, r.number, r.source, r.principal, r.request, r.hash, r.hotline, r.accepted,
				r.district, r.street, r.community, r.grid, r.body}, err
		}))
	return err
}

// insertNew stores those of subs whose idempotency key is free, in the table
// and earlier in subs, and returns the ids it stored.
func insertNew(ctx context.Context, tx pgx.Tx, subs []*intake.Submission) (map[string]bool, error) {
	var (
		ids, numbers, sources, principals, requests, hashes []string
		hotline                                             []*string
		accepted                                            []time.Time
		districts, streets, communities, grids, bodies      []string
	)
	for _, s := range subs {
		r, err := rowOf(s)
		if err != nil {
			return nil, err
		}
		ids, numbers, sources = append(ids, r.id), append(numbers, r.number), append(sources, r.source)
		principals, requests, hashes = append(principals, r.principal), append(requests, r.request), append(hashes, r.hash)
		hotline, accepted = append(hotline, r.hotline), append(accepted, r.accepted)
		districts, streets = append(districts, r.district), append(streets, r.street)
		communities, grids, bodies = append(communities, r.community), append(grids, r.grid), append(bodies, string(r.body))
	}
	rows, err := tx.Query(ctx, `INSERT INTO submissions (`+strings.Join(submissionColumns, ", ")+`)
		SELECT id::uuid, num, src, pr, req, hash, hot, at, d, s, c, g, body::json
		FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[],
			$8::timestamptz[], $9::text[], $10::text[], $11::text[], $12::text[], $13::text[])
			AS u (id, num, src, pr, req, hash, hot, at, d, s, c, g, body)
		ON CONFLICT DO NOTHING
		RETURNING case_id::text`,
		ids, numbers, sources, principals, requests, hashes, hotline, accepted, districts, streets, communities, grids, bodies)
	if err != nil {
		return nil, err
	}
	stored, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return nil, err
	}
	set := make(map[string]bool, len(stored))
	for _, id := range stored {
		set[id] = true
	}
	return set, nil
}
