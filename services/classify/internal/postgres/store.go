// Package postgres keeps classify's state in its own schema: cases and their
// classification versions, incidents, source places and corrections;
// idempotent requests through pkg/idempotency. Events go to the outbox and
// review timers to pkg/timer in the same transaction as the change that
// causes them.
package postgres

import (
	"context"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"slices"
	"strings"
	"time"

	"github.com/gridflow/gridflow/pkg/consumer"
	"github.com/gridflow/gridflow/pkg/fault"
	"github.com/gridflow/gridflow/pkg/idempotency"
	"github.com/gridflow/gridflow/pkg/outbox"
	"github.com/gridflow/gridflow/pkg/pagetoken"
	"github.com/gridflow/gridflow/pkg/pgdb"
	"github.com/gridflow/gridflow/pkg/reloadlog"
	"github.com/gridflow/gridflow/pkg/timer"
	"github.com/gridflow/gridflow/services/classify/internal/classify"
	"github.com/gridflow/gridflow/services/classify/internal/events"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// Schema is classify's PostgreSQL schema.
const Schema = "classify"

// TimerReviewFallback is the kind of the review queue's fallback timer; its
// key is the case id.
const TimerReviewFallback = "classify.review_fallback"

//go:embed migrations/*.sql
var migrationsFS embed.FS

// Migrations are classify's tables, after the shared ones.
var Migrations = []pgdb.Migrations{
	outbox.Migrations,
	consumer.Migrations,
	timer.Migrations,
	idempotency.Migrations,
	reloadlog.Migrations,
	{Name: "classify", FS: migrationsFS, Dir: "migrations",
		Steps: []pgdb.Step{{Version: 5, Name: "mask_contacts", Run: maskContacts}}},
}

// Store implements classify.Store.
type Store struct {
	pool *pgxpool.Pool
	// committed is called after a transaction of InTx that may have
	// enqueued events commits (the relay's Notify).
	committed func()
	relay     *outbox.Relay // nil: the events wait for a relay's poll
	now       func() time.Time
}

var _ classify.Store = (*Store)(nil)

// New returns a store. committed may be nil.
func New(pool *pgxpool.Pool, committed func(), now func() time.Time) *Store {
	if committed == nil {
		committed = func() {}
	}
	if now == nil {
		now = time.Now
	}
	return &Store{pool: pool, committed: committed, now: now}
}

// WithRelay makes the events InTx's transactions write leave through
// relay's fast path, from memory, once they commit.
func (s *Store) WithRelay(relay *outbox.Relay) *Store {
	s.relay = relay
	return s
}

// InTx runs fn in a transaction of its own.
func (s *Store) InTx(ctx context.Context, fn func(classify.Tx) error) error {
	err := s.relay.InTx(ctx, s.pool, func(ctx context.Context, tx pgx.Tx) error {
		return fn(&txn{tx: tx, now: s.now, scoped: ctx})
	})
	if err == nil {
		s.committed()
	}
	return err
}

// Bind gives the domain's view of a transaction someone else runs (the
// consumer runner's, the timer worker's: their contexts carry the relay's
// scope).
func (s *Store) Bind(tx pgx.Tx) classify.Tx { return &txn{tx: tx, now: s.now} }

type txn struct {
	tx  pgx.Tx
	now func() time.Time
	// scoped is the context InTx began the transaction with: what Emit
	// enqueues joins its outbox scope (nil when bound).
	scoped context.Context
}

// The grouping locks are transaction-scoped advisory locks: the city-wide
// one (one bigint key), taken exclusively by LockGrouping and shared by
// LockPlaces, and one per place key in the two-int key space (which never
// overlaps the one-key space), the second int a hash of the key.
const (
	groupingLock    = `SELECT pg_advisory_xact_lock(hashtext('gridflow-classify-grouping'))`
	groupingShared  = `SELECT pg_advisory_xact_lock_shared(hashtext('gridflow-classify-grouping'))`
	placeLock       = `SELECT pg_advisory_xact_lock($1::int4, $2::int4)`
	placeLockShared = `SELECT pg_advisory_xact_lock_shared($1::int4, $2::int4)`
	// placeLockSpace is the first int of every place lock ("grou").
	placeLockSpace int32 = 0x67726f75
)

func (t *txn) LockGrouping(ctx context.Context) error {
	if _, err := t.tx.Exec(ctx, groupingLock); err != nil {
		return fmt.Errorf("grouping lock: %w", err)
	}
	return nil
}

// LockPlaces takes the city-wide lock shared, then each key's lock in the
// order of their lock ids — not of the keys: two keys whose hashes collide
// are one lock, and sorting the ids is what keeps two transactions from
// taking the same pair in opposite orders. A key marked
// classify.SharedLock is taken shared unless the same lock is also asked
// exclusively. One round trip.
func (t *txn) LockPlaces(ctx context.Context, keys []string) error {
	shared := make(map[int32]bool, len(keys)) // lock id → shared only
	ids := make([]int32, 0, len(keys))
	for _, k := range keys {
		k, sh := strings.CutPrefix(k, classify.SharedLock)
		h := fnv.New32a()
		h.Write([]byte(k))
		id := int32(h.Sum32())
		if was, seen := shared[id]; seen {
			shared[id] = was && sh
			continue
		}
		shared[id] = sh
		ids = append(ids, id)
	}
	slices.Sort(ids)
	b := &pgx.Batch{}
	b.Queue(groupingShared)
	for _, id := range ids {
		if shared[id] {
			b.Queue(placeLockShared, placeLockSpace, id)
		} else {
			b.Queue(placeLock, placeLockSpace, id)
		}
	}
	if err := t.tx.SendBatch(ctx, b).Close(); err != nil {
		return fmt.Errorf("place locks: %w", err)
	}
	return nil
}

func reviewCols(r *classify.Record) (state *string, queued *time.Time) {
	if r.Review == nil {
		return nil, nil
	}
	st, q := string(r.Review.State), r.Review.QueuedAt
	return &st, &q
}

func currentCols(r *classify.Record) (version int, item, incident *string) {
	if r.Current == nil {
		return 0, nil, nil
	}
	it := r.Current.ItemCode
	if r.Current.IncidentID != "" {
		inc := r.Current.IncidentID
		incident = &inc
	}
	return r.Current.Version, &it, incident
}

func receivedAt(c *classify.Case) time.Time {
	if !c.ReceivedAt.IsZero() {
		return c.ReceivedAt
	}
	return c.AcceptedAt
}

func (t *txn) CreateCase(ctx context.Context, r *classify.Record) (bool, error) {
	body, err := json.Marshal(r)
	if err != nil {
		return false, err
	}
	state, queued := reviewCols(r)
	version, item, incident := currentCols(r)
	var orderNo *string
	if r.Case.HotlineOrderNo != "" {
		orderNo = &r.Case.HotlineOrderNo
	}
	tag, err := t.tx.Exec(ctx, `INSERT INTO cases (case_id, case_number, district_code, street_code, review_state, queued_at,
			version, item_code, incident_id, received_at, body, hotline_order_no)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12) ON CONFLICT (case_id) DO NOTHING`,
		r.Case.ID, r.Case.Number, r.Case.Area.District, r.Case.Area.Street, state, queued, version, item, incident,
		receivedAt(&r.Case), body, orderNo)
	if err != nil {
		return false, fmt.Errorf("create case %s: %w", r.Case.ID, pgdb.Translate(err))
	}
	return tag.RowsAffected() == 1, nil
}

func (t *txn) GetCase(ctx context.Context, id string) (*classify.Record, error) {
	var body []byte
	err := t.tx.QueryRow(ctx, `SELECT body FROM cases WHERE case_id = $1 FOR UPDATE`, id).Scan(&body)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, classify.ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("get case %s: %w", id, pgdb.Translate(err))
	}
	var r classify.Record
	if err := json.Unmarshal(body, &r); err != nil {
		return nil, fmt.Errorf("decode case %s: %w", id, err)
	}
	return &r, nil
}

func (t *txn) SaveCase(ctx context.Context, r *classify.Record) error {
	body, err := json.Marshal(r)
	if err != nil {
		return err
	}
	state, queued := reviewCols(r)
	version, item, incident := currentCols(r)
	tag, err := t.tx.Exec(ctx, `UPDATE cases SET review_state = $2, queued_at = $3, version = $4, item_code = $5,
		incident_id = $6, body = $7 WHERE case_id = $1`, r.Case.ID, state, queued, version, item, incident, body)
	if err != nil {
		return fmt.Errorf("save case %s: %w", r.Case.ID, pgdb.Translate(err))
	}
	if tag.RowsAffected() != 1 {
		return fmt.Errorf("save case %s: %w", r.Case.ID, classify.ErrNotFound)
	}
	return nil
}

func (t *txn) AddVersion(ctx context.Context, c *classify.Classification) error {
	body, err := json.Marshal(c)
	if err != nil {
		return err
	}
	_, err = t.tx.Exec(ctx, `INSERT INTO classifications (case_id, version, item_code, classified_at, body)
		VALUES ($1, $2, $3, $4, $5)`, c.CaseID, c.Version, c.ItemCode, c.ClassifiedAt, body)
	if err != nil {
		return fmt.Errorf("add version %d of case %s: %w", c.Version, c.CaseID, pgdb.Translate(err))
	}
	return nil
}

// FindIncidents reads the incidents that can be at q's place: by its site
// (only at its house number and at none, when it has one) and by its cells
// (only incidents without an address, when it has one: addresses decide
// between two that have one). Each branch is one scan of its index with
// every condition beside it, and the statement names only what q asks, so
// each shape keeps its own plan (issue 17); an incident both branches find
// is kept once.
func (t *txn) FindIncidents(ctx context.Context, q classify.IncidentQuery) ([]*classify.Incident, error) {
	sql, a := incidentLookup(q)
	if sql == "" {
		return nil, nil
	}
	rows, err := t.tx.Query(ctx, sql, a...)
	if err != nil {
		return nil, fmt.Errorf("find incidents: %w", pgdb.Translate(err))
	}
	defer rows.Close()
	var (
		out  []*classify.Incident
		seen = map[string]bool{}
	)
	for rows.Next() {
		var (
			id   string
			body []byte
		)
		if err := rows.Scan(&id, &body); err != nil {
			return nil, fmt.Errorf("find incidents: %w", pgdb.Translate(err))
		}
		if seen[id] {
			continue
		}
		seen[id] = true
		inc := new(classify.Incident)
		if err := json.Unmarshal(body, inc); err != nil {
			return nil, fmt.Errorf("decode incident %s: %w", id, err)
		}
		out = append(out, inc)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("find incidents: %w", pgdb.Translate(err))
	}
	slices.SortFunc(out, func(x, y *classify.Incident) int { return strings.Compare(x.ID, y.ID) })
	return out, nil
}

// incidentLookup is FindIncidents' statement for q and its arguments; ""
// when q names no place.
func incidentLookup(q classify.IncidentQuery) (string, args) {
	var (
		a        args
		branches []string
	)
	from, to := q.From, q.To
	if q.Others { // both windows' rows in one index range, then each subject's own
		from, to = minTime(q.From, q.OthersFrom), maxTime(q.To, q.OthersTo)
	}
	common := " AND last_at >= " + a.add(from) + " AND first_at <= " + a.add(to)
	switch {
	case q.Others:
		s := a.add(q.Subject)
		common += " AND (subject = " + s + " AND last_at >= " + a.add(q.From) + " AND first_at <= " + a.add(q.To) +
			" OR subject <> " + s + " AND last_at >= " + a.add(q.OthersFrom) + " AND first_at <= " + a.add(q.OthersTo) + ")"
	case q.Subject != "":
		common += " AND subject = " + a.add(q.Subject)
	}
	if q.ExcludeSubject != "" {
		common += " AND subject <> " + a.add(q.ExcludeSubject)
	}
	if q.Linked {
		// Only an open place is joined (Service.openPlaceAt): the places a
		// dispatcher closed stay out, however many years of them a busy
		// road has gathered, and are not read one by one to learn so.
		common += " AND source_place_id IS NOT NULL AND EXISTS (SELECT 1 FROM source_places sp" +
			" WHERE sp.source_place_id = incidents.source_place_id AND NOT sp.closed)"
	}
	if q.Site != "" {
		// "site <> ''" repeats incidents_site's predicate: a generic plan
		// cannot prove it from "site = $n", and without it every lookup
		// after the plan cache turned generic scanned the whole table
		// (issue 17).
		cond := "site <> '' AND site = " + a.add(q.Site)
		if q.Number != "" {
			cond += " AND number IN (" + a.add(q.Number) + ", '')"
		}
		branches = append(branches, "SELECT incident_id, body FROM incidents WHERE "+cond+common)
	}
	if len(q.Cells) > 0 {
		// The cells are a block around a point: its rows times its
		// columns are the block itself (a superset the domain checks).
		var is, js []int64
		for _, c := range q.Cells {
			if !slices.Contains(is, c.I) {
				is = append(is, c.I)
			}
			if !slices.Contains(js, c.J) {
				js = append(js, c.J)
			}
		}
		cond := "cell_i = ANY(" + a.add(is) + "::bigint[]) AND cell_j = ANY(" + a.add(js) + "::bigint[])"
		if q.Keyed {
			cond += " AND site = ''"
		}
		branches = append(branches, "SELECT incident_id, body FROM incidents WHERE "+cond+common)
	}
	if len(branches) == 0 {
		return "", nil
	}
	return strings.Join(branches, " UNION ALL "), a
}

func collect[T any](rows pgx.Rows) ([]*T, error) {
	out, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (*T, error) {
		var body []byte
		if err := row.Scan(&body); err != nil {
			return nil, err
		}
		v := new(T)
		return v, json.Unmarshal(body, v)
	})
	if err != nil {
		return nil, pgdb.Translate(err)
	}
	return out, nil
}

func (t *txn) GetIncident(ctx context.Context, id string) (*classify.Incident, error) {
	return getBody[classify.Incident](ctx, t.tx, `SELECT body FROM incidents WHERE incident_id = $1`, id)
}

func getBody[T any](ctx context.Context, q interface {
	QueryRow(context.Context, string, ...any) pgx.Row
}, sql, id string) (*T, error) {
	var body []byte
	err := q.QueryRow(ctx, sql, id).Scan(&body)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, classify.ErrNotFound
	}
	if err != nil {
		return nil, pgdb.Translate(err)
	}
	v := new(T)
	if err := json.Unmarshal(body, v); err != nil {
		return nil, err
	}
	return v, nil
}

func (t *txn) SaveIncident(ctx context.Context, inc *classify.Incident) error {
	body, err := json.Marshal(inc)
	if err != nil {
		return err
	}
	var ci, cj *int64
	if c := inc.Place.Cell; c != nil {
		ci, cj = &c.I, &c.J
	}
	var sp *string
	if inc.SourcePlaceID != "" {
		sp = &inc.SourcePlaceID
	}
	_, err = t.tx.Exec(ctx, `INSERT INTO incidents (incident_id, item_code, site, cell_i, cell_j, first_at, last_at, reports,
			district_code, street_code, source_place_id, body, subject, number)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)
		ON CONFLICT (incident_id) DO UPDATE SET item_code = EXCLUDED.item_code, subject = EXCLUDED.subject, site = EXCLUDED.site,
			cell_i = EXCLUDED.cell_i, cell_j = EXCLUDED.cell_j, first_at = EXCLUDED.first_at, last_at = EXCLUDED.last_at,
			reports = EXCLUDED.reports, source_place_id = EXCLUDED.source_place_id, body = EXCLUDED.body, number = EXCLUDED.number`,
		inc.ID, inc.ItemCode, inc.Place.Site, ci, cj, inc.FirstAt, inc.LastAt, inc.Reports(),
		inc.Area.District, inc.Area.Street, sp, body, inc.Subject, incidentNumber(inc.Place))
	if err != nil {
		return fmt.Errorf("save incident %s: %w", inc.ID, pgdb.Translate(err))
	}
	return nil
}

// incidentNumber is the number column: the house number of an incident
// with an address, "" otherwise.
func incidentNumber(p classify.Place) string {
	if p.Site == "" {
		return ""
	}
	return p.Number
}

func (t *txn) GetSourcePlace(ctx context.Context, id string) (*classify.SourcePlace, error) {
	return getBody[classify.SourcePlace](ctx, t.tx, `SELECT body FROM source_places WHERE source_place_id = $1`, id)
}

func (t *txn) SaveSourcePlace(ctx context.Context, p *classify.SourcePlace) error {
	body, err := json.Marshal(p)
	if err != nil {
		return err
	}
	_, err = t.tx.Exec(ctx, `INSERT INTO source_places (source_place_id, created_at, body, district_code, street_code, closed, updated_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7)
		ON CONFLICT (source_place_id) DO UPDATE SET body = EXCLUDED.body, district_code = EXCLUDED.district_code,
			street_code = EXCLUDED.street_code, closed = EXCLUDED.closed, updated_at = EXCLUDED.updated_at`,
		p.ID, p.CreatedAt, body, p.Area.District, p.Area.Street, p.Closed, placeUpdated(p))
	if err != nil {
		return fmt.Errorf("save source place %s: %w", p.ID, pgdb.Translate(err))
	}
	return nil
}

func (t *txn) ScheduleFallback(ctx context.Context, caseID string, at time.Time) error {
	return timer.Schedule(ctx, t.tx, TimerReviewFallback, caseID, at, nil)
}

func (t *txn) CancelFallback(ctx context.Context, caseID string) error {
	return timer.Cancel(ctx, t.tx, TimerReviewFallback, caseID)
}

func (t *txn) AddCorrection(ctx context.Context, c *classify.Correction) error {
	body, err := json.Marshal(c)
	if err != nil {
		return err
	}
	if _, err := t.tx.Exec(ctx, `INSERT INTO corrections (case_id, corrected_at, body) VALUES ($1, $2, $3)`,
		c.CaseID, c.At, body); err != nil {
		return fmt.Errorf("add correction: %w", pgdb.Translate(err))
	}
	return nil
}

// requestAnswer is how classify stores a request's first answer (the body
// of its idempotency_requests row): the classification version it wrote or
// found, as JSON. A repeat reads that version again.
type requestAnswer struct {
	CaseID  string `json:"case_id"`
	Version int    `json:"version"`
	// A write on a source place (issue 20).
	SourcePlaceID string `json:"source_place_id,omitempty"`
}

func (t *txn) BeginRequest(ctx context.Context, req classify.Request) (*classify.StoredRequest, error) {
	key, err := idempotency.NewRequest(req.Principal, req.ID, req.Method, req.Content)
	if err != nil {
		return nil, err
	}
	prior, err := idempotency.Begin(ctx, t.tx, key)
	if err != nil || prior == nil {
		return nil, err
	}
	var a requestAnswer
	if err := json.Unmarshal(prior.Body, &a); err != nil {
		return nil, fmt.Errorf("request %s: decode stored answer: %w", req.ID, err)
	}
	return &classify.StoredRequest{CaseID: a.CaseID, Version: a.Version, SourcePlaceID: a.SourcePlaceID}, nil
}

func (t *txn) SaveRequest(ctx context.Context, req classify.Request, r classify.StoredRequest) error {
	key, err := idempotency.NewRequest(req.Principal, req.ID, req.Method, req.Content)
	if err != nil {
		return err
	}
	body, err := json.Marshal(requestAnswer{CaseID: r.CaseID, Version: r.Version, SourcePlaceID: r.SourcePlaceID})
	if err != nil {
		return err
	}
	return idempotency.Save(ctx, t.tx, key, idempotency.Result{Resource: r.Resource(), Body: body})
}

func (t *txn) Emit(ctx context.Context, evs ...classify.Event) error {
	msgs, err := events.Messages(evs, t.now())
	if err != nil {
		return err
	}
	if events.Hold(ctx, msgs) { // a case of a batch: written with the batch's
		return nil
	}
	return outbox.Enqueue(outbox.Within(ctx, t.scoped), t.tx, msgs...)
}

// pageKey reads a keyset page token (pkg/pagetoken); the first page, with
// no token, has a nil time, which the queries take as NULL.
func pageKey(tok string) (*time.Time, string, error) {
	if tok == "" {
		return nil, "", nil
	}
	at, id, err := pagetoken.Decode(tok)
	if err != nil {
		return nil, "", badToken()
	}
	return &at, id, nil
}

// pageSeq reads a serial-key page token; the first page starts after 0.
func pageSeq(tok string) (int64, error) {
	if tok == "" {
		return 0, nil
	}
	n, err := pagetoken.DecodeSeq(tok)
	if err != nil {
		return 0, badToken()
	}
	return n, nil
}

func badToken() error {
	var v fault.Violations
	v.Add("page_token", "is not a token this list returned")
	return v.Err()
}

func minTime(a, b time.Time) time.Time {
	if b.Before(a) {
		return b
	}
	return a
}

func maxTime(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}
