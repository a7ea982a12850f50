package reference

import (
	"context"
	"sync"
	"sync/atomic"
)

// LoadFrom loads the shipped defaults overridden by dir's files, or the
// defaults alone when dir is empty (GRIDFLOW_REFERENCE_DIR unset).
func LoadFrom(dir string) (*Set, error) {
	if dir == "" {
		return LoadDefault()
	}
	return LoadDir(dir)
}

// Live holds what a running service reads and may load again without a
// restart (on SIGHUP, or classify's ReloadModel): the reference set itself
// (Open), or a service's own bundle built on it. It is gridflow's one reload
// holder; services wrap it rather than keep their own.
//
// Reload swaps in a new value only when it loads, so a bad edit on disk never
// takes a service down; every reader sees one whole value or the other, never
// a mix. Reloads run one at a time, so the value a reload replaces is the one
// it reports.
type Live[T any] struct {
	name     string
	load     func(context.Context) (*T, error)
	describe func(*T) []any

	mu  sync.Mutex // one reload at a time
	cur atomic.Pointer[T]
}

// NewLive loads a first value with load and holds it. name says what the
// holder holds, for logs ("reference data"); describe names a loaded value
// as log attributes (a digest, a model version) and may be nil.
func NewLive[T any](ctx context.Context, name string, load func(context.Context) (*T, error), describe func(*T) []any) (*Live[T], error) {
	v, err := load(ctx)
	if err != nil {
		return nil, err
	}
	if describe == nil {
		describe = func(*T) []any { return nil }
	}
	l := &Live[T]{name: name, load: load, describe: describe}
	l.cur.Store(v)
	return l, nil
}

// Open loads the reference set from dir (see LoadFrom) for a service to run
// with.
func Open(dir string) (*Live[Set], error) {
	return NewLive(context.Background(), "reference data",
		func(context.Context) (*Set, error) { return LoadFrom(dir) },
		func(s *Set) []any { return []any{"digest", s.Digest()} })
}

// Current is the value in force.
func (l *Live[T]) Current() *T { return l.cur.Load() }

// Reload loads again and swaps the new value in when it loads, returning the
// value it replaced and the new one. On error the value in force stays and
// is returned as prev, with a nil next.
func (l *Live[T]) Reload(ctx context.Context) (prev, next *T, err error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	prev = l.cur.Load()
	next, err = l.load(ctx)
	if err != nil {
		return prev, nil, err
	}
	l.cur.Store(next)
	return prev, next, nil
}

// Name says what the holder holds, for logs.
func (l *Live[T]) Name() string { return l.name }

// Attrs describes the value in force as log attributes.
func (l *Live[T]) Attrs() []any { return l.describe(l.Current()) }

// Refresh is Reload for a caller that only needs to know whether it worked
// (pkg/process on SIGHUP).
func (l *Live[T]) Refresh(ctx context.Context) error {
	_, _, err := l.Reload(ctx)
	return err
}
