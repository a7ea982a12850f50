package memstore

import (
	"cmp"
	"context"
	"slices"
	"time"

	"github.com/gridflow/gridflow/pkg/policy"
	"github.com/gridflow/gridflow/services/classify/internal/classify"
)

// ListSourcePlaces lists source places, most recently changed first (issue
// 20), as the PostgreSQL store does.
func (s *Store) ListSourcePlaces(_ context.Context, f classify.SourcePlaceFilter) ([]*classify.SourcePlace, string, error) {
	s.mu.Lock()
	var all []*classify.SourcePlace
	for _, b := range s.st.places {
		sp := decode[classify.SourcePlace](b)
		if (f.District != "" && sp.Area.District != f.District) || (f.Street != "" && sp.Area.Street != f.Street) ||
			(f.OpenOnly && sp.Closed) ||
			!f.Scope.AllowsCase(policy.CaseFacts{District: sp.Area.District, Street: sp.Area.Street, Community: sp.Area.Community}) {
			continue
		}
		all = append(all, sp)
	}
	s.mu.Unlock()
	slices.SortFunc(all, func(a, b *classify.SourcePlace) int {
		return cmp.Or(changedAt(b).Compare(changedAt(a)), cmp.Compare(b.ID, a.ID))
	})
	return page(all, f.PageSize, f.PageToken)
}

// changedAt is when a place last changed: one from before issue 20 has no
// UpdatedAt.
func changedAt(sp *classify.SourcePlace) time.Time {
	if sp.UpdatedAt.After(sp.CreatedAt) {
		return sp.UpdatedAt
	}
	return sp.CreatedAt
}
