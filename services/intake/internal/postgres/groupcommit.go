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
	"github.com/gridflow/gridflow/pkg/reference"
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
	// An emergency queues behind no routine submission (issue 17): it
	// commits now, in a transaction of its own, and its case.received
	// leaves on the relay's emergency path.
	if st.creates == nil || emergencyOrder(s) {
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

// insertSQL stores a row; a taken idempotency key fails it.
var insertSQL = func() string {
	params := make([]string, len(submissionColumns))
	for i := range params {
		params[i] = fmt.Sprintf("$%d", i+1)
	}
	return `INSERT INTO submissions (` + strings.Join(submissionColumns, ", ") + `) VALUES (` + strings.Join(params, ", ") + `)`
}()

// emergencyOrder reports whether s is a work order of emergency urgency.
func emergencyOrder(s *intake.Submission) bool {
	return s.WorkOrder != nil && s.WorkOrder.Urgency == reference.Emergency
}

// createBatch stores a batch in one transaction (a batch of one, insertOne's
// way). A batch is first inserted as if every request were new (a repeat is
// rare, and looking each key up first cost the database an index probe per
// unique index per row); if one was a repeat, the transaction is redone
// skipping what is taken. If it still fails, each request is retried alone so
// one bad row cannot fail its neighbours.
func (st *Store) createBatch(ctx context.Context, batch []*createReq) {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	var (
		results []createRes
		out     outbox.Stored
		err     error
	)
	if len(batch) == 1 {
		results, out, err = st.insertOne(ctx, batch[0])
	} else {
		results, out, err = st.insertBatch(ctx, batch, false)
	}
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
		batch[0].done <- createRes{err: fmt.Errorf("create submission: %w", pgdb.Translate(err))}
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
			subs[i] = stamp(r.sub, seqs[i])
		}
		var stored []bool
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
			if skipTaken && !stored[i] {
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
			msg, err := received(r)
			if err != nil {
				return err
			}
			msgs = append(msgs, msg)
			results[i] = createRes{stored: s, created: true}
		}
		out, err = outbox.EnqueueStored(ctx, tx, msgs...)
		return err
	})
	return results, out, err
}

// insertOne stores a lone submission — an emergency, or a routine one that
// found no other waiting — in two round trips where insertBatch's
// transaction takes five (issue 17: under load each round trip waits for
// the CPU, and intake's commit was an emergency's longest hop): its case
// number, then its row and its event sent together, which PostgreSQL runs as
// one implicit transaction committed at the end of the batch — both or
// neither. A taken idempotency key fails it with a unique violation, as
// insertBatch's COPY does.
func (st *Store) insertOne(ctx context.Context, r *createReq) ([]createRes, outbox.Stored, error) {
	var seq int64
	if err := st.pool.QueryRow(ctx, `SELECT nextval('case_number_seq')`).Scan(&seq); err != nil {
		return nil, outbox.Stored{}, err
	}
	s := stamp(r.sub, seq)
	row, err := values(s)
	if err != nil {
		return nil, outbox.Stored{}, err
	}
	msg, err := received(r)
	if err != nil {
		return nil, outbox.Stored{}, err
	}
	b := &pgx.Batch{}
	b.Queue(insertSQL, row...)
	out, err := outbox.QueueStored(ctx, b, msg)
	if err != nil {
		return nil, outbox.Stored{}, err
	}
	if err := st.pool.SendBatch(ctx, b).Close(); err != nil {
		return nil, outbox.Stored{}, err
	}
	return []createRes{{stored: s, created: true}}, *out, nil
}

// stamp gives s a new case id and the case number of seq.
func stamp(s *intake.Submission, seq int64) *intake.Submission {
	s.CaseID = uuid.Must(uuid.NewV7()).String()
	s.CaseNumber = CaseNumber(s.AcceptedAt, seq)
	return s
}

// received is r's case.received, carrying r's trace context.
func received(r *createReq) (outbox.Message, error) {
	s := r.sub
	msg, err := events.Received(s, s.By(), s.AcceptedAt)
	if err != nil {
		return outbox.Message{}, err
	}
	return outbox.WithTrace(r.ctx, msg), nil
}

func isUniqueViolation(err error) bool {
	return errors.Is(pgdb.Translate(err), pgdb.ErrUniqueViolation)
}

// submissionColumns are the columns a submission is stored in, in values' order.
var submissionColumns = []string{"case_id", "case_number", "source", "principal", "request_id", "request_hash",
	"hotline_order_no", "accepted_at", "district_code", "street_code", "community_code", "grid_code", "body"}

// values returns s's row, column by column.
func values(s *intake.Submission) ([]any, error) {
	body, err := json.Marshal(s)
	if err != nil {
		return nil, err
	}
	var hotline *string
	if s.WorkOrder != nil {
		hotline = &s.WorkOrder.HotlineOrderNo
	}
	return []any{s.CaseID, s.CaseNumber, string(s.Source), s.Principal, s.RequestID, s.RequestHash,
		hotline, s.AcceptedAt, s.Area.District, s.Area.Street, s.Area.Community, s.Area.Grid, body}, nil
}

// copyAll stores subs with COPY, the cheapest way into PostgreSQL for both
// sides (an INSERT of arrays had pgx build every column twice over); a taken
// idempotency key fails it with a unique violation.
func copyAll(ctx context.Context, tx pgx.Tx, subs []*intake.Submission) error {
	_, err := tx.CopyFrom(ctx, pgx.Identifier{"submissions"}, submissionColumns,
		pgx.CopyFromSlice(len(subs), func(i int) ([]any, error) { return values(subs[i]) }))
	return err
}

// insertNewSQL stores a row unless its idempotency key is taken.
var insertNewSQL = insertSQL + ` ON CONFLICT DO NOTHING`

// insertNew is the rare path after a repeat: it stores those of subs whose
// idempotency key is free, in the table or earlier in subs, and reports which
// it stored.
func insertNew(ctx context.Context, tx pgx.Tx, subs []*intake.Submission) ([]bool, error) {
	b := &pgx.Batch{}
	for _, s := range subs {
		row, err := values(s)
		if err != nil {
			return nil, err
		}
		b.Queue(insertNewSQL, row...)
	}
	br := tx.SendBatch(ctx, b)
	defer br.Close()
	stored := make([]bool, len(subs))
	for i := range subs {
		tag, err := br.Exec()
		if err != nil {
			return nil, err
		}
		stored[i] = tag.RowsAffected() == 1
	}
	return stored, br.Close()
}
