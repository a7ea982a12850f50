package grpcapi

import (
	"context"
	"errors"
	"testing"

	"github.com/gridflow/gridflow/pkg/auth"
	"github.com/gridflow/gridflow/pkg/fault"

	feedbackv1 "github.com/gridflow/gridflow/proto/gen/go/gridflow/feedback/v1"
	typesv1 "github.com/gridflow/gridflow/proto/gen/go/gridflow/types/v1"
)

// A source number this build does not know is refused, naming the field,
// instead of listing every source.
func TestListCasesUnknownSource(t *testing.T) {
	t.Parallel()
	ctx := auth.WithPrincipal(context.Background(), auth.Principal{Role: auth.RoleAdmin})
	_, err := New(nil, nil, 0).ListCases(ctx, &feedbackv1.ListCasesRequest{Source: typesv1.Source(9)})
	var fe *fault.Error
	if !errors.As(err, &fe) || fe.Kind != fault.InvalidArgument || len(fe.Violations) != 1 || fe.Violations[0].Field != "source" {
		t.Fatalf("err = %v, want InvalidArgument on source", err)
	}
}
