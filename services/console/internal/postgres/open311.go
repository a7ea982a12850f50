package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/gridflow/gridflow/pkg/fault"
	"github.com/gridflow/gridflow/pkg/pgdb"
	"github.com/gridflow/gridflow/services/console/internal/open311"
	"github.com/jackc/pgx/v5"
)

// Open311's api_keys (issue 19).

var _ open311.KeyStore = (*Store)(nil)

// CreateKey implements open311.KeyStore.
func (s *Store) CreateKey(ctx context.Context, k open311.Key, hash []byte) error {
	if _, err := s.pool.Exec(ctx, `INSERT INTO open311_keys (key_id, name, key_hash, created_by, created_at) VALUES ($1, $2, $3, $4, $5)`,
		k.ID, k.Name, hash, k.CreatedBy, k.CreatedAt); err != nil {
		return fmt.Errorf("create open311 key: %w", pgdb.Translate(err))
	}
	return nil
}

// KeyByHash implements open311.KeyStore.
func (s *Store) KeyByHash(ctx context.Context, hash []byte) (open311.Key, error) {
	var k open311.Key
	err := s.pool.QueryRow(ctx, `SELECT key_id, name, created_by, created_at FROM open311_keys WHERE key_hash = $1 AND revoked_at IS NULL`,
		hash).Scan(&k.ID, &k.Name, &k.CreatedBy, &k.CreatedAt)
	if errors.Is(err, pgx.ErrNoRows) {
		return k, fault.NotFoundf("open311_keys", "no such key")
	}
	if err != nil {
		return k, fmt.Errorf("look up open311 key: %w", pgdb.Translate(err))
	}
	return k, nil
}

// ListKeys implements open311.KeyStore.
func (s *Store) ListKeys(ctx context.Context) ([]open311.Key, error) {
	rows, err := s.pool.Query(ctx, `SELECT key_id, name, created_by, created_at, revoked_at IS NOT NULL FROM open311_keys ORDER BY created_at, key_id`)
	if err != nil {
		return nil, fmt.Errorf("list open311 keys: %w", pgdb.Translate(err))
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (open311.Key, error) {
		var k open311.Key
		err := r.Scan(&k.ID, &k.Name, &k.CreatedBy, &k.CreatedAt, &k.Revoked)
		return k, err
	})
}

// RevokeKey implements open311.KeyStore; an unknown key is NOT_FOUND.
func (s *Store) RevokeKey(ctx context.Context, id string, at time.Time) error {
	tag, err := s.pool.Exec(ctx, `UPDATE open311_keys SET revoked_at = coalesce(revoked_at, $2) WHERE key_id = $1`, id, at)
	if err != nil {
		return fmt.Errorf("revoke open311 key: %w", pgdb.Translate(err))
	}
	if tag.RowsAffected() == 0 {
		return fault.NotFoundf("open311_keys/"+id, "no key %s", id)
	}
	return nil
}
