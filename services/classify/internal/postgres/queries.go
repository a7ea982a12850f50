package postgres

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/gridflow/gridflow/pkg/caseref"
	"github.com/gridflow/gridflow/pkg/pagetoken"
	"github.com/gridflow/gridflow/pkg/pgdb"
	"github.com/gridflow/gridflow/pkg/policy"
	"github.com/gridflow/gridflow/services/classify/internal/classify"
	"github.com/jackc/pgx/v5"
)

// Where cases and incidents keep what a caller's scope decides on
// (pkg/policy): their area. Lists are filtered by it in the query.
var (
	caseColumns     = policy.Columns{District: "district_code", Street: "street_code"}
	incidentColumns = policy.Columns{District: "district_code", Street: "street_code"}
)

// arger appends query arguments after those in args, returning each one's
// placeholder.
func arger(args *[]any) func(v any) string {
	return func(v any) string {
		*args = append(*args, v)
		return fmt.Sprintf("$%d", len(*args))
	}
}

// ListReviews lists cases in the review queue, oldest first.
func (s *Store) ListReviews(ctx context.Context, f classify.ReviewFilter) ([]*classify.Record, string, error) {
	at, id, err := pageKey(f.PageToken)
	if err != nil {
		return nil, "", err
	}
	states := []string{string(classify.ReviewWaiting), string(classify.ReviewTimedOut)}
	if f.IncludeResolved {
		states = append(states, string(classify.ReviewResolved))
	}
	args := []any{states, f.District, f.Street, at, id, f.PageSize + 1}
	rows, err := s.pool.Query(ctx, `SELECT body FROM cases
		WHERE review_state = ANY($1) AND ($2 = '' OR district_code = $2) AND ($3 = '' OR street_code = $3)
		  AND ($4::timestamptz IS NULL OR (queued_at, case_id) > ($4, $5))
		  AND `+f.Scope.Where(caseColumns, arger(&args))+`
		ORDER BY queued_at, case_id LIMIT $6`, args...)
	if err != nil {
		return nil, "", fmt.Errorf("list reviews: %w", pgdb.Translate(err))
	}
	recs, err := collect[classify.Record](rows)
	if err != nil {
		return nil, "", err
	}
	next := ""
	if len(recs) > f.PageSize {
		recs = recs[:f.PageSize]
		last := recs[len(recs)-1]
		next = pagetoken.Encode(last.Review.QueuedAt, last.Case.ID)
	}
	return recs, next, nil
}

// GetRecord reads a case's record.
func (s *Store) GetRecord(ctx context.Context, id string) (*classify.Record, error) {
	return getBody[classify.Record](ctx, s.pool, `SELECT body FROM cases WHERE case_id = $1`, id)
}

// FindRecord reads a case's record by id, case number or hotline order
// number (each indexed).
func (s *Store) FindRecord(ctx context.Context, r caseref.Ref) (*classify.Record, error) {
	switch r.Kind {
	case caseref.Number:
		return getBody[classify.Record](ctx, s.pool, `SELECT body FROM cases WHERE case_number = $1`, r.Value)
	case caseref.OrderNo:
		return getBody[classify.Record](ctx, s.pool, `SELECT body FROM cases WHERE hotline_order_no = $1`, r.Value)
	}
	return s.GetRecord(ctx, r.Value)
}

// Versions lists a case's classification versions, newest first.
func (s *Store) Versions(ctx context.Context, id string) ([]classify.Classification, error) {
	rows, err := s.pool.Query(ctx, `SELECT body FROM classifications WHERE case_id = $1 ORDER BY version DESC`, id)
	if err != nil {
		return nil, fmt.Errorf("versions of %s: %w", id, pgdb.Translate(err))
	}
	vs, err := collect[classify.Classification](rows)
	if err != nil {
		return nil, err
	}
	out := make([]classify.Classification, len(vs))
	for i, v := range vs {
		out[i] = *v
	}
	return out, nil
}

// ReadIncident reads an incident and the source place it is linked to.
func (s *Store) ReadIncident(ctx context.Context, id string) (*classify.Incident, *classify.SourcePlace, error) {
	inc, err := getBody[classify.Incident](ctx, s.pool, `SELECT body FROM incidents WHERE incident_id = $1`, id)
	if err != nil {
		return nil, nil, err
	}
	if inc.SourcePlaceID == "" {
		return inc, nil, nil
	}
	sp, err := getBody[classify.SourcePlace](ctx, s.pool, `SELECT body FROM source_places WHERE source_place_id = $1`, inc.SourcePlaceID)
	if errors.Is(err, classify.ErrNotFound) {
		return inc, nil, nil
	}
	return inc, sp, err
}

// ListIncidents lists incidents, most recently reported first.
func (s *Store) ListIncidents(ctx context.Context, f classify.IncidentFilter) ([]*classify.Incident, string, error) {
	at, id, err := pageKey(f.PageToken)
	if err != nil {
		return nil, "", err
	}
	args := []any{max(f.MinReports, 1), f.District, f.Street, at, id, f.PageSize + 1}
	rows, err := s.pool.Query(ctx, `SELECT body FROM incidents
		WHERE reports >= $1 AND ($2 = '' OR district_code = $2) AND ($3 = '' OR street_code = $3)
		  AND ($4::timestamptz IS NULL OR (last_at, incident_id) < ($4, $5))
		  AND `+f.Scope.Where(incidentColumns, arger(&args))+`
		ORDER BY last_at DESC, incident_id DESC LIMIT $6`, args...)
	if err != nil {
		return nil, "", fmt.Errorf("list incidents: %w", pgdb.Translate(err))
	}
	incs, err := collect[classify.Incident](rows)
	if err != nil {
		return nil, "", err
	}
	next := ""
	if len(incs) > f.PageSize {
		incs = incs[:f.PageSize]
		last := incs[len(incs)-1]
		next = pagetoken.Encode(last.LastAt, last.ID)
	}
	return incs, next, nil
}

// ListCorrections lists corrections, oldest first.
func (s *Store) ListCorrections(ctx context.Context, f classify.CorrectionFilter) ([]classify.Correction, string, error) {
	after, err := pageSeq(f.PageToken)
	if err != nil {
		return nil, "", err
	}
	rows, err := s.pool.Query(ctx, `SELECT id, body FROM corrections
		WHERE corrected_at > $1 AND id > $2 ORDER BY id LIMIT $3`, f.After, after, f.PageSize+1)
	if err != nil {
		return nil, "", fmt.Errorf("list corrections: %w", pgdb.Translate(err))
	}
	type row struct {
		id int64
		c  classify.Correction
	}
	rs, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (row, error) {
		var (
			x    row
			body []byte
		)
		if err := r.Scan(&x.id, &body); err != nil {
			return x, err
		}
		return x, json.Unmarshal(body, &x.c)
	})
	if err != nil {
		return nil, "", fmt.Errorf("list corrections: %w", pgdb.Translate(err))
	}
	next := ""
	if len(rs) > f.PageSize {
		rs = rs[:f.PageSize]
		next = pagetoken.EncodeSeq(rs[len(rs)-1].id)
	}
	out := make([]classify.Correction, len(rs))
	for i, r := range rs {
		out[i] = r.c
	}
	return out, next, nil
}
