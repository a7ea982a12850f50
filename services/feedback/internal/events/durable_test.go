package events

import (
	"slices"
	"testing"

	"github.com/gridflow/gridflow/pkg/natsauth"
)

// TestDurableDeclared: the setup step declares this service's durable
// consumer from pkg/natsauth's table, and the service binds to it only
// with the same filter — the two must not drift apart.
func TestDurableDeclared(t *testing.T) {
	if got, want := natsauth.FilterOf(ConsumerName), Subjects; !slices.Equal(got, want) {
		t.Errorf("natsauth declares %s with %v; the service consumes %v", ConsumerName, got, want)
	}
}
