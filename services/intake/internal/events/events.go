// Package events turns intake's submissions into the events it publishes
// (gridflow.events.v1 envelopes on grid.case.<event>.<district>.<street>).
package events

import (
	"cmp"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/gridflow/gridflow/pkg/envelope"
	"github.com/gridflow/gridflow/pkg/lane"
	"github.com/gridflow/gridflow/pkg/outbox"
	"github.com/gridflow/gridflow/pkg/redact"
	"github.com/gridflow/gridflow/pkg/wire"
	"github.com/gridflow/gridflow/services/intake/internal/convert"
	"github.com/gridflow/gridflow/services/intake/internal/intake"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	eventsv1 "github.com/gridflow/gridflow/proto/gen/go/gridflow/events/v1"
	typesv1 "github.com/gridflow/gridflow/proto/gen/go/gridflow/types/v1"
)

// SchemaVersion of the events this package writes.
const SchemaVersion = 1

// Subject builds grid.case.<event>.<district>.<street>; unknown areas are "0".
func Subject(event string, a intake.Area) string {
	c := a.OrUnknown()
	return fmt.Sprintf("grid.case.%s.%s.%s", event, c.District, c.Street)
}

// Received builds case.received, or case.answered for a consultation
// answered on the call. The event restates the stored submission, so the
// outbox keeps it by reference to the case (see Rebuild in ../postgres).
func Received(sub *intake.Submission, actor string, at time.Time) (outbox.Message, error) {
	return ReceivedAs(uuid.Must(uuid.NewV7()).String(), sub, actor, at)
}

// ReceivedAs is Received with a given event id: the same event again.
func ReceivedAs(eventID string, sub *intake.Submission, actor string, at time.Time) (outbox.Message, error) {
	p := &eventsv1.CaseReceived{
		CaseId:     sub.CaseID,
		CaseNumber: sub.CaseNumber,
		Source:     wire.SourceOut(sub.Source),
		AcceptedAt: timestamppb.New(sub.AcceptedAt),
		Area:       convert.AreaOut(sub.Area),
		Address:    wire.AddressOut(sub.Address),
		Location:   convert.LatLngOut(sub.Location),
		Urgency:    typesv1.Urgency_URGENCY_NORMAL,
		ReceivedAt: timestamppb.New(sub.AcceptedAt),
	}
	if wo := sub.WorkOrder; wo != nil {
		p.ReceivedAt = timestamppb.New(wo.ReceivedAt)
		p.AppealType = wire.AppealTypeOut(wo.AppealType)
		p.Title, p.Content = wo.Title, wo.Content
		p.Urgency = wire.UrgencyOut(wo.Urgency)
		p.Attachments = convert.AttachmentsOut(wo.Attachments)
		p.Caller = &eventsv1.Caller{Name: wo.CallerName, Phone: wo.CallerPhone, Anonymous: wo.Anonymous}
		p.NoCallback = wo.NoCallback
		p.HotlineOrderNo = wo.HotlineOrderNo
		p.Answer = wo.Answer
		p.PrivateLocation = wo.PrivateLocation // issue 20, places
	}
	if r := sub.Patrol; r != nil {
		p.ReceivedAt = timestamppb.New(r.ObservedAt)
		p.Content = r.Description
		p.WorkerId, p.CatalogueCode = r.WorkerID, r.CatalogueCode
		p.Attachments = convert.AttachmentsOut(r.Photos)
	}
	if sd := sub.SelfDisposal; sd != nil { // self-disposal (issue 20)
		p.SelfDisposed, p.SelfDisposalNote = true, sd.Note
	}
	if r := sub.Public; r != nil { // Open311 (issue 19): nobody to call back
		p.Content, p.CatalogueCode, p.NoCallback = r.Description, r.ServiceCode, true
		if r.MediaURL != "" {
			p.Attachments = []*typesv1.Attachment{{Uri: r.MediaURL, Name: "media_url"}}
		}
	}
	if is := sub.Issue; is != nil {
		p.Title, p.Content = is.Title, is.Content
		p.SecretaryId = is.SecretaryID
		p.WhistleDepartments = is.WhistleDepartments
	}
	env := &eventsv1.Envelope{
		EventId:    eventID,
		CaseId:     sub.CaseID,
		OccurredAt: timestamppb.New(at),
		Actor:      wire.PrincipalOut(actor),
		Version:    SchemaVersion,
	}
	if sub.Answered() {
		env.Payload = &eventsv1.Envelope_CaseAnswered{CaseAnswered: p}
	} else {
		env.Payload = &eventsv1.Envelope_CaseReceived{CaseReceived: p}
	}
	m, err := message(env, sub.Area)
	if err != nil {
		return outbox.Message{}, err
	}
	m.Ref = sub.CaseID
	return m, nil
}

// FollowedUp builds case.followed_up.
func FollowedUp(sub *intake.Submission, f *intake.FollowUp) (outbox.Message, error) {
	env := &eventsv1.Envelope{
		EventId:    uuid.Must(uuid.NewV7()).String(),
		CaseId:     sub.CaseID,
		OccurredAt: timestamppb.New(f.AddedAt),
		Actor:      wire.PrincipalOut(cmp.Or(f.Actor, f.Principal)),
		Version:    SchemaVersion,
		Payload: &eventsv1.Envelope_CaseFollowedUp{CaseFollowedUp: &eventsv1.CaseFollowedUp{
			CaseId: sub.CaseID, CaseNumber: sub.CaseNumber, FollowUpId: f.ID, Kind: convert.FollowUpKindOut(f.Kind),
			Text: f.Text, AddedAt: timestamppb.New(f.AddedAt), Area: convert.AreaOut(sub.Area),
		}},
	}
	return message(env, sub.Area)
}

// ContactRead builds case.contact_read: the audit of one read of a caller's
// full contact. It names the reader and the grant, never the contact.
func ContactRead(r intake.ContactRead) (outbox.Message, error) {
	env := &eventsv1.Envelope{
		EventId:    uuid.Must(uuid.NewV7()).String(),
		CaseId:     r.CaseID,
		OccurredAt: timestamppb.New(r.At),
		Actor:      wire.PrincipalOut(r.Reader),
		Version:    SchemaVersion,
		Payload: &eventsv1.Envelope_CaseContactRead{CaseContactRead: &eventsv1.CaseContactRead{
			CaseId: r.CaseID, CaseNumber: r.CaseNumber, Reader: wire.PrincipalOut(r.Reader), ReadAt: timestamppb.New(r.At),
			Grant: string(r.Grant), Area: convert.AreaOut(r.Area),
		}},
	}
	return message(env, r.Area)
}

// message marshals env for the outbox. The payload names the event:
// Envelope.type and the subject follow from it (pkg/envelope). Every event
// intake publishes passes here, and here its personal data is masked
// (pkg/redact): the stream never holds a clear contact.
func message(env *eventsv1.Envelope, a intake.Area) (outbox.Message, error) {
	redact.Envelope(env)
	env.Type = envelope.Name(env)
	data, err := proto.Marshal(env)
	if err != nil {
		return outbox.Message{}, fmt.Errorf("marshal %s: %w", env.Type, err)
	}
	return outbox.Message{ID: env.EventId, Subject: lane.Subject(Subject(envelope.Event(env.Type), a), emergency(env)), Data: data,
		Headers: map[string]string{"Gridflow-Event-Type": env.Type}}, nil
}
