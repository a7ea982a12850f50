package events

// Inspections (issue 20): dispatch publishes InspectionRecorded and
// InspectionMissed on grid.task.inspection_recorded|inspection_missed.
// worker.<district>.<street>; feedback counts them per grid and month for
// the month's figures (durable consumer feedback-inspections). They are no
// case's events: feedback-events, which reads grid.task.>, acks them
// untouched.

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/gridflow/gridflow/pkg/consumer"
	"github.com/gridflow/gridflow/services/feedback/internal/feedback"
	"github.com/jackc/pgx/v5"
	"google.golang.org/protobuf/proto"

	eventsv1 "github.com/gridflow/gridflow/proto/gen/go/gridflow/events/v1"
)

// InspectionsConsumer is the durable consumer counting inspections.
const InspectionsConsumer = "feedback-inspections"

// The inspection events' names, the subject's second token.
const (
	inspectionRecorded = "inspection_recorded"
	inspectionMissed   = "inspection_missed"
)

// InspectionSubjects are what feedback-inspections reads.
var InspectionSubjects = []string{"grid.task." + inspectionRecorded + ".>", "grid.task." + inspectionMissed + ".>"}

// inspectionEvent reports whether a subject carries an inspection event.
func inspectionEvent(subject string) bool {
	return strings.HasPrefix(subject, "grid.task."+inspectionRecorded+".") ||
		strings.HasPrefix(subject, "grid.task."+inspectionMissed+".")
}

// InspectionCounter adds an inspection to its grid's month in the
// consumer's transaction.
type InspectionCounter func(ctx context.Context, tx pgx.Tx, in feedback.Inspection) error

// InspectionHandler counts each inspection event once (the runner records
// it handled in the same transaction); one that does not decode is poison.
// loc is the calendar's zone, which months are counted in.
func InspectionHandler(count InspectionCounter, loc func() *time.Location) consumer.Handler {
	return func(ctx context.Context, tx pgx.Tx, msg consumer.Message) error {
		in, err := DecodeInspection(msg.Subject, msg.Data, loc())
		if err != nil {
			return consumer.Permanent(fmt.Errorf("%s: %w", msg.Subject, err))
		}
		return count(ctx, tx, in)
	}
}

// DecodeInspection reads an inspection event: recorded ones count in the
// month they were done, missed ones in the month they were due.
func DecodeInspection(subject string, data []byte, loc *time.Location) (feedback.Inspection, error) {
	var in feedback.Inspection
	var at time.Time
	switch {
	case strings.HasPrefix(subject, "grid.task."+inspectionRecorded+"."):
		r := &eventsv1.InspectionRecorded{}
		if err := payloadOf(data, r); err != nil {
			return in, err
		}
		in = feedback.Inspection{District: r.GetDistrict(), Street: r.GetStreet(), Community: r.GetCommunity(), Grid: r.GetGrid(),
			OnTime: r.GetOnTime()}
		at = r.GetDoneAt().AsTime()
		if r.GetDoneAt() == nil {
			return in, errors.New("inspection recorded without done_at")
		}
	case strings.HasPrefix(subject, "grid.task."+inspectionMissed+"."):
		r := &eventsv1.InspectionMissed{}
		if err := payloadOf(data, r); err != nil {
			return in, err
		}
		in = feedback.Inspection{District: r.GetDistrict(), Street: r.GetStreet(), Community: r.GetCommunity(), Grid: r.GetGrid(),
			Missed: true}
		at = r.GetDueAt().AsTime()
		if r.GetDueAt() == nil {
			return in, errors.New("inspection missed without due_at")
		}
	default:
		return in, errors.New("not an inspection event")
	}
	if len(in.Grid) != 15 || strings.Trim(in.Grid, "0123456789") != "" {
		return in, fmt.Errorf("inspection names grid %q, not a 15-digit grid code", in.Grid)
	}
	if in.Community == "" {
		in.Community = in.Grid[:12]
	}
	if in.Street == "" {
		in.Street = in.Grid[:9]
	}
	if in.District == "" {
		in.District = in.Grid[:6]
	}
	local := at.In(loc)
	in.Month = time.Date(local.Year(), local.Month(), 1, 0, 0, 0, 0, loc)
	return in, nil
}

// payloadOf reads an envelope's payload into into: the envelope's oneof
// must hold a message of into's type.
func payloadOf(data []byte, into proto.Message) error {
	env := &eventsv1.Envelope{}
	if err := proto.Unmarshal(data, env); err != nil {
		return err
	}
	m := env.ProtoReflect()
	fd := m.WhichOneof(m.Descriptor().Oneofs().ByName("payload"))
	if fd == nil {
		return errors.New("envelope without payload")
	}
	if want := into.ProtoReflect().Descriptor().FullName(); fd.Message() == nil || fd.Message().FullName() != want {
		return fmt.Errorf("payload %s, want %s", fd.Name(), want)
	}
	proto.Merge(into, m.Get(fd).Message().Interface())
	return nil
}
