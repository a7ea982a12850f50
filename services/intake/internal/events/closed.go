package events

import (
	"context"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/gridflow/gridflow/pkg/consumer"
	"github.com/gridflow/gridflow/pkg/envelope"
	"github.com/jackc/pgx/v5"
	"google.golang.org/protobuf/proto"

	eventsv1 "github.com/gridflow/gridflow/proto/gen/go/gridflow/events/v1"
)

// The closures consumer: intake learns from feedback which cases are closed
// so that it refuses follow-ups to them.
const ConsumerClosures = "intake-closures"

// ClosureSubjects are feedback's case.closed and case.reopened.
var ClosureSubjects = []string{"grid.case.closed.>", "grid.case.reopened.>"}

// Closures handles case.closed (closed) and case.reopened (open again) with
// set, which applies the change in the consumer's transaction.
func Closures(set func(ctx context.Context, tx pgx.Tx, caseID string, closed bool, at time.Time) error) consumer.Handler {
	return func(ctx context.Context, tx pgx.Tx, msg consumer.Message) error {
		var env eventsv1.Envelope
		if err := proto.Unmarshal(msg.Data, &env); err != nil {
			return consumer.Permanent(fmt.Errorf("decode %s: %w", msg.Subject, err))
		}
		if err := envelope.CheckTimes(&env); err != nil {
			return consumer.Permanent(fmt.Errorf("decode %s: %w", msg.Subject, err))
		}
		closed, ok := closedBy(&env)
		if !ok {
			return consumer.Permanent(fmt.Errorf("%s: event %s is not case.closed or case.reopened", msg.Subject, env.GetEventId()))
		}
		if _, err := uuid.Parse(env.GetCaseId()); err != nil {
			return consumer.Permanent(fmt.Errorf("%s: event %s: case id %q is not a uuid", msg.Subject, env.GetEventId(), env.GetCaseId()))
		}
		at := msg.Published
		if env.GetOccurredAt() != nil {
			at = env.GetOccurredAt().AsTime()
		}
		return set(ctx, tx, env.GetCaseId(), closed, at)
	}
}

// closedBy reports whether an event closes its case (case.closed) or opens
// it again (case.reopened); ok is false for every other payload, which the
// closures consumer never subscribes to (TestClosedByTakesWhatItSubscribes).
func closedBy(env *eventsv1.Envelope) (closed, ok bool) {
	switch env.GetPayload().(type) {
	case *eventsv1.Envelope_CaseClosed:
		return true, true
	case *eventsv1.Envelope_CaseReopened:
		return false, true
	}
	return false, false
}
