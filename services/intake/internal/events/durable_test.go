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
	for name, want := range map[string][]string{ConsumerClosures: ClosureSubjects, ConsumerTasks: TaskSubjects} {
		if got := natsauth.FilterOf(name); !slices.Equal(got, want) {
			t.Errorf("natsauth declares %s with %v; the service consumes %v", name, got, want)
		}
	}
}
