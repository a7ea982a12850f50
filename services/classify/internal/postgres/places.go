package postgres

// Issue 20, places (以房管人): the place registry's tables (places,
// place_versions) and the place history over the cases' place columns
// (migration 0006).

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/gridflow/gridflow/pkg/idempotency"
	"github.com/gridflow/gridflow/pkg/pagetoken"
	"github.com/gridflow/gridflow/pkg/pgdb"
	"github.com/gridflow/gridflow/pkg/policy"
	"github.com/gridflow/gridflow/pkg/reference"
	"github.com/gridflow/gridflow/services/classify/internal/classify"
	"github.com/jackc/pgx/v5"
)

var _ classify.PlaceStore = (*Store)(nil)

// InPlaceTx runs fn in a transaction of its own (InTx's: its events leave
// through the same outbox).
func (s *Store) InPlaceTx(ctx context.Context, fn func(classify.PlaceTx) error) error {
	return s.InTx(ctx, func(tx classify.Tx) error { return fn(tx.(*txn)) })
}

func (t *txn) GetPlaceEntry(ctx context.Context, key string) (*classify.PlaceEntry, error) {
	return getBody[classify.PlaceEntry](ctx, t.tx, `SELECT body FROM places WHERE place_key = $1 FOR UPDATE`, key)
}

func (t *txn) SavePlaceEntry(ctx context.Context, p *classify.PlaceEntry, ch *classify.PlaceVersion) error {
	body, err := json.Marshal(p)
	if err != nil {
		return err
	}
	_, err = t.tx.Exec(ctx, `INSERT INTO places (place_key, building_key, lane_key, kind, status, district_code, street_code,
			community_code, grid_code, retired, version, updated_at, body)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)
		ON CONFLICT (place_key) DO UPDATE SET building_key = EXCLUDED.building_key, lane_key = EXCLUDED.lane_key,
			kind = EXCLUDED.kind, status = EXCLUDED.status, district_code = EXCLUDED.district_code,
			street_code = EXCLUDED.street_code, community_code = EXCLUDED.community_code, grid_code = EXCLUDED.grid_code,
			retired = EXCLUDED.retired, version = EXCLUDED.version, updated_at = EXCLUDED.updated_at, body = EXCLUDED.body`,
		p.Key, p.Building, p.Lane, p.Kind, p.Status, p.Area.District, p.Area.Street, p.Area.Community, p.Area.Grid,
		p.Retired, p.Version, p.UpdatedAt, body)
	if err != nil {
		return fmt.Errorf("save place %s: %w", p.Key, pgdb.Translate(err))
	}
	cb, err := json.Marshal(ch)
	if err != nil {
		return err
	}
	if _, err := t.tx.Exec(ctx, `INSERT INTO place_versions (place_key, version, at, body) VALUES ($1, $2, $3, $4)`,
		ch.Key, ch.Version, ch.At, cb); err != nil {
		return fmt.Errorf("save place %s version %d: %w", ch.Key, ch.Version, pgdb.Translate(err))
	}
	return nil
}

func (t *txn) BeginPlaceRequest(ctx context.Context, req classify.Request) ([]byte, error) {
	key, err := idempotency.NewRequest(req.Principal, req.ID, req.Method, req.Content)
	if err != nil {
		return nil, err
	}
	prior, err := idempotency.Begin(ctx, t.tx, key)
	if err != nil || prior == nil {
		return nil, err
	}
	return prior.Body, nil
}

func (t *txn) SavePlaceRequest(ctx context.Context, req classify.Request, resource string, body []byte) error {
	key, err := idempotency.NewRequest(req.Principal, req.ID, req.Method, req.Content)
	if err != nil {
		return err
	}
	return idempotency.Save(ctx, t.tx, key, idempotency.Result{Resource: resource, Body: body})
}

// ReadPlaceEntry reads a place without locking it.
func (s *Store) ReadPlaceEntry(ctx context.Context, key string) (*classify.PlaceEntry, error) {
	return getBody[classify.PlaceEntry](ctx, s.pool, `SELECT body FROM places WHERE place_key = $1`, key)
}

// CasePlace reads a case's place and area.
func (s *Store) CasePlace(ctx context.Context, caseID string) (*classify.CasePlace, reference.AreaCodes, error) {
	var body []byte
	err := s.pool.QueryRow(ctx, `SELECT body FROM cases WHERE case_id = $1`, caseID).Scan(&body)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, reference.AreaCodes{}, classify.ErrNotFound
	}
	if err != nil {
		return nil, reference.AreaCodes{}, fmt.Errorf("case place %s: %w", caseID, pgdb.Translate(err))
	}
	var r classify.Record
	if err := json.Unmarshal(body, &r); err != nil {
		return nil, reference.AreaCodes{}, err
	}
	return r.Where, r.Case.Area, nil
}

// args collects a query's arguments and names their placeholders.
type args []any

func (a *args) add(v any) string {
	*a = append(*a, v)
	return "$" + strconv.Itoa(len(*a))
}

// placeScope is the caller's reach over rows with area columns: a grid
// worker's grids, else the policy scope (pkg/policy.Scope.Where).
func placeScope(sc policy.Scope, grids []string, a *args) string {
	if sc.Kind == policy.Reporter {
		return "grid_code = ANY(" + a.add(grids) + "::text[])"
	}
	return sc.Where(policy.Columns{District: "district_code", Street: "street_code", Community: "community_code"}, a.add)
}

// ListPlaceEntries lists places in registration order.
func (s *Store) ListPlaceEntries(ctx context.Context, f classify.PlaceFilter) ([]*classify.PlaceEntry, string, error) {
	after, err := pageSeq(f.PageToken)
	if err != nil {
		return nil, "", err
	}
	var a args
	conds := []string{"seq > " + a.add(after), placeScope(f.Scope, f.Grids, &a)}
	for _, c := range []struct{ col, v string }{{"kind", f.Kind}, {"status", f.Status}, {"street_code", f.Street},
		{"community_code", f.Community}, {"grid_code", f.Grid}} {
		if c.v != "" {
			conds = append(conds, c.col+" = "+a.add(c.v))
		}
	}
	if !f.IncludeRetired {
		conds = append(conds, "NOT retired")
	}
	rows, err := s.pool.Query(ctx, `SELECT seq, body FROM places WHERE `+strings.Join(conds, " AND ")+
		` ORDER BY seq LIMIT `+a.add(f.PageSize+1), a...)
	if err != nil {
		return nil, "", fmt.Errorf("list places: %w", pgdb.Translate(err))
	}
	defer rows.Close()
	var (
		out  []*classify.PlaceEntry
		seqs []int64
	)
	for rows.Next() {
		var (
			seq  int64
			body []byte
		)
		if err := rows.Scan(&seq, &body); err != nil {
			return nil, "", pgdb.Translate(err)
		}
		p := new(classify.PlaceEntry)
		if err := json.Unmarshal(body, p); err != nil {
			return nil, "", err
		}
		out, seqs = append(out, p), append(seqs, seq)
	}
	if err := rows.Err(); err != nil {
		return nil, "", fmt.Errorf("list places: %w", pgdb.Translate(err))
	}
	next := ""
	if len(out) > f.PageSize {
		out = out[:f.PageSize]
		next = pagetoken.EncodeSeq(seqs[f.PageSize-1])
	}
	return out, next, nil
}

var levelColumn = map[classify.HistoryLevel]string{
	classify.LevelShop: "place_key", classify.LevelBuilding: "building_key", classify.LevelLane: "lane_key",
}

// historyLimit bounds what the first page carries besides the cases.
const historyLimit = 200

// PlaceHistory reads a page of the cases at a key, newest first, through
// the level's index, and on the first page the incidents and source places
// of all the cases in the range and the registered places' versions.
func (s *Store) PlaceHistory(ctx context.Context, q classify.HistoryQuery) (*classify.History, error) {
	col, ok := levelColumn[q.Level]
	if !ok {
		return nil, fmt.Errorf("place history: level %d", q.Level)
	}
	before, beforeID, err := pageKey(q.PageToken)
	if err != nil {
		return nil, err
	}
	// The cases in range within reach: the page reads them keyset-paged;
	// the first page's incidents read all of them.
	var a args
	inRange := func(a *args) string {
		conds := []string{col + " = " + a.add(q.Key), placeScope(q.Scope, q.Grids, a)}
		if !q.From.IsZero() {
			conds = append(conds, "received_at >= "+a.add(q.From))
		}
		if !q.To.IsZero() {
			conds = append(conds, "received_at < "+a.add(q.To))
		}
		return strings.Join(conds, " AND ")
	}
	where := inRange(&a)
	if before != nil {
		where += " AND (received_at, case_id) < (" + a.add(*before) + ", " + a.add(beforeID) + ")"
	}
	rows, err := s.pool.Query(ctx, `SELECT received_at, body FROM cases WHERE `+where+
		` ORDER BY received_at DESC, case_id DESC LIMIT `+a.add(q.PageSize+1), a...)
	if err != nil {
		return nil, fmt.Errorf("place history: %w", pgdb.Translate(err))
	}
	defer rows.Close()
	h := &classify.History{}
	var ats []time.Time
	for rows.Next() {
		var (
			at   time.Time
			body []byte
		)
		if err := rows.Scan(&at, &body); err != nil {
			return nil, pgdb.Translate(err)
		}
		var r classify.Record
		if err := json.Unmarshal(body, &r); err != nil {
			return nil, err
		}
		h.Cases, ats = append(h.Cases, historyCase(&r, at)), append(ats, at)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("place history: %w", pgdb.Translate(err))
	}
	if len(h.Cases) > q.PageSize {
		h.Cases = h.Cases[:q.PageSize]
		h.Next = pagetoken.Encode(ats[q.PageSize-1], h.Cases[q.PageSize-1].CaseID)
	}
	if !q.First {
		return h, nil
	}
	var ia args
	incs, err := s.pool.Query(ctx, `SELECT body FROM incidents WHERE incident_id IN (
			SELECT incident_id FROM cases WHERE `+inRange(&ia)+` AND incident_id IS NOT NULL)
		ORDER BY last_at DESC, incident_id LIMIT `+ia.add(historyLimit), ia...)
	if err != nil {
		return nil, fmt.Errorf("place history incidents: %w", pgdb.Translate(err))
	}
	if h.Incidents, err = collect[classify.Incident](incs); err != nil {
		return nil, fmt.Errorf("place history incidents: %w", err)
	}
	var spIDs []string
	for _, inc := range h.Incidents {
		if inc.SourcePlaceID != "" {
			spIDs = append(spIDs, inc.SourcePlaceID)
		}
	}
	if len(spIDs) > 0 {
		sps, err := s.pool.Query(ctx, `SELECT body FROM source_places WHERE source_place_id = ANY($1::text[])
			ORDER BY created_at DESC, source_place_id`, spIDs)
		if err != nil {
			return nil, fmt.Errorf("place history source places: %w", pgdb.Translate(err))
		}
		if h.SourcePlaces, err = collect[classify.SourcePlace](sps); err != nil {
			return nil, fmt.Errorf("place history source places: %w", err)
		}
	}
	var ca args
	conds := []string{"p." + col + " = " + ca.add(q.Key), placeScope(q.Scope, q.Grids, &ca)}
	if !q.From.IsZero() {
		conds = append(conds, "v.at >= "+ca.add(q.From))
	}
	if !q.To.IsZero() {
		conds = append(conds, "v.at < "+ca.add(q.To))
	}
	chs, err := s.pool.Query(ctx, `SELECT v.body FROM place_versions v JOIN places p USING (place_key)
		WHERE `+strings.Join(conds, " AND ")+` ORDER BY v.at DESC, v.place_key, v.version DESC LIMIT `+ca.add(historyLimit), ca...)
	if err != nil {
		return nil, fmt.Errorf("place history changes: %w", pgdb.Translate(err))
	}
	changes, err := collect[classify.PlaceVersion](chs)
	if err != nil {
		return nil, fmt.Errorf("place history changes: %w", err)
	}
	for _, c := range changes {
		h.Changes = append(h.Changes, *c)
	}
	return h, nil
}

func historyCase(r *classify.Record, at time.Time) classify.HistoryCase {
	c := classify.HistoryCase{CaseID: r.Case.ID, CaseNumber: r.Case.Number, Source: string(r.Case.Source),
		Title: r.Case.Title, ReceivedAt: at, InReview: r.Review != nil && r.Review.State == classify.ReviewWaiting}
	if r.Where != nil {
		c.Place = *r.Where
	}
	if cur := r.Current; cur != nil {
		c.ItemCode, c.ItemName, c.Version, c.IncidentID = cur.ItemCode, cur.ItemName, cur.Version, cur.IncidentID
	}
	return c
}
