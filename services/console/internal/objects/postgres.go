package objects

import (
	"context"
	"crypto/sha256"
	"embed"
	"errors"
	"fmt"

	"github.com/gridflow/gridflow/pkg/pgdb"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// Schema is the objects' own PostgreSQL schema: the bytes are kept apart
// from the console's accounts, so moving them to a bucket later is dropping
// a schema.
const Schema = "objects"

//go:embed migrations/*.sql
var migrationsFS embed.FS

// Migrations are the objects' tables.
var Migrations = []pgdb.Migrations{{Name: "objects", FS: migrationsFS, Dir: "migrations"}}

// PG is a Store in PostgreSQL (one machine, or a console with replicas
// sharing the database). Objects are at most the door's upload limit (10 MiB
// by default), which bytea holds comfortably.
type PG struct{ pool *pgxpool.Pool }

// NewPG returns the store over a pool bound to Schema.
func NewPG(pool *pgxpool.Pool) *PG { return &PG{pool: pool} }

var _ Store = (*PG)(nil)

// Put implements Store.
func (s *PG) Put(ctx context.Context, o Object) error {
	sum := sha256.Sum256(o.Body)
	meta := o.Meta
	if meta == nil {
		meta = map[string]string{}
	}
	if _, err := s.pool.Exec(ctx, `INSERT INTO objects (key, content_type, size, sha256, meta, body) VALUES ($1, $2, $3, $4, $5, $6)`,
		o.Key, o.ContentType, len(o.Body), sum[:], meta, o.Body); err != nil {
		return fmt.Errorf("put object: %w", err)
	}
	return nil
}

// Get implements Store.
func (s *PG) Get(ctx context.Context, key string) (Object, error) {
	o := Object{Key: key}
	err := s.pool.QueryRow(ctx, `SELECT content_type, size, sha256, meta, body, created_at FROM objects WHERE key = $1`, key).
		Scan(&o.ContentType, &o.Size, &o.SHA256, &o.Meta, &o.Body, &o.CreatedAt)
	if errors.Is(err, pgx.ErrNoRows) {
		return Object{}, ErrNotFound
	}
	if err != nil {
		return Object{}, fmt.Errorf("get object: %w", err)
	}
	return o, nil
}

// Delete implements Store.
func (s *PG) Delete(ctx context.Context, key string) error {
	if _, err := s.pool.Exec(ctx, `DELETE FROM objects WHERE key = $1`, key); err != nil {
		return fmt.Errorf("delete object: %w", err)
	}
	return nil
}
