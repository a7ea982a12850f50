package postgres

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/gridflow/gridflow/pkg/pagetoken"
	"github.com/gridflow/gridflow/pkg/pgdb"
	"github.com/gridflow/gridflow/services/classify/internal/classify"
	"github.com/jackc/pgx/v5"
)

var _ classify.ModelRegistry = (*Store)(nil)

const modelColumns = `version, origin, labels, trained_at, examples, data_sha256, sources, cv_accuracy, cv_macro_f1,
	figures, against, against_version, state, reason, decided_by, decided_at, live_by, live_at, seq, kind`

func scanModel(r pgx.Row, payload *[]byte) (classify.ModelRecord, int64, error) {
	var (
		m                classify.ModelRecord
		sources          []byte
		figures, against []byte
		liveAt           *time.Time
		seq              int64
	)
	dest := []any{&m.Version, &m.Origin, &m.Labels, &m.TrainedAt, &m.Examples, &m.DataSHA256, &sources, &m.CVAccuracy, &m.CVMacroF1,
		&figures, &against, &m.AgainstVersion, &m.State, &m.Reason, &m.DecidedBy, &m.DecidedAt, &m.LiveBy, &liveAt, &seq, &m.Kind}
	if payload != nil {
		dest = append(dest, payload)
	}
	if err := r.Scan(dest...); err != nil {
		return m, 0, err
	}
	if liveAt != nil {
		m.LiveAt = liveAt.UTC()
	}
	m.TrainedAt, m.DecidedAt = m.TrainedAt.UTC(), m.DecidedAt.UTC()
	if err := json.Unmarshal(sources, &m.Sources); err != nil {
		return m, 0, err
	}
	for _, f := range []struct {
		raw []byte
		to  **classify.ModelFigures
	}{{figures, &m.Figures}, {against, &m.Against}} {
		if f.raw == nil {
			continue
		}
		if err := json.Unmarshal(f.raw, f.to); err != nil {
			return m, 0, err
		}
	}
	return m, seq, nil
}

// LiveModel returns the live class model and its encoded form.
func (s *Store) LiveModel(ctx context.Context) (*classify.ModelRecord, []byte, error) {
	return s.liveModel(ctx, classify.ModelKindClass)
}

// LiveItemModel returns the live item model and its encoded form.
func (s *Store) LiveItemModel(ctx context.Context) (*classify.ModelRecord, []byte, error) {
	return s.liveModel(ctx, classify.ModelKindItems)
}

func (s *Store) liveModel(ctx context.Context, kind string) (*classify.ModelRecord, []byte, error) {
	var payload []byte
	m, _, err := scanModel(s.pool.QueryRow(ctx, `SELECT `+modelColumns+`, payload FROM models WHERE state = 'live' AND kind = $1`, kind), &payload)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, nil, classify.ErrNotFound
	}
	if err != nil {
		return nil, nil, fmt.Errorf("live %s model: %w", kind, pgdb.Translate(err))
	}
	return &m, payload, nil
}

// LiveVersion returns the live class model's version, "" when there is none.
func (s *Store) LiveVersion(ctx context.Context) (string, error) {
	return s.liveVersion(ctx, classify.ModelKindClass)
}

// LiveItemVersion returns the live item model's version, "" when there is none.
func (s *Store) LiveItemVersion(ctx context.Context) (string, error) {
	return s.liveVersion(ctx, classify.ModelKindItems)
}

func (s *Store) liveVersion(ctx context.Context, kind string) (string, error) {
	var v string
	err := s.pool.QueryRow(ctx, `SELECT version FROM models WHERE state = 'live' AND kind = $1`, kind).Scan(&v)
	if errors.Is(err, pgx.ErrNoRows) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("live %s model version: %w", kind, pgdb.Translate(err))
	}
	return v, nil
}

// ModelState returns a model's state, "" when it is not recorded.
func (s *Store) ModelState(ctx context.Context, version string) (string, error) {
	var st string
	err := s.pool.QueryRow(ctx, `SELECT state FROM models WHERE version = $1`, version).Scan(&st)
	if errors.Is(err, pgx.ErrNoRows) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("model state: %w", pgdb.Translate(err))
	}
	return st, nil
}

func jsonOrNil(v *classify.ModelFigures) ([]byte, error) {
	if v == nil {
		return nil, nil
	}
	return json.Marshal(v)
}

// RecordModel records a decision on a model. Making one live retires the
// live one in the same transaction, under a lock on the registry, so
// replicas deciding at once leave exactly one live model and a history that
// says which replaced which.
func (s *Store) RecordModel(ctx context.Context, m *classify.ModelRecord, payload []byte) error {
	switch m.State {
	case classify.ModelLive:
		if len(payload) == 0 {
			return errors.New("record model: a live model needs its encoded form")
		}
	case classify.ModelRefused:
		payload = nil
	default:
		return fmt.Errorf("record model: state %q cannot be recorded", m.State)
	}
	sources, err := json.Marshal(m.Sources)
	if err != nil {
		return fmt.Errorf("record model: %w", err)
	}
	if m.Sources == nil {
		sources = []byte("[]")
	}
	figures, err := jsonOrNil(m.Figures)
	if err != nil {
		return fmt.Errorf("record model: %w", err)
	}
	against, err := jsonOrNil(m.Against)
	if err != nil {
		return fmt.Errorf("record model: %w", err)
	}
	var (
		liveAt *time.Time
		liveBy string
	)
	kind := m.Kind
	if kind == "" {
		kind = classify.ModelKindClass
	}
	if m.State == classify.ModelLive {
		liveAt, liveBy = &m.LiveAt, m.LiveBy
	}
	err = pgdb.InTx(ctx, s.pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `LOCK TABLE models IN SHARE ROW EXCLUSIVE MODE`); err != nil {
			return err
		}
		if m.State == classify.ModelLive {
			// The bytes of a retired model are dropped: only the live one
			// is ever loaded from the registry.
			if _, err := tx.Exec(ctx, `UPDATE models SET state = 'retired', payload = NULL WHERE state = 'live' AND kind = $2 AND version <> $1`, m.Version, kind); err != nil {
				return err
			}
		}
		// A refused model that is live already (another replica promoted
		// it) stays live: a refusal never demotes.
		_, err := tx.Exec(ctx, `INSERT INTO models (version, origin, labels, trained_at, examples, data_sha256, sources,
				cv_accuracy, cv_macro_f1, figures, against, against_version, state, reason, decided_by, decided_at, live_by, live_at, payload, kind)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20)
			ON CONFLICT (version) DO UPDATE SET origin = EXCLUDED.origin, sources = EXCLUDED.sources,
				figures = EXCLUDED.figures, against = EXCLUDED.against, against_version = EXCLUDED.against_version,
				state = EXCLUDED.state, reason = EXCLUDED.reason, decided_by = EXCLUDED.decided_by, decided_at = EXCLUDED.decided_at,
				live_by = COALESCE(NULLIF(EXCLUDED.live_by, ''), models.live_by), live_at = COALESCE(EXCLUDED.live_at, models.live_at),
				payload = COALESCE(EXCLUDED.payload, models.payload),
				seq = nextval(pg_get_serial_sequence('models', 'seq'))
			WHERE models.state <> 'live' OR EXCLUDED.state = 'live'`,
			m.Version, m.Origin, m.Labels, m.TrainedAt, m.Examples, m.DataSHA256, sources, m.CVAccuracy, m.CVMacroF1,
			figures, against, m.AgainstVersion, m.State, m.Reason, m.DecidedBy, m.DecidedAt, liveBy, liveAt, payload, kind)
		return err
	})
	if err != nil {
		return fmt.Errorf("record model %s: %w", m.Version, pgdb.Translate(err))
	}
	return nil
}

// ListModels lists the registry, most recently decided first (seq is
// drawn again at every decision).
func (s *Store) ListModels(ctx context.Context, f classify.ModelFilter) ([]classify.ModelRecord, string, error) {
	before, err := pageSeq(f.PageToken)
	if err != nil {
		return nil, "", err
	}
	if before == 0 {
		before = math.MaxInt64
	}
	rows, err := s.pool.Query(ctx, `SELECT `+modelColumns+` FROM models WHERE seq < $1 ORDER BY seq DESC LIMIT $2`, before, f.PageSize+1)
	if err != nil {
		return nil, "", fmt.Errorf("list models: %w", pgdb.Translate(err))
	}
	type row struct {
		m   classify.ModelRecord
		seq int64
	}
	rs, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (row, error) {
		m, seq, err := scanModel(r, nil)
		return row{m, seq}, err
	})
	if err != nil {
		return nil, "", fmt.Errorf("list models: %w", pgdb.Translate(err))
	}
	next := ""
	if len(rs) > f.PageSize {
		rs = rs[:f.PageSize]
		next = pagetoken.EncodeSeq(rs[len(rs)-1].seq)
	}
	out := make([]classify.ModelRecord, len(rs))
	for i, r := range rs {
		out[i] = r.m
	}
	return out, next, nil
}
