// Package postgres stores intake's submissions in its own schema and writes
// each new submission's event into the outbox in the same transaction.
package postgres

import (
	"context"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/gridflow/gridflow/pkg/fault"
	"github.com/gridflow/gridflow/pkg/outbox"
	"github.com/gridflow/gridflow/pkg/pagetoken"
	"github.com/gridflow/gridflow/pkg/pgdb"
	"github.com/gridflow/gridflow/pkg/policy"
	"github.com/gridflow/gridflow/pkg/reloadlog"
	"github.com/gridflow/gridflow/services/intake/internal/events"
	"github.com/gridflow/gridflow/services/intake/internal/intake"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// Schema is intake's PostgreSQL schema.
const Schema = "intake"

//go:embed migrations/*.sql
var migrationsFS embed.FS

// Migrations are intake's own tables; the outbox's come from pkg/outbox.
var Migrations = []pgdb.Migrations{
	outbox.Migrations,
	reloadlog.Migrations,
	{Name: "intake", FS: migrationsFS, Dir: "migrations"},
}

// Store implements intake.Store.
type Store struct {
	pool *pgxpool.Pool
	// relay gets the events of each committed transaction, so they leave at
	// once from memory instead of waiting for a poll and a read-back.
	relay Relay
	// creates feeds the group-commit workers; nil means every Create runs
	// its own transaction.
	creates  chan *createReq
	maxBatch int
}

// Relay is the part of outbox.Relay the store needs.
type Relay interface {
	PublishCommitted(outbox.Stored)
}

type noRelay struct{}

func (noRelay) PublishCommitted(outbox.Stored) {}

// New returns a store; relay may be nil (the poller alone then publishes).
func New(pool *pgxpool.Pool, relay Relay) *Store {
	if relay == nil {
		relay = noRelay{}
	}
	return &Store{pool: pool, relay: relay}
}

var _ intake.Store = (*Store)(nil)

// CaseNumber formats GF-<yyyymmdd>-<sequence of at least 6 digits>, the date
// in Asia/Shanghai. The sequence is global, not per day, so numbering needs no
// lock shared by every submission; numbers stay unique and roughly ordered.
func CaseNumber(at time.Time, seq int64) string {
	return fmt.Sprintf("GF-%s-%06d", at.In(shanghai).Format("20060102"), seq)
}

var shanghai = func() *time.Location {
	loc, err := time.LoadLocation("Asia/Shanghai")
	if err != nil {
		// Fixed offset: China has kept UTC+8 without DST since 1991.
		return time.FixedZone("CST", 8*3600)
	}
	return loc
}()

// Get returns the submission with the given key.
func (st *Store) Get(ctx context.Context, k intake.Key) (*intake.Submission, error) {
	var (
		where string
		arg   string
	)
	switch {
	case k.CaseID != "":
		if _, err := uuid.Parse(k.CaseID); err != nil {
			return nil, fault.NotFoundf("cases/"+k.CaseID, "no case with id %q", k.CaseID)
		}
		where, arg = `WHERE case_id = $1`, k.CaseID
	case k.CaseNumber != "":
		where, arg = `WHERE case_number = $1`, k.CaseNumber
	default:
		where, arg = `WHERE hotline_order_no = $1`, k.HotlineOrderNo
	}
	s, err := getOne(ctx, st.pool, where, arg)
	if errors.Is(err, pgdb.ErrNotFound) {
		return nil, fault.NotFoundf("cases/"+arg, "no submission %q", arg)
	}
	return s, err
}

// Rebuild makes again the case.received (or case.answered) events the outbox
// keeps by reference to their case (outbox.RelayOptions.Rebuild): a
// submission's body never changes, so the event is the one first built.
func Rebuild(ctx context.Context, tx pgx.Tx, refs []outbox.Ref) ([][]byte, error) {
	ids := make([]string, len(refs))
	for i, r := range refs {
		ids[i] = r.Ref
	}
	rows, err := tx.Query(ctx, selectSubmission+`WHERE case_id = ANY($1::uuid[])`, ids)
	if err != nil {
		return nil, err
	}
	subs, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (*intake.Submission, error) { return scanSubmission(row) })
	if err != nil {
		return nil, err
	}
	byID := make(map[string]*intake.Submission, len(subs))
	for _, s := range subs {
		byID[s.CaseID] = s
	}
	out := make([][]byte, len(refs))
	for i, r := range refs {
		s, ok := byID[r.Ref]
		if !ok {
			return nil, fmt.Errorf("event %s: no submission %s", r.EventID, r.Ref)
		}
		msg, err := events.ReceivedAs(r.EventID, s, s.By(), s.AcceptedAt)
		if err != nil {
			return nil, err
		}
		out[i] = msg.Data
	}
	return out, nil
}

type querier interface {
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
}

const selectSubmission = `SELECT body, withdrawn, closed, contact_erased_at FROM submissions `

func scanSubmission(row pgx.Row) (*intake.Submission, error) {
	var (
		body []byte
		s    intake.Submission
	)
	var (
		withdrawn, closed bool
		erased            *time.Time
	)
	if err := row.Scan(&body, &withdrawn, &closed, &erased); err != nil {
		return nil, pgdb.Translate(err)
	}
	if err := json.Unmarshal(body, &s); err != nil {
		return nil, fmt.Errorf("decode submission: %w", err)
	}
	s.Withdrawn, s.Closed = withdrawn, closed
	if erased != nil {
		s.ContactErasedAt = *erased
	}
	return &s, nil
}

func getOne(ctx context.Context, q querier, where string, args ...any) (*intake.Submission, error) {
	s, err := scanSubmission(q.QueryRow(ctx, selectSubmission+where+` LIMIT 1`, args...))
	if err != nil {
		return nil, err
	}
	rows, err := q.Query(ctx, `SELECT follow_up_id, kind, text, added_at, principal, request_id, request_hash
		FROM follow_ups WHERE case_id = $1 ORDER BY added_at, follow_up_id`, s.CaseID)
	if err != nil {
		return nil, err
	}
	s.FollowUps, err = pgx.CollectRows(rows, func(r pgx.CollectableRow) (intake.FollowUp, error) {
		f := intake.FollowUp{CaseID: s.CaseID, CaseNumber: s.CaseNumber}
		err := r.Scan(&f.ID, &f.Kind, &f.Text, &f.AddedAt, &f.Principal, &f.RequestID, &f.RequestHash)
		return f, err
	})
	return s, err
}

// AddFollowUp stores f on the case k names, with its event, after check
// approves the case as locked in this transaction.
func (st *Store) AddFollowUp(ctx context.Context, k intake.Key, f *intake.FollowUp, check func(*intake.Submission) error) (*intake.FollowUp, bool, error) {
	var (
		stored  *intake.FollowUp
		created bool
		out     outbox.Stored
	)
	err := pgdb.InTx(ctx, st.pool, func(tx pgx.Tx) error {
		if prev, err := getFollowUp(ctx, tx, f.Principal, f.RequestID); err == nil {
			stored = prev
			return nil
		} else if !errors.Is(err, pgdb.ErrNotFound) {
			return err
		}
		where, arg := `WHERE case_number = $1`, k.CaseNumber
		if k.CaseNumber == "" {
			where, arg = `WHERE hotline_order_no = $1`, k.HotlineOrderNo
		}
		sub, err := scanSubmission(tx.QueryRow(ctx, selectSubmission+where+` FOR UPDATE`, arg))
		if errors.Is(err, pgdb.ErrNotFound) {
			return fault.NotFoundf("cases/"+arg, "no case %q", arg)
		}
		if err != nil {
			return err
		}
		if err := check(sub); err != nil {
			return err
		}
		f.ID = uuid.Must(uuid.NewV7()).String()
		f.CaseID, f.CaseNumber = sub.CaseID, sub.CaseNumber
		tag, err := tx.Exec(ctx, `INSERT INTO follow_ups (follow_up_id, case_id, kind, text, added_at, principal, request_id, request_hash)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (principal, request_id) DO NOTHING`,
			f.ID, f.CaseID, f.Kind, f.Text, f.AddedAt, f.Principal, f.RequestID, f.RequestHash)
		if err != nil {
			return pgdb.Translate(err)
		}
		if tag.RowsAffected() == 0 { // a concurrent twin won
			stored, err = getFollowUp(ctx, tx, f.Principal, f.RequestID)
			return err
		}
		if f.Kind == intake.FollowUpWithdraw {
			if _, err := tx.Exec(ctx, `UPDATE submissions SET withdrawn = true WHERE case_id = $1`, sub.CaseID); err != nil {
				return err
			}
		}
		msg, err := events.FollowedUp(sub, f)
		if err != nil {
			return err
		}
		if out, err = outbox.EnqueueStored(ctx, tx, outbox.WithTrace(ctx, msg)); err != nil {
			return err
		}
		stored, created = f, true
		return nil
	})
	if err != nil {
		return nil, false, err
	}
	if created {
		st.relay.PublishCommitted(out)
	}
	return stored, created, nil
}

func getFollowUp(ctx context.Context, q querier, principal, requestID string) (*intake.FollowUp, error) {
	f := &intake.FollowUp{}
	err := q.QueryRow(ctx, `SELECT f.follow_up_id, f.case_id, s.case_number, f.kind, f.text, f.added_at, f.principal, f.request_id, f.request_hash
		FROM follow_ups f JOIN submissions s USING (case_id) WHERE f.principal = $1 AND f.request_id = $2`, principal, requestID).
		Scan(&f.ID, &f.CaseID, &f.CaseNumber, &f.Kind, &f.Text, &f.AddedAt, &f.Principal, &f.RequestID, &f.RequestHash)
	if err != nil {
		return nil, pgdb.Translate(err)
	}
	return f, nil
}

// scopeColumns are where a submission keeps what a caller's scope decides on
// (pkg/policy). Intake knows no tasks: a department's scope lists nothing.
var scopeColumns = policy.Columns{Source: "source", District: "district_code", Street: "street_code",
	Community: "community_code", Worker: "(body->'Patrol'->>'WorkerID')",
	Grid: "grid_code"} // a grid leader's reach (issue 20)

// List returns one page of submissions, newest first. The page token is the
// last row's (accepted_at, case_id): keyset paging stays fast at any depth.
func (st *Store) List(ctx context.Context, f intake.ListFilter) ([]*intake.Submission, string, error) {
	where := []string{"true"}
	var args []any
	arg := func(v any) string { args = append(args, v); return fmt.Sprintf("$%d", len(args)) }
	if f.Source != "" {
		where = append(where, "source = "+arg(string(f.Source)))
	}
	if f.District != "" {
		where = append(where, "district_code = "+arg(f.District))
	}
	if f.Street != "" {
		where = append(where, "street_code = "+arg(f.Street))
	}
	if !f.After.IsZero() {
		where = append(where, "accepted_at >= "+arg(f.After))
	}
	if !f.Before.IsZero() {
		where = append(where, "accepted_at < "+arg(f.Before))
	}
	where = append(where, f.Scope.Where(scopeColumns, arg))
	if f.PageToken != "" {
		at, id, err := pagetoken.Decode(f.PageToken)
		if err != nil {
			var v fault.Violations
			v.Add("page_token", "is not a token this service issued")
			return nil, "", v.Err()
		}
		where = append(where, "(accepted_at, case_id) < ("+arg(at)+", "+arg(id)+")")
	}
	sql := selectSubmission + "WHERE " + strings.Join(where, " AND ") +
		" ORDER BY accepted_at DESC, case_id DESC LIMIT " + arg(f.PageSize+1)
	rows, err := st.pool.Query(ctx, sql, args...)
	if err != nil {
		return nil, "", err
	}
	subs, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (*intake.Submission, error) { return scanSubmission(r) })
	if err != nil {
		return nil, "", err
	}
	next := ""
	if len(subs) > f.PageSize {
		subs = subs[:f.PageSize]
		last := subs[len(subs)-1]
		next = pagetoken.Encode(last.AcceptedAt, last.CaseID)
	}
	return subs, next, nil
}
