// Package objects stores uploaded photos and completion evidence behind the
// shape of an S3 bucket: an object is a key, a content type, a little
// metadata (S3's x-amz-meta-*) and its bytes; Put, Get and Delete by key,
// nothing else. On one machine the objects live in PostgreSQL (PG, bytea in
// the schema "objects"); a city that runs MinIO or a cloud bucket implements
// Store with its S3 client (minio-go's PutObject, GetObject, RemoveObject map
// one to one) and the console's door does not change. Keys are made by the
// door (random, unguessable); the store trusts them.
package objects

import (
	"context"
	"errors"
	"time"
)

// ErrNotFound is Get's answer for a key the store does not hold.
var ErrNotFound = errors.New("objects: no such object")

// Object is one stored object.
type Object struct {
	Key         string
	ContentType string
	// Meta is S3's user metadata: small string pairs stored with the object.
	Meta map[string]string
	Body []byte
	// Size and SHA256 are the store's, set by Get (Put computes them).
	Size      int64
	SHA256    []byte
	CreatedAt time.Time
}

// Store is an S3-compatible object store.
type Store interface {
	// Put stores o under o.Key; a key already taken is an error (the door
	// never overwrites: keys are random and written once).
	Put(ctx context.Context, o Object) error
	// Get reads the object under key, or ErrNotFound.
	Get(ctx context.Context, key string) (Object, error)
	// Delete removes the object under key; a missing key is no error.
	Delete(ctx context.Context, key string) error
}
