package reloadlog

import (
	"context"
	"errors"

	"github.com/gridflow/gridflow/pkg/fault"
	"github.com/gridflow/gridflow/pkg/wire"

	typesv1 "github.com/gridflow/gridflow/proto/gen/go/gridflow/types/v1"
)

// Page sizes of ListReferenceReloads: 0 asks for DefaultPageSize, more than
// MaxPageSize is coerced to it.
const (
	DefaultPageSize = 50
	MaxPageSize     = 200
)

// Page answers a service's ListReferenceReloads: up to pageSize records,
// newest first, in their wire form, and the next page's token. A negative
// page size or a token this log did not issue is INVALID_ARGUMENT naming the
// field. The caller has been authorised already (pkg/policy).
func (l *Log) Page(ctx context.Context, pageSize int32, token string) ([]*typesv1.ReferenceReload, string, error) {
	var v fault.Violations
	if pageSize < 0 {
		v.Add("page_size", "must not be negative")
	}
	if err := v.Err(); err != nil {
		return nil, "", err
	}
	size := int(pageSize)
	switch {
	case size == 0:
		size = DefaultPageSize
	case size > MaxPageSize:
		size = MaxPageSize
	}
	rs, next, err := l.List(ctx, size, token)
	if errors.Is(err, ErrPageToken) {
		v.Add("page_token", "%v", err)
		return nil, "", v.Err()
	}
	if err != nil {
		return nil, "", err
	}
	out := make([]*typesv1.ReferenceReload, 0, len(rs))
	for _, r := range rs {
		out = append(out, wire.ReloadOut(r))
	}
	return out, next, nil
}
