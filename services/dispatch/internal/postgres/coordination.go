package postgres

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"

	"github.com/gridflow/gridflow/pkg/fault"
	"github.com/gridflow/gridflow/pkg/pgdb"
	"github.com/gridflow/gridflow/services/dispatch/internal/dispatch"
	"github.com/jackc/pgx/v5"
)

// Source place coordination (issue 20): coordinations and
// coordinated_incidents (migration 0007).

var _ dispatch.CoordinationStore = (*Store)(nil)

// ApplyCoordination records what classify said of a source place in tx: an
// incident linked (Version 0 touches no lead), or the lead event's whole
// coordination, which replaces an older version and is ignored otherwise
// (events may come out of order). Repeats change nothing.
func ApplyCoordination(ctx context.Context, tx pgx.Tx, ch dispatch.CoordinationChange) error {
	_, err := tx.Exec(ctx, `INSERT INTO coordinations (source_place_id, version, lead_department, open, place_key, district, street, updated_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
		ON CONFLICT (source_place_id) DO UPDATE SET
			version = EXCLUDED.version, lead_department = EXCLUDED.lead_department, open = EXCLUDED.open,
			place_key = EXCLUDED.place_key, district = EXCLUDED.district, street = EXCLUDED.street, updated_at = EXCLUDED.updated_at
		WHERE EXCLUDED.version > coordinations.version`,
		ch.SourcePlaceID, ch.Version, ch.Lead, ch.Version == 0 || ch.Open, ch.PlaceKey, ch.District, ch.Street, ch.At)
	if err != nil {
		return fmt.Errorf("coordination %s: %w", ch.SourcePlaceID, pgdb.Translate(err))
	}
	for _, inc := range ch.Incidents {
		// An incident's primary can change (its first report reclassified):
		// the newest word wins, and an empty one never erases a known one.
		if _, err := tx.Exec(ctx, `INSERT INTO coordinated_incidents (incident_id, source_place_id, primary_case_id, item_code)
			VALUES ($1, $2, $3, $4)
			ON CONFLICT (incident_id) DO UPDATE SET source_place_id = EXCLUDED.source_place_id,
				primary_case_id = COALESCE(NULLIF(EXCLUDED.primary_case_id, ''), coordinated_incidents.primary_case_id),
				item_code = COALESCE(NULLIF(EXCLUDED.item_code, ''), coordinated_incidents.item_code)`,
			inc.IncidentID, ch.SourcePlaceID, inc.PrimaryCaseID, inc.ItemCode); err != nil {
			return fmt.Errorf("coordinated incident %s: %w", inc.IncidentID, pgdb.Translate(err))
		}
	}
	return nil
}

// Coordination implements dispatch.CoordinationStore: the place and every
// task of its incidents' primary cases, in dispatch order.
func (st *Store) Coordination(ctx context.Context, id string) (co *dispatch.Coordination, tasks []dispatch.CoordinatedTask, err error) {
	// The place's incidents and their tasks from one snapshot: read in two
	// statements under READ COMMITTED, an incident linked between them
	// showed its task but not its id.
	err = pgx.BeginTxFunc(ctx, st.pool, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly}, func(tx pgx.Tx) error {
		co, tasks, err = coordination(ctx, tx, id)
		return err
	})
	return co, tasks, err
}

func coordination(ctx context.Context, tx pgx.Tx, id string) (*dispatch.Coordination, []dispatch.CoordinatedTask, error) {
	co := &dispatch.Coordination{SourcePlaceID: id}
	err := tx.QueryRow(ctx, `SELECT version, lead_department, open, place_key, district, street, updated_at,
			ARRAY(SELECT incident_id FROM coordinated_incidents WHERE source_place_id = $1 ORDER BY incident_id)
		FROM coordinations WHERE source_place_id = $1`, id).
		Scan(&co.Version, &co.Lead, &co.Open, &co.PlaceKey, &co.District, &co.Street, &co.UpdatedAt, &co.IncidentIDs)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, nil, fault.NotFoundf("sourcePlaces/"+id, "no source place %q", id)
	}
	if err != nil {
		return nil, nil, fmt.Errorf("coordination %s: %w", id, pgdb.Translate(err))
	}
	rows, err := tx.Query(ctx, `SELECT t.body, ci.incident_id, ci.item_code
		FROM coordinated_incidents ci JOIN tasks t ON t.case_id::text = ci.primary_case_id
		WHERE ci.source_place_id = $1
		ORDER BY t.task_id`, id)
	if err != nil {
		return nil, nil, fmt.Errorf("coordinated tasks %s: %w", id, pgdb.Translate(err))
	}
	tasks, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (dispatch.CoordinatedTask, error) {
		var (
			body []byte
			ct   dispatch.CoordinatedTask
		)
		if err := r.Scan(&body, &ct.IncidentID, &ct.ItemCode); err != nil {
			return ct, err
		}
		ct.Task = &dispatch.Task{}
		if err := json.Unmarshal(body, ct.Task); err != nil {
			return ct, fmt.Errorf("decode task: %w", err)
		}
		return ct, nil
	})
	if err != nil {
		return nil, nil, fmt.Errorf("coordinated tasks %s: %w", id, pgdb.Translate(err))
	}
	slices.SortStableFunc(tasks, func(a, b dispatch.CoordinatedTask) int { return a.Task.DispatchedAt.Compare(b.Task.DispatchedAt) })
	return co, tasks, nil
}

// CoordinationOfCases implements dispatch.CoordinationStore.
func (st *Store) CoordinationOfCases(ctx context.Context, caseIDs []string) (map[string]*dispatch.Coordination, error) {
	if len(caseIDs) == 0 {
		return nil, nil
	}
	rows, err := st.pool.Query(ctx, `SELECT ci.primary_case_id, c.source_place_id, c.version, c.lead_department, c.open,
			c.place_key, c.district, c.street, c.updated_at
		FROM coordinated_incidents ci JOIN coordinations c USING (source_place_id)
		WHERE ci.primary_case_id = ANY($1)`, caseIDs)
	if err != nil {
		return nil, fmt.Errorf("coordinations of cases: %w", pgdb.Translate(err))
	}
	defer rows.Close()
	out := map[string]*dispatch.Coordination{}
	for rows.Next() {
		var (
			caseID string
			co     dispatch.Coordination
		)
		if err := rows.Scan(&caseID, &co.SourcePlaceID, &co.Version, &co.Lead, &co.Open, &co.PlaceKey, &co.District, &co.Street, &co.UpdatedAt); err != nil {
			return nil, fmt.Errorf("coordinations of cases: %w", err)
		}
		out[caseID] = &co
	}
	return out, rows.Err()
}
