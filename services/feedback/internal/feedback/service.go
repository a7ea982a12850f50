package feedback

import (
	"context"
	"fmt"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/google/uuid"
	"github.com/gridflow/gridflow/pkg/auth"
	"github.com/gridflow/gridflow/pkg/caseref"
	"github.com/gridflow/gridflow/pkg/fault"
	"github.com/gridflow/gridflow/pkg/freetext"
	"github.com/gridflow/gridflow/pkg/policy"
	"github.com/gridflow/gridflow/pkg/requestid"
	"github.com/gridflow/gridflow/pkg/workcal"
)

// Config tunes the loop.
type Config struct {
	// CallbackWindow: working days after the reply within which a callback
	// must reach the citizen; then the case closes as uncalled.
	CallbackWindow int
	// CallbackRetry: when an unreached callback is due again.
	CallbackRetry time.Duration
}

// Calendar is the working calendar (pkg/workcal).
type Calendar interface {
	AddWorking(start time.Time, d workcal.Duration) (time.Time, workcal.Flags)
}

// Store runs transactions over feedback's log and views.
type Store interface {
	InTx(ctx context.Context, fn func(Tx) error) error
	// Command is InTx for a caller's request req on case caseID, which fn
	// begins (BeginRequest), then locks and reads: the store may do those
	// before fn asks, and send fn's writes with the COMMIT (issue 17).
	Command(ctx context.Context, req Request, caseID string, fn func(Tx) error) error
}

// Tx is the domain's view of one transaction.
type Tx interface {
	// LockCase serialises work on one case until the transaction ends.
	LockCase(ctx context.Context, id string) error
	// LockCaseToSave is LockCase for a timer of the case that fired in
	// this transaction (beginFired): the store learns, in the same round
	// trip, what the stored view derives beside it, but not its timers,
	// which it writes whole.
	LockCaseToSave(ctx context.Context, id string) error
	Events(ctx context.Context, caseID string) ([]Event, error)
	// LoadCase reads a stored view; a fault.NotFound error when none.
	LoadCase(ctx context.Context, id string) (*Case, error)
	// SaveCase writes the view, its replies, and sets or clears its timers.
	SaveCase(ctx context.Context, c *Case) error
	// Dependents lists the cases merged into primaryID.
	Dependents(ctx context.Context, primaryID string) ([]string, error)
	// BeginRequest starts req, before any other lock of the transaction.
	// A first request (found false) calls SaveRequest before the
	// transaction ends, and a concurrent twin waits for it; a repeat gets
	// the first outcome; the id with other content or for another method
	// is ALREADY_EXISTS naming what the first request made.
	BeginRequest(ctx context.Context, req Request) (outcome string, found bool, err error)
	// SaveRequest records a first request's outcome, the id of what it
	// made, which resource names.
	SaveRequest(ctx context.Context, req Request, resource, outcome string) error
	// ResetViews empties every view; CaseIDs lists every case in the log.
	ResetViews(ctx context.Context) error
	CaseIDs(ctx context.Context) ([]string, error)
}

// Request is an idempotent write: the caller's request id, the RPC and its
// content (plain data), which the store fingerprints (pkg/idempotency).
type Request struct {
	Principal string
	ID        string
	Method    string
	Content   any
}

// Service applies events and commands to cases.
type Service struct {
	cfg    Config
	store  Store
	reader Reader
	cal    func() Calendar
	now    func() time.Time
	// issue 20 (work tasks): who re-checks a patrol case (AssignRechecksBy).
	assignee func(grid, reporter string) string
}

// New returns a service. cal returns the current working calendar.
func New(cfg Config, store Store, reader Reader, cal func() Calendar, now func() time.Time) *Service {
	if cfg.CallbackWindow <= 0 {
		cfg.CallbackWindow = 3
	}
	if cfg.CallbackRetry <= 0 {
		cfg.CallbackRetry = 2 * time.Hour
	}
	return &Service{cfg: cfg, store: store, reader: reader, cal: cal, now: now}
}

// principalOf is the principal of an actor, without the person its
// credential named: request ids are scoped to the principal (DESIGN.md),
// so a colleague's retry on the same principal is the same request.
func principalOf(actor string) string {
	p, _ := auth.SplitActor(actor)
	return p
}

// SystemActor is the principal of feedback's own decisions.
const SystemActor = "system:feedback"

// Handle stores a consumed event and brings its case (and the cases merged
// into it) up to date in tx, a BatchTx (the store's always is), as a batch
// of one. A redelivered event changes nothing.
func (s *Service) Handle(ctx context.Context, tx Tx, e Event) error {
	if e.CaseID == "" {
		return fmt.Errorf("event %s (%s) names no case", e.ID, e.Type)
	}
	if err := tx.LockCase(ctx, e.CaseID); err != nil {
		return err
	}
	bt, ok := tx.(BatchTx) // a batch of one (issue 17)
	if !ok {
		return fmt.Errorf("event %s: %T handles no batch in memory", e.ID, tx)
	}
	a, err := s.NewApplier(ctx, bt, []string{e.CaseID}, []string{e.ID})
	if err != nil {
		return err
	}
	if err := a.Apply(ctx, e); err != nil {
		return err
	}
	return a.Flush(ctx)
}

// decide returns the events c's facts call for now. It is idempotent: once
// an event is stored the facts no longer call for it.
func (s *Service) decide(c *Case, primary *Case) []Event {
	if c.Final() {
		return nil
	}
	if c.WithdrawRequested != "" {
		return []Event{{Fact: &CaseWithdrawn{Round: c.Round, FollowUpID: c.WithdrawRequested, Text: "hotline withdrew the case"}}}
	}
	if c.IsParked || c.resolved(c.Round) {
		return nil
	}
	var lead string
	var results []Result
	switch {
	case c.Merged():
		if primary == nil || !primary.resolved(primary.Round) {
			return nil
		}
		results = primary.Results()
		lead = primary.ID
	default:
		t := c.resolvingLead()
		if t == nil {
			return nil
		}
		lead, results = t.ID, c.Results()
	}
	out := []Event{{Fact: &CaseResolved{Round: c.Round, LeadTaskID: lead, Results: results}}}
	if c.Source == Patrol {
		return out // awaiting the re-check
	}
	now := s.now()
	reply := &CaseReplied{Reply: Reply{ID: uuid.Must(uuid.NewV7()).String(), Round: c.Round, Text: ComposeReply(c, results),
		Results: results, At: now}}
	if !c.NoCallback {
		reply.CallbackDue, _ = s.cal().AddWorking(now, workcal.Duration{Kind: workcal.WorkingDays, Days: s.cfg.CallbackWindow})
	}
	out = append(out, Event{Fact: reply})
	if c.NoCallback {
		out = append(out, Event{Fact: &CaseClosed{Round: c.Round, Reason: "no_callback"}})
	}
	return out
}

// ComposeReply writes the reply from every unit's result, the lead's first.
func ComposeReply(c *Case, results []Result) string {
	var b strings.Builder
	fmt.Fprintf(&b, "您反映的问题（%s", c.Number)
	if c.ItemName != "" {
		fmt.Fprintf(&b, "，%s", c.ItemName)
	}
	b.WriteString("）已办结。")
	for _, r := range results {
		role := "主办"
		if r.Role == RoleCoHandler {
			role = "协办"
		}
		fmt.Fprintf(&b, "%s单位%s：%s。", role, r.Department, strings.TrimRight(r.Text, "。. "))
	}
	return b.String()
}

// complete gives a decided event its id, its case's header, its actor and
// its time.
func (s *Service) complete(c *Case, e *Event) {
	e.ID = uuid.Must(uuid.NewV7()).String()
	e.CaseID, e.CaseNumber, e.Area = c.ID, c.Number, c.Area
	e.Source, e.HotlineOrderNo, e.PrimaryCaseID = c.Source, c.HotlineOrderNo, c.PrimaryCaseID
	if e.Actor == "" {
		e.Actor = SystemActor
	}
	e.At = s.now()
	if c.UpdatedAt.After(e.At) {
		e.At = c.UpdatedAt
	}
}

// CallbackInput is a callback as the hotline reports it.
type CallbackInput struct {
	RequestID       string
	CaseID          string
	Reached         bool
	ContactedByUnit bool
	Solved          bool
	Satisfaction    Satisfaction
	Note            string
}

func checkRequest(vs *fault.Violations, requestID, caseID, note string) {
	requestid.Check(requestID, vs)
	if !caseref.IsID(caseID) {
		vs.Add("case_id", "is not a case id")
	}
	freetext.Check("note", note, MaxNoteRunes, false, vs)
}

// Limits on what a callback or a re-check carries.
const (
	MaxNoteRunes  = 2000
	MaxPhotos     = 50
	maxPhotoBytes = 1024
)

// Validate checks the callback alone: the request id, the case id, the
// note, and a known satisfaction, required when the citizen was reached.
func (in CallbackInput) Validate() error {
	var vs fault.Violations
	checkRequest(&vs, in.RequestID, in.CaseID, in.Note)
	switch in.Satisfaction {
	case Satisfied, Basic, Unsatisfied:
	case "":
		if in.Reached {
			vs.Add("satisfaction", "is required when the citizen was reached")
		}
	default:
		vs.Add("satisfaction", "unknown value %q", in.Satisfaction)
	}
	return vs.Err()
}

// RecordCallback records a callback on a replied case: unreached is retried
// later and not counted; reached, solved and not unsatisfied closes the
// case; otherwise the case is reopened (and, for a merged duplicate, its
// primary too).
func (s *Service) RecordCallback(ctx context.Context, sc policy.Scope, actor string, in CallbackInput) (*Case, string, error) {
	if err := in.Validate(); err != nil {
		return nil, "", err
	}
	in.CaseID = strings.ToLower(in.CaseID) // as the log keys it
	req := Request{Principal: principalOf(actor), ID: in.RequestID, Method: "RecordCallback", Content: in}
	var out *Case
	var id string
	err := s.store.Command(ctx, req, in.CaseID, func(tx Tx) error {
		if c, prior, done, err := s.replay(ctx, tx, req, in.CaseID); done || err != nil {
			out, id = c, prior
			return err
		}
		m, c, err := s.begin(ctx, tx, in.CaseID)
		if err := within(sc, "case "+in.CaseID, c, err); err != nil {
			return err // before its state: outside the scope, nothing shows
		}
		if c.State != Replied {
			return fault.New(fault.FailedPrecondition, "case %s is %s: a callback needs a replied case", c.Number, c.State)
		}
		now := s.now()
		cb := Callback{ID: uuid.Must(uuid.NewV7()).String(), Round: c.Round, Reached: in.Reached,
			ContactedByUnit: in.ContactedByUnit, Solved: in.Solved, Satisfaction: in.Satisfaction, Note: in.Note, At: now}
		if !in.Reached {
			cb.Satisfaction, cb.Solved, cb.ContactedByUnit = "", false, false
		}
		recorded := &CaseCallbackRecorded{Callback: cb}
		evs := []Event{{Actor: actor, Fact: recorded}}
		var reopenPrimary bool
		switch {
		case !in.Reached:
			recorded.RetryAt = now.Add(s.cfg.CallbackRetry)
		case in.Solved && in.Satisfaction != Unsatisfied:
			evs = append(evs, Event{Actor: actor, Fact: &CaseClosed{Round: c.Round, Reason: "callback", Satisfaction: in.Satisfaction}})
		default:
			reason := "unsatisfied"
			if !in.Solved {
				reason = "unsolved"
			}
			evs = append(evs, Event{Actor: actor, Fact: &CaseReopened{Round: c.Round + 1, Reason: reason, Note: in.Note}})
			reopenPrimary = c.Merged()
		}
		for i := range evs {
			m.emit(ctx, c, &evs[i])
		}
		if reopenPrimary { // the primary's log, not this case's
			if err := m.reopen(ctx, c.PrimaryCaseID, actor, "merged_case_callback", in.Note, c.ID); err != nil {
				return err
			}
		}
		if out, err = m.finish(ctx, in.CaseID, true); err != nil {
			return err
		}
		id = cb.ID
		return tx.SaveRequest(ctx, req, "cases/"+in.CaseID+"/callbacks/"+id, id)
	})
	return out, id, err
}

// reopen reopens the resolved case id (a merged case's primary) for the
// command: it locks it and takes the decisions the reopening calls for.
func (m *command) reopen(ctx context.Context, id, actor, reason, note, cause string) error {
	p, err := m.lock(ctx, id)
	if err != nil {
		return err
	}
	if p.Round > 0 && !p.resolved(p.Round) {
		return nil // already back at work
	}
	if p.State == Withdrawn || p.State == Cancelled || p.State == Answered {
		return nil
	}
	m.emit(ctx, p, &Event{Actor: actor, Fact: &CaseReopened{Round: p.Round + 1, Reason: reason, Note: note, CauseCaseID: cause}})
	return m.refresh(ctx, id, false)
}

// RecheckInput is a grid worker's re-check of a patrol case.
type RecheckInput struct {
	RequestID string
	CaseID    string
	Passed    bool
	Photos    []string
	Note      string
}

// Validate checks the re-check alone: the request id, the case id, the
// note and at most MaxPhotos photo references.
func (in RecheckInput) Validate() error {
	var vs fault.Violations
	checkRequest(&vs, in.RequestID, in.CaseID, in.Note)
	if len(in.Photos) > MaxPhotos {
		vs.Add("photos", "has %d photos; at most %d", len(in.Photos), MaxPhotos)
	} else {
		for i, p := range in.Photos {
			if p == "" || !utf8.ValidString(p) || len(p) > maxPhotoBytes ||
				strings.IndexFunc(p, func(r rune) bool { return unicode.IsSpace(r) || freetext.Control(r) }) >= 0 {
				vs.Add(fmt.Sprintf("photos[%d]", i), "must be a reference of at most %d bytes, without spaces or control characters", maxPhotoBytes)
			}
		}
	}
	return vs.Err()
}

// RecordRecheck records the re-check of a patrol case awaiting it: passed
// closes the case, failed reopens it.
func (s *Service) RecordRecheck(ctx context.Context, sc policy.Scope, actor, worker string, in RecheckInput) (*Case, string, error) {
	if err := in.Validate(); err != nil {
		return nil, "", err
	}
	in.CaseID = strings.ToLower(in.CaseID) // as the log keys it
	req := Request{Principal: principalOf(actor), ID: in.RequestID, Method: "RecordRecheck", Content: in}
	var out *Case
	var id string
	err := s.store.Command(ctx, req, in.CaseID, func(tx Tx) error {
		if c, prior, done, err := s.replay(ctx, tx, req, in.CaseID); done || err != nil {
			out, id = c, prior
			return err
		}
		m, c, err := s.begin(ctx, tx, in.CaseID)
		if err := s.mayRecheck(sc, worker, "case "+in.CaseID, c, err); err != nil {
			return err // before its state: outside the scope, nothing shows
		}
		if c.State != AwaitingRecheck {
			return fault.New(fault.FailedPrecondition, "case %s is %s: a re-check needs a patrol case awaiting one", c.Number, c.State)
		}
		rc := Recheck{ID: uuid.Must(uuid.NewV7()).String(), WorkerID: worker, Passed: in.Passed, Photos: in.Photos, Note: in.Note}
		evs := []Event{{Actor: actor, Fact: &CaseRechecked{Round: c.Round, Recheck: rc}}}
		if in.Passed {
			evs = append(evs, Event{Actor: actor, Fact: &CaseClosed{Round: c.Round, Reason: "recheck_passed"}})
		} else {
			evs = append(evs, Event{Actor: actor, Fact: &CaseReopened{Round: c.Round + 1, Reason: "recheck_failed", Note: in.Note}})
		}
		for i := range evs {
			m.emit(ctx, c, &evs[i])
		}
		if out, err = m.finish(ctx, in.CaseID, true); err != nil {
			return err
		}
		id = rc.ID
		return tx.SaveRequest(ctx, req, "cases/"+in.CaseID+"/rechecks/"+id, id)
	})
	return out, id, err
}

// replay begins req and answers a repeat: the first outcome with the case
// as it is now; other content or method is ALREADY_EXISTS.
func (s *Service) replay(ctx context.Context, tx Tx, req Request, caseID string) (*Case, string, bool, error) {
	outcome, found, err := tx.BeginRequest(ctx, req)
	if err != nil || !found {
		return nil, "", false, err
	}
	c, err := tx.LoadCase(ctx, caseID)
	return c, outcome, true, err
}

// CallbackWindowPassed closes a replied case nobody reached in time.
func (s *Service) CallbackWindowPassed(ctx context.Context, tx Tx, id string) error {
	m, c, err := s.beginFired(ctx, tx, id)
	if err != nil {
		return err
	}
	if c.State != Replied || c.CallbackDue.IsZero() || c.CallbackDue.After(s.now()) {
		return nil
	}
	m.emit(ctx, c, &Event{Fact: &CaseClosed{Round: c.Round, Reason: "callback_window_passed"}})
	_, err = m.finish(ctx, id, false)
	return err
}

// CallbackRetryDue notes in the timeline that an unreached callback is due
// again.
func (s *Service) CallbackRetryDue(ctx context.Context, tx Tx, id string) error {
	m, c, err := s.beginFired(ctx, tx, id)
	if err != nil {
		return err
	}
	if c.State != Replied || c.RetryAt.IsZero() {
		return nil
	}
	m.emit(ctx, c, &Event{Fact: &CaseCallbackRetryDue{Round: c.Round}})
	_, err = m.finish(ctx, id, false)
	return err
}

// Rebuild drops every view and rebuilds it from the stored events, taking
// no decisions: the log already holds them.
func (s *Service) Rebuild(ctx context.Context) (int, error) {
	n := 0
	err := s.store.InTx(ctx, func(tx Tx) error {
		if err := tx.ResetViews(ctx); err != nil {
			return err
		}
		ids, err := tx.CaseIDs(ctx)
		if err != nil {
			return err
		}
		for _, id := range ids {
			evs, err := tx.Events(ctx, id)
			if err != nil {
				return err
			}
			if err := tx.SaveCase(ctx, Project(id, evs)); err != nil {
				return err
			}
		}
		n = len(ids)
		return nil
	})
	return n, err
}

// Filter selects cases.
type Filter struct {
	// Scope is the caller's (pkg/policy): nothing outside it is listed.
	Scope      policy.Scope
	States     []State
	AreaCode   string
	Department string
	ItemCode   string
	Source     Source
	From, To   time.Time
	PageSize   int
	PageToken  string
	// The public door's filters (issue 19): these cases only, the service
	// the public asked for.
	CaseIDs     []string
	ServiceCode string
}

// Reader answers queries over the views and the log.
type Reader interface {
	// FindCase reads a case by exactly one of id, number, order number.
	FindCase(ctx context.Context, id, number, orderNo string) (*Case, error)
	// LeadDepartments maps each of ids that has a view to its lead
	// department ("" while it has none).
	LeadDepartments(ctx context.Context, ids []string) (map[string]string, error)
	ListCases(ctx context.Context, f Filter) ([]*Case, string, error)
	// Timeline lists a case's events in log order.
	Timeline(ctx context.Context, caseID string) ([]Event, error)
	// LogAfter lists events after seq (of one case when caseID is set).
	LogAfter(ctx context.Context, seq int64, caseID string, limit int) ([]Event, error)
	// LastSeq is the log's newest position.
	LastSeq(ctx context.Context) (int64, error)
	// ListReplies lists replies within sc (in the query), of one case when
	// caseID is set.
	ListReplies(ctx context.Context, sc policy.Scope, caseID string, since time.Time, size int, token string) ([]ReplyOf, string, error)
	// Tally aggregates what a scope's figures are computed from.
	Tally(ctx context.Context, q TallyQuery) (Tally, error)
	// CategoryCounts counts the non-excluded cases received in p per
	// catalogue item ("" area: the city).
	CategoryCounts(ctx context.Context, sl Slice, p Period) ([]CategoryCount, error)
	// KeyCounts counts the non-excluded cases per hotspot key in p (window
	// 0) and in each of the windows periods of the same length before it,
	// for the keys with at least minCount cases in p.
	KeyCounts(ctx context.Context, sl Slice, p Period, windows, minCount int) ([]KeyCount, error)
	// KeyCases lists, by id, the non-excluded cases received in p under
	// each of the hotspot keys.
	KeyCases(ctx context.Context, sl Slice, p Period, keys []HotKey) (map[HotKey][]string, error)
}

// Slice is the part of the city area figures count: an area at any level
// ("" the city) and, when Source is set, only the cases from that source
// (the hotline's figures are of its own cases).
type Slice struct {
	Area   string
	Source Source
}

// ReplyOf is a reply with its case.
type ReplyOf struct {
	Reply
	CaseID, CaseNumber, HotlineOrderNo string
}
