package postgres_test

// Issue 20, places: the place history's index on 100,000 cases.

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/gridflow/gridflow/pkg/policy"
	"github.com/gridflow/gridflow/pkg/testenv"
	"github.com/gridflow/gridflow/services/classify/internal/classify"
	"github.com/gridflow/gridflow/services/classify/internal/postgres"
)

// TestPlaceHistoryPlan fills the cases table with 100,000 cases over 2,000
// addresses in 200 lanes and checks that a history at each level is read
// through its index, never by a scan of the table. The plans (EXPLAIN, after
// ANALYZE) are logged. Measured here: an address's 50 cases are a Bitmap
// Index Scan on cases_place_history (or cases_building_history) and a sort
// of those 50 rows (cost ≈ 206); a lane's 500 are an Index Scan on
// cases_lane_history in page order that stops after the page (cost ≈ 204
// for 51 rows); the store's first lane page (with its incidents and
// changes) took 2.5 ms.
func TestPlaceHistoryPlan(t *testing.T) {
	pool := testenv.Pool(t, postgres.Schema, 4, postgres.Migrations...)
	ctx := context.Background()
	if _, err := pool.Exec(ctx, `INSERT INTO cases (case_id, case_number, district_code, street_code, received_at, body)
		SELECT gen_random_uuid()::text, 'GF-' || n, '310106', '310106022',
			timestamptz '2026-01-01' + n * interval '5 minutes',
			jsonb_build_object('Case', jsonb_build_object('ID', n::text, 'Source', 'hotline',
				'Area', jsonb_build_object('district', '310106', 'street', '310106022',
					'community', '310106022002', 'grid', '310106022002001')),
				'Where', jsonb_build_object(
					'Key', '静安区|芷江西路|' || (n % 200) || '|' || (n % 2000) || '|' || CASE WHEN n % 3 = 0 THEN 'shop' || (n % 2000) ELSE '' END,
					'Building', '静安区|芷江西路|' || (n % 200) || '|' || (n % 2000) || '|',
					'Lane', '静安区|芷江西路|' || (n % 200) || '||'))
		FROM generate_series(1, 100000) AS n`); err != nil {
		t.Fatal(err)
	}
	if _, err := pool.Exec(ctx, `ANALYZE cases`); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		col, key, index string
	}{
		{"place_key", "静安区|芷江西路|7|7|", "cases_place_history"},
		{"building_key", "静安区|芷江西路|7|7|", "cases_building_history"},
		{"lane_key", "静安区|芷江西路|7||", "cases_lane_history"},
	} {
		var plan []string
		rows, err := pool.Query(ctx, `EXPLAIN SELECT received_at, body FROM cases WHERE `+tc.col+` = $1
			AND street_code = $2 AND received_at >= $3 AND received_at < $4
			ORDER BY received_at DESC, case_id DESC LIMIT 51`, tc.key, "310106022",
			time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC))
		if err != nil {
			t.Fatal(err)
		}
		for rows.Next() {
			var line string
			if err := rows.Scan(&line); err != nil {
				rows.Close()
				t.Fatal(err)
			}
			plan = append(plan, line)
		}
		rows.Close()
		p := strings.Join(plan, "\n")
		t.Logf("%s:\n%s", tc.col, p)
		if !strings.Contains(p, tc.index) || strings.Contains(p, "Seq Scan") {
			t.Errorf("%s: the plan does not read %s:\n%s", tc.col, tc.index, p)
		}
	}
	// And through the store, as the service asks: a lane's first page.
	store := postgres.New(pool, nil, time.Now)
	start := time.Now()
	h, err := store.PlaceHistory(ctx, classify.HistoryQuery{Key: "静安区|芷江西路|7||", Level: classify.LevelLane,
		Scope: policy.Scope{Kind: policy.Street, Code: "310106022"}, First: true, PageSize: 50})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("lane history of 500 cases: first page of %d in %v", len(h.Cases), time.Since(start))
	if len(h.Cases) != 50 || h.Next == "" {
		t.Errorf("first page = %d cases, next %q", len(h.Cases), h.Next)
	}
}
