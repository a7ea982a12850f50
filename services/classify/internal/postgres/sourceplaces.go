package postgres

import (
	"context"
	"fmt"
	"time"

	"github.com/gridflow/gridflow/pkg/pagetoken"
	"github.com/gridflow/gridflow/pkg/pgdb"
	"github.com/gridflow/gridflow/pkg/policy"
	"github.com/gridflow/gridflow/services/classify/internal/classify"
)

// sourcePlaceColumns are where source_places keeps a place's area, for the
// caller's scope (issue 20).
var sourcePlaceColumns = policy.Columns{District: "district_code", Street: "street_code"}

// ListSourcePlaces implements classify.Store: most recently changed first,
// keyset paged on (updated_at, source_place_id).
func (s *Store) ListSourcePlaces(ctx context.Context, f classify.SourcePlaceFilter) ([]*classify.SourcePlace, string, error) {
	at, id, err := pageKey(f.PageToken)
	if err != nil {
		return nil, "", err
	}
	args := []any{f.District, f.Street, f.OpenOnly, at, id, f.PageSize + 1}
	rows, err := s.pool.Query(ctx, `SELECT body FROM source_places
		WHERE ($1 = '' OR district_code = $1) AND ($2 = '' OR street_code = $2) AND (NOT $3 OR NOT closed)
		  AND ($4::timestamptz IS NULL OR (updated_at, source_place_id) < ($4, $5))
		  AND `+f.Scope.Where(sourcePlaceColumns, arger(&args))+`
		ORDER BY updated_at DESC, source_place_id DESC LIMIT $6`, args...)
	if err != nil {
		return nil, "", fmt.Errorf("list source places: %w", pgdb.Translate(err))
	}
	sps, err := collect[classify.SourcePlace](rows)
	if err != nil {
		return nil, "", err
	}
	next := ""
	if len(sps) > f.PageSize {
		sps = sps[:f.PageSize]
		last := sps[len(sps)-1]
		next = pagetoken.Encode(placeUpdated(last), last.ID)
	}
	return sps, next, nil
}

// placeUpdated is the updated_at column of a place, at the database's
// precision so that a page token taken from the body matches the column: a
// place from before issue 20 has no UpdatedAt and counts from its creation.
func placeUpdated(sp *classify.SourcePlace) time.Time {
	t := sp.UpdatedAt
	if t.Before(sp.CreatedAt) {
		t = sp.CreatedAt
	}
	return t.Truncate(time.Microsecond)
}
