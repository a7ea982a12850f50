package events

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/gridflow/gridflow/pkg/consumer"
	"github.com/gridflow/gridflow/pkg/fault"
	"github.com/gridflow/gridflow/pkg/timer"
	"github.com/gridflow/gridflow/services/dispatch/internal/dispatch"
	"github.com/jackc/pgx/v5"
	"google.golang.org/protobuf/proto"

	eventsv1 "github.com/gridflow/gridflow/proto/gen/go/gridflow/events/v1"
)

// ConsumerName is dispatch's durable consumer of the case events it acts on.
const ConsumerName = "dispatch-cases"

// ConsumerSubjects are the events dispatch consumes: a case's facts, its
// classification versions, the hotline's follow-ups and feedback's
// reopenings (a bad callback or a failed re-check).
var ConsumerSubjects = []string{
	"grid.case.received.>",
	"grid.case.classified.>",
	"grid.case.followed_up.>",
	"grid.case.reopened.>",
}

// Updater applies a domain operation to a case inside a transaction.
type Updater interface {
	UpdateTx(ctx context.Context, tx pgx.Tx, caseID string, create bool, now time.Time, op func(*dispatch.Case) error) error
}

// Handlers apply consumed events and fired timers to cases.
type Handlers struct {
	store Updater
	env   func(actor string) *dispatch.Env
}

// NewHandlers returns the handlers; env builds an operation environment at
// the service's clock.
func NewHandlers(store Updater, env func(actor string) *dispatch.Env) *Handlers {
	return &Handlers{store: store, env: env}
}

// Handle is the consumer.Handler of ConsumerName. Payloads that do not
// decode, and case ids that are not uuids, are poison (dead-lettered).
func (h *Handlers) Handle(ctx context.Context, tx pgx.Tx, msg consumer.Message) error {
	var env eventsv1.Envelope
	if err := proto.Unmarshal(msg.Data, &env); err != nil {
		return consumer.Permanent(fmt.Errorf("decode %s: %w", msg.Subject, err))
	}
	err := h.Apply(ctx, tx, &env)
	if errors.Is(err, errPoison) {
		return consumer.Permanent(err)
	}
	return err
}

var errPoison = errors.New("event cannot be applied")

// Apply applies one decoded event in tx.
func (h *Handlers) Apply(ctx context.Context, tx pgx.Tx, env *eventsv1.Envelope) error {
	e := h.env(dispatch.SystemActor)
	update := func(caseID string, op func(*dispatch.Case)) error {
		if caseID == "" {
			return fmt.Errorf("%w: %s without a case id", errPoison, env.GetType())
		}
		err := h.store.UpdateTx(ctx, tx, caseID, true, e.Now, func(c *dispatch.Case) error { op(c); return nil })
		if errors.Is(err, dispatch.ErrBadCaseID) {
			return fmt.Errorf("%w: %w", errPoison, err)
		}
		return err
	}
	switch p := env.GetPayload().(type) {
	case *eventsv1.Envelope_CaseReceived:
		r := p.CaseReceived
		return update(r.GetCaseId(), func(c *dispatch.Case) { c.Received(e, r.GetCaseNumber(), FactsIn(r)) })
	case *eventsv1.Envelope_CaseClassified:
		cl := p.CaseClassified
		return update(cl.GetCaseId(), func(c *dispatch.Case) { c.Classified(e, cl.GetCaseNumber(), ClassificationIn(cl)) })
	case *eventsv1.Envelope_CaseFollowedUp:
		f := p.CaseFollowedUp
		switch f.GetKind() {
		case eventsv1.FollowUpKind_FOLLOW_UP_KIND_WITHDRAW:
			return update(f.GetCaseId(), func(c *dispatch.Case) { c.Withdrawn(e) })
		case eventsv1.FollowUpKind_FOLLOW_UP_KIND_URGE:
			return update(f.GetCaseId(), func(c *dispatch.Case) { c.Urged(e, f.GetFollowUpId()) })
		}
	case *eventsv1.Envelope_CaseReopened:
		return h.reopen(ctx, tx, e, env, p.CaseReopened)
	}
	// Other events (a supplement, types this version does not know) need
	// nothing from dispatch.
	return nil
}

// reopen starts the new round feedback asked for: a new lead task for the
// same unit, counted as rework, with limits from now. The event's round is
// the case's new round, so a reopening already applied (the same event
// redelivered, or published again under another id) changes nothing. A case
// dispatch does not know needs nothing; one that cannot be reopened (no
// completed lead task in its round, cancelled, withdrawn) is dead-lettered
// with the reason.
func (h *Handlers) reopen(ctx context.Context, tx pgx.Tx, e *dispatch.Env, env *eventsv1.Envelope, r *eventsv1.CaseReopened) error {
	caseID := r.GetCase().GetCaseId()
	if caseID == "" {
		caseID = env.GetCaseId()
	}
	if caseID == "" {
		return fmt.Errorf("%w: %s without a case id", errPoison, env.GetType())
	}
	round := int(r.GetCase().GetRound())
	err := h.store.UpdateTx(ctx, tx, caseID, false, e.Now, func(c *dispatch.Case) error {
		if round > 0 && c.Round >= round {
			return nil // already in that round
		}
		if c.Status.Closed() {
			return fault.New(fault.FailedPrecondition, "case %s is %s: it cannot be reopened", caseID, c.Status)
		}
		_, err := c.Reopen(e)
		return err
	})
	if errors.Is(err, dispatch.ErrBadCaseID) || fault.KindOf(err) == fault.FailedPrecondition {
		return fmt.Errorf("%w: reopen: %w", errPoison, err)
	}
	return err
}

// FactsIn converts case.received to the facts dispatch keeps: never the
// caller.
func FactsIn(r *eventsv1.CaseReceived) dispatch.Facts {
	f := dispatch.Facts{
		Title: r.GetTitle(), Content: r.GetContent(), Source: SourceIn(r.GetSource()), AppealType: AppealTypeIn(r.GetAppealType()),
		Urgency: UrgencyIn(r.GetUrgency()), ReceivedAt: Time(r.GetReceivedAt()), Area: AreaIn(r.GetArea()),
		Whistle: r.GetWhistleDepartments(), CatalogueCode: r.GetCatalogueCode(), HotlineOrderNo: r.GetHotlineOrderNo(),
	}
	if r.GetAddress() != nil {
		f.Address = AddressIn(r.GetAddress())
	}
	for _, a := range r.GetAttachments() {
		f.Attachments = append(f.Attachments, dispatch.Attachment{URI: a.GetUri(), MediaType: a.GetMediaType(), Name: a.GetName()})
	}
	if f.ReceivedAt.IsZero() {
		f.ReceivedAt = Time(r.GetAcceptedAt())
	}
	return f
}

// ClassificationIn converts case.classified.
func ClassificationIn(cl *eventsv1.CaseClassified) dispatch.Classification {
	return dispatch.Classification{
		Version: int(cl.GetClassificationVersion()), Item: cl.GetItemCode(), ItemName: cl.GetItemName(), Label: cl.GetLabel(),
		Labels: cl.GetLabels(), Urgency: UrgencyIn(cl.GetUrgency()), IncidentID: cl.GetIncidentId(), Dispatchable: cl.GetDispatchable(),
		Area: AreaIn(cl.GetArea()), Source: SourceIn(cl.GetSource()), AppealType: AppealTypeIn(cl.GetAppealType()),
		ReceivedAt: Time(cl.GetReceivedAt()), ClassifiedAt: Time(cl.GetClassifiedAt()),
	}
}

// TimerHandlers are the handlers of dispatch's timer kinds. A timer's
// payload is the id of the case it belongs to.
func (h *Handlers) TimerHandlers() map[string]timer.Handler {
	return map[string]timer.Handler{
		dispatch.TimerTaskClock: func(ctx context.Context, tx pgx.Tx, t timer.Timer) error {
			e := h.env(dispatch.SystemActor)
			return h.store.UpdateTx(ctx, tx, string(t.Payload), false, e.Now, func(c *dispatch.Case) error {
				c.FireClock(e, t.Key)
				return nil
			})
		},
		dispatch.TimerAwaitFacts: func(ctx context.Context, tx pgx.Tx, t timer.Timer) error {
			e := h.env(dispatch.SystemActor)
			return h.store.UpdateTx(ctx, tx, t.Key, false, e.Now, func(c *dispatch.Case) error {
				c.AwaitedTooLong(e)
				return nil
			})
		},
	}
}
