package events

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/gridflow/gridflow/pkg/consumer"
	"github.com/gridflow/gridflow/pkg/envelope"
	"github.com/gridflow/gridflow/pkg/fault"
	"github.com/gridflow/gridflow/services/dispatch/internal/convert"
	"github.com/gridflow/gridflow/services/dispatch/internal/dispatch"
	"github.com/jackc/pgx/v5"
	"google.golang.org/protobuf/proto"

	eventsv1 "github.com/gridflow/gridflow/proto/gen/go/gridflow/events/v1"
)

// ConsumerName is dispatch's durable consumer of the case events it acts on.
const ConsumerName = "dispatch-cases"

// ConsumerSubjects are the events dispatch consumes: a case's facts, its
// classification versions, the hotline's follow-ups and feedback's
// reopenings (a bad callback or a failed re-check). A case's received and
// classified events come in two lanes (pkg/lane): the routine lane here,
// the emergency lane on ConsumerEmergencies.
var ConsumerSubjects = []string{
	"grid.case.received.*.*",
	"grid.case.classified.*.*",
	"grid.case.followed_up.>",
	"grid.case.reopened.>",
	// Self-disposal (issue 20): the grid leader's check; sent back is routed.
	"grid.case.self_disposal_checked.>",
}

// Updater applies a domain operation to a case inside a transaction.
type Updater interface {
	UpdateTx(ctx context.Context, tx pgx.Tx, caseID string, create bool, now time.Time, op func(*dispatch.Case) (*dispatch.Commit, error)) error
}

// Handlers apply consumed events to cases.
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
	env, err := decode(msg.Data)
	if err != nil {
		return consumer.Permanent(fmt.Errorf("decode %s: %w", msg.Subject, err))
	}
	err = h.Apply(ctx, tx, env)
	if errors.Is(err, errPoison) {
		return consumer.Permanent(err)
	}
	return err
}

var errPoison = errors.New("event cannot be applied")

// decode reads a delivered envelope; one that does not decode, or carries a
// time no store can keep (envelope.CheckTimes), is poison.
func decode(b []byte) (*eventsv1.Envelope, error) {
	env := &eventsv1.Envelope{}
	if err := proto.Unmarshal(b, env); err != nil {
		return nil, err
	}
	if err := envelope.CheckTimes(env); err != nil {
		return nil, err
	}
	return env, nil
}

// Apply applies one decoded event in tx.
func (h *Handlers) Apply(ctx context.Context, tx pgx.Tx, env *eventsv1.Envelope) error {
	ch, ok, err := changeOf(env)
	if err != nil || !ok {
		return err
	}
	if ch.caseID == "" {
		return fmt.Errorf("%w: %s without a case id", errPoison, envelope.Name(env))
	}
	e := h.env(dispatch.SystemActor)
	err = h.store.UpdateTx(ctx, tx, ch.caseID, ch.create, e.Now, func(c *dispatch.Case) (*dispatch.Commit, error) {
		if err := ch.op(c, e); err != nil {
			return nil, err
		}
		return e.Commit(c)
	})
	if errors.Is(err, dispatch.ErrBadCaseID) || fault.KindOf(err) == fault.FailedPrecondition {
		return fmt.Errorf("%w: %s: %w", errPoison, envelope.Name(env), err)
	}
	return err
}

// change is what one consumed event asks of one case.
type change struct {
	caseID string
	// create: the event may be the first dispatch hears of the case.
	// Without it, a case dispatch does not know needs nothing.
	create bool
	op     func(*dispatch.Case, *dispatch.Env) error
}

// changeOf decides, per payload of the envelope's oneof, what dispatch does
// with an event: a change, or nothing (ok false). Every payload is named
// here, the ones dispatch does not act on too, so a payload added to the
// envelope fails TestEveryPayloadIsDecided until someone decides it; at run
// time an undecided one is poison rather than silently dropped.
func changeOf(env *eventsv1.Envelope) (ch change, ok bool, err error) {
	switch p := env.GetPayload().(type) {
	case *eventsv1.Envelope_CaseReceived:
		r := p.CaseReceived
		return change{r.GetCaseId(), true, func(c *dispatch.Case, e *dispatch.Env) error {
			c.Received(e, r.GetCaseNumber(), convert.FactsIn(r))
			return nil
		}}, true, nil
	case *eventsv1.Envelope_CaseClassified:
		cl := p.CaseClassified
		return change{cl.GetCaseId(), true, func(c *dispatch.Case, e *dispatch.Env) error {
			c.Classified(e, cl.GetCaseNumber(), convert.ClassificationIn(cl))
			return nil
		}}, true, nil
	case *eventsv1.Envelope_CaseFollowedUp:
		f := p.CaseFollowedUp
		switch f.GetKind() {
		case eventsv1.FollowUpKind_FOLLOW_UP_KIND_WITHDRAW:
			return change{f.GetCaseId(), true, func(c *dispatch.Case, e *dispatch.Env) error { c.Withdrawn(e); return nil }}, true, nil
		case eventsv1.FollowUpKind_FOLLOW_UP_KIND_URGE:
			return change{f.GetCaseId(), true, func(c *dispatch.Case, e *dispatch.Env) error { c.Urged(e, f.GetFollowUpId()); return nil }}, true, nil
		}
		return change{}, false, nil // a supplement needs nothing from dispatch
	case *eventsv1.Envelope_CaseReopened:
		r := p.CaseReopened
		caseID := r.GetCase().GetCaseId()
		if caseID == "" {
			caseID = env.GetCaseId()
		}
		return change{caseID, false, reopen(caseID, int(r.GetCase().GetRound()))}, true, nil
	case *eventsv1.Envelope_CaseSelfDisposalChecked:
		// Self-disposal (issue 20): a sent-back case is routed; a confirmed
		// one closes in feedback and needs nothing here.
		ck := p.CaseSelfDisposalChecked
		if ck.GetVerdict() != eventsv1.SelfDisposalVerdict_SELF_DISPOSAL_VERDICT_SENT_BACK {
			return change{}, false, nil
		}
		caseID := ck.GetCase().GetCaseId()
		if caseID == "" {
			caseID = env.GetCaseId()
		}
		return change{caseID, true, func(c *dispatch.Case, e *dispatch.Env) error { c.SelfDisposalSentBack(e); return nil }}, true, nil
	case nil:
		// No payload, or one newer than this build: nothing to act on.
		return change{}, false, nil
	case *eventsv1.Envelope_CaseAnswered, *eventsv1.Envelope_CaseReviewNeeded,
		// intake's audit of a contact read: feedback's timeline shows it.
		*eventsv1.Envelope_CaseContactRead,
		*eventsv1.Envelope_IncidentGrouped, *eventsv1.Envelope_IncidentLinked,
		// Source place coordination (issue 20): CoordinationConsumerName's.
		*eventsv1.Envelope_IncidentSourcePlaceLead,
		// Dispatch's own events.
		*eventsv1.Envelope_TaskDispatched, *eventsv1.Envelope_TaskAcknowledged, *eventsv1.Envelope_TaskRejected,
		*eventsv1.Envelope_TaskForwarded, *eventsv1.Envelope_TaskExtensionRequested, *eventsv1.Envelope_TaskExtensionDecided,
		*eventsv1.Envelope_TaskProgressReported, *eventsv1.Envelope_TaskCompleted, *eventsv1.Envelope_TaskCompletionApproved,
		*eventsv1.Envelope_TaskCompletionReturned, *eventsv1.Envelope_TaskWithdrawn, *eventsv1.Envelope_TaskWarned,
		*eventsv1.Envelope_TaskOverdue, *eventsv1.Envelope_TaskUrged, *eventsv1.Envelope_TaskSupervised,
		*eventsv1.Envelope_TaskEscalated, *eventsv1.Envelope_TaskDeadlineChanged, *eventsv1.Envelope_CaseCancelled,
		*eventsv1.Envelope_CaseParked, *eventsv1.Envelope_CaseUnparked, *eventsv1.Envelope_CaseExcluded,
		*eventsv1.Envelope_CaseArbitrationOpened, *eventsv1.Envelope_CaseArbitrated,
		// Feedback's closing half: only a reopening is dispatch's business
		// (the case's state is feedback's).
		*eventsv1.Envelope_CaseResolved, *eventsv1.Envelope_CaseReplied, *eventsv1.Envelope_CaseCallbackRecorded,
		*eventsv1.Envelope_CaseRechecked, *eventsv1.Envelope_CaseClosed, *eventsv1.Envelope_CaseWithdrawn,
		// issue 20 (work tasks): places and inspections are the worker
		// tasks' business (ConsumerWorkTasks), not a case's.
		*eventsv1.Envelope_PlaceUpserted, *eventsv1.Envelope_TaskInspectionRecorded, *eventsv1.Envelope_TaskInspectionMissed,
		// Early warning (issue 20): feedback's warnings are people's business.
		*eventsv1.Envelope_WarningRaised, *eventsv1.Envelope_WarningAcknowledged, *eventsv1.Envelope_WarningDismissed:
		return change{}, false, nil
	}
	return change{}, false, fmt.Errorf("%w: dispatch has not decided what %s means to it", errPoison, envelope.Name(env))
}

// reopen starts the new round feedback asked for: a new lead task for the
// same unit, counted as rework, with limits from now. The event's round is
// the case's new round, so a reopening already applied (the same event
// redelivered, or published again under another id) changes nothing. A case
// dispatch does not know needs nothing; one that cannot be reopened (no
// completed lead task in its round, cancelled, withdrawn) is dead-lettered
// with the reason.
func reopen(caseID string, round int) func(*dispatch.Case, *dispatch.Env) error {
	return func(c *dispatch.Case, e *dispatch.Env) error {
		if round > 0 && c.Round >= round {
			return nil // already in that round
		}
		if c.Status.Closed() {
			return fault.New(fault.FailedPrecondition, "case %s is %s: it cannot be reopened", caseID, c.Status)
		}
		_, err := c.Reopen(e)
		return err
	}
}
