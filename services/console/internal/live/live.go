// Package live is the console's live queue: one reader of the GRID stream
// per console process, turning every case, task and incident event into the
// case's row as it stands after the event, and a hub that hands the row to
// every open screen (a browser's server-sent events stream) whose account
// may see it.
//
// The rules:
//   - one reader per process, an ephemeral ordered JetStream consumer on
//     grid.> delivering new messages only. Ordered, not a core
//     subscription: the stream has dropped the outbox relay's duplicate
//     publishes (Nats-Msg-Id) that a core subscription would see twice,
//     shows only what the stream stored, and the consumer resumes after a
//     NATS restart from the last sequence it saw (nats.go recreates it),
//     where a core subscription silently loses what was published meanwhile.
//     It is ephemeral because a screen shows what happens from now on: what
//     happened before is the page's first load, read from feedback.
//   - access: a row goes only to screens whose account's scope (pkg/policy)
//     covers the case — a task event, for a department, only its own task —
//     decided on the facts the hub knows (the subject's area and unit, and
//     what earlier events and page loads told it about the case: source,
//     community, worker, units). A scope that needs a fact the hub does not
//     know is not sent the row: it fails closed.
//   - rendering: once per scope that may see the event, not per screen; the
//     screens of a scope share the bytes. A screen's filters (street,
//     community, grid, unit, category, source, state) are then a cheap test
//     on the row.
//   - a screen that cannot keep up (its buffer full) is closed rather than
//     allowed to slow the others or to skip rows silently: its browser
//     reconnects and reloads the list from feedback.
//   - the wall's map (大屏) is a screen too (OpenWall): the same decision per
//     scope, and instead of the row the case's marker (drawn once per scope
//     by the marker renderer) while the case is open, its removal after.
package live

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gridflow/gridflow/pkg/envelope"
	"github.com/gridflow/gridflow/pkg/natsjs"
	"github.com/gridflow/gridflow/pkg/policy"
	eventsv1 "github.com/gridflow/gridflow/proto/gen/go/gridflow/events/v1"
	feedbackv1 "github.com/gridflow/gridflow/proto/gen/go/gridflow/feedback/v1"
	typesv1 "github.com/gridflow/gridflow/proto/gen/go/gridflow/types/v1"
	"github.com/nats-io/nats.go/jetstream"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
)

// Filter is what the live stream reads: every case, task and incident
// event (grid.replay.> is a dead letter's way back to one durable, not news).
const Filter = "grid.>"

// Task is one unit's task on a row.
type Task struct {
	ID, Department, Role, State string
	Overdue, Warned, Supervised bool
	Escalated                   bool
}

// Row is a case as the live queue shows it: what the hub knows after the
// latest event (or page load) about it.
type Row struct {
	CaseID, CaseNumber string
	Title              string
	State              feedbackv1.CaseState
	Source             typesv1.Source
	Area               Area
	Worker             string
	ItemCode, ItemName string
	Lead               string
	Tasks              []Task
	// The clock: when it started and the completion due time (zero: not
	// dispatched yet, no limit).
	StartedAt, Due time.Time
	// The latest event: its type and when it happened.
	Event    string
	EventAt  time.Time
	Sequence uint64 // stream sequence of the latest event; 0 from a page load
	// Where the problem is (WGS-84), when case.received said so and the
	// place is not a caller's own home (private_location): the wall's
	// marker stands there, else at its grid.
	Lat, Lng float64
	Located  bool
}

// Area is a row's place; unknown levels are "".
type Area struct{ District, Street, Community, Grid string }

// Departments lists the units holding a task on the case, any state.
func (r *Row) Departments() []string {
	var out []string
	for _, t := range r.Tasks {
		if !slices.Contains(out, t.Department) {
			out = append(out, t.Department)
		}
	}
	return out
}

// Facts are the row's facts as pkg/policy decides on them.
func (r *Row) Facts() policy.CaseFacts {
	return policy.CaseFacts{Source: sourceName(r.Source), District: r.Area.District, Street: r.Area.Street,
		Community: r.Area.Community, Worker: r.Worker, Departments: r.Departments()}
}

func sourceName(s typesv1.Source) string {
	switch s {
	case typesv1.Source_SOURCE_HOTLINE:
		return "hotline"
	case typesv1.Source_SOURCE_PATROL:
		return "patrol"
	case typesv1.Source_SOURCE_SECRETARY:
		return "secretary"
	}
	return ""
}

// Light is a row's SLA light: green below 80 % of the limit, yellow to
// 100 %, red past it; none before the clock starts.
type Light string

// Lights.
const (
	NoLight Light = "none"
	Green   Light = "green"
	Yellow  Light = "yellow"
	Red     Light = "red"
)

// LightAt is the SLA light of a clock that started at start and is due at
// due, at now. A case that no longer runs against its clock (resolved and
// after, cancelled, parked …) has none.
func LightAt(start, due, now time.Time) Light {
	if start.IsZero() || due.IsZero() || !due.After(start) {
		return NoLight
	}
	used := now.Sub(start)
	limit := due.Sub(start)
	switch {
	case used > limit:
		return Red
	case used*5 >= limit*4:
		return Yellow
	}
	return Green
}

// Running reports whether the case's clock runs in state s.
func Running(s feedbackv1.CaseState) bool {
	switch s {
	case feedbackv1.CaseState_CASE_STATE_DISPATCHED, feedbackv1.CaseState_CASE_STATE_IN_PROGRESS:
		return true
	}
	return false
}

// Light is the row's SLA light at now.
func (r *Row) Light(now time.Time) Light {
	if !Running(r.State) {
		return NoLight
	}
	return LightAt(r.StartedAt, r.Due, now)
}

// ScreenFilter narrows one screen's rows; an empty field does not narrow.
type ScreenFilter struct {
	Street, Community, Grid string
	Department              string
	// Item is a catalogue item or class code; a class matches its items.
	Item   string
	Source typesv1.Source
	States []feedbackv1.CaseState
}

// Match reports whether the screen shows r.
func (f ScreenFilter) Match(r *Row) bool {
	return f.matchArea(r) && f.matchRest(r)
}

// matchArea is the filter's test of a case's place, which does not change.
func (f ScreenFilter) matchArea(r *Row) bool {
	return (f.Street == "" || r.Area.Street == f.Street) && (f.Community == "" || r.Area.Community == f.Community) &&
		(f.Grid == "" || r.Area.Grid == f.Grid)
}

// matchRest is the filter's test of what changes as a case moves.
func (f ScreenFilter) matchRest(r *Row) bool {
	switch {
	case f.Department != "" && !slices.Contains(r.Departments(), f.Department),
		f.Item != "" && !itemMatches(f.Item, r.ItemCode),
		f.Source != typesv1.Source_SOURCE_UNSPECIFIED && r.Source != f.Source,
		len(f.States) > 0 && !slices.Contains(f.States, r.State):
		return false
	}
	return true
}

// itemMatches: an item matches itself; a class (urban 2 digits, hotline
// H + 2 digits + 000) its items.
func itemMatches(filter, item string) bool {
	if filter == item {
		return true
	}
	if strings.HasPrefix(filter, "H") && strings.HasSuffix(filter, "000") && len(filter) == 6 {
		return strings.HasPrefix(item, filter[:3])
	}
	return len(filter) == 2 && strings.HasPrefix(item, filter)
}

// Renderer renders a row for the screens of one scope: an HTML fragment.
type Renderer func(scope policy.Scope, r *Row) ([]byte, error)

// Message is what a screen is sent: one rendered row.
type Message struct {
	CaseID   string
	Sequence uint64
	HTML     []byte
	// Remove: the case no longer passes the screen's filters (its state,
	// item or units changed): take its row off.
	Remove bool
	// Published is when the hub took the event, for the fan-out's delay.
	Published time.Time
	// Warning: HTML is a warning event (issue 20, warnings.go), not a
	// case's row; CaseID is empty.
	Warning bool
	// Marker: HTML is the case's wall marker (JSON), for a wall screen.
	Marker bool
}

// Screen is one open live queue.
type Screen struct {
	Scope  policy.Scope
	Filter ScreenFilter
	// Wall: the screen is the wall's map (大屏), sent each open case's
	// marker rather than its row, and a removal when it is no longer open.
	Wall bool
	// C delivers the rows; it is closed when the screen was dropped for
	// falling behind (or the hub stopped).
	C      chan Message
	closed bool
}

// Hub keeps the rows and the open screens.
type Hub struct {
	render Renderer
	log    *slog.Logger
	buffer int

	mu      sync.Mutex
	rows    map[string]*Row
	order   []string // case ids, oldest learned first, for eviction
	max     int
	screens map[*Screen]struct{}

	renders atomic.Int64
	dropped atomic.Int64

	// Early warning (issue 20): how warning events are drawn (nil: not
	// shown).
	renderWarning WarningRenderer
	// The wall's markers (under mu; nil: wall screens get removals only).
	renderMarker Renderer
}

// Options size the hub.
type Options struct {
	// MaxRows bounds the rows remembered (oldest forgotten first): a case
	// forgotten is learned again from its next event's subject and from
	// page loads.
	MaxRows int
	// Buffer is each screen's queue of rows not yet written.
	Buffer int
	// RenderWarning draws feedback's warning events for the screens
	// (early warning, issue 20); nil leaves them out.
	RenderWarning WarningRenderer
}

// SetMarkerRenderer sets how a case's wall marker is drawn: JSON, nil
// bytes for a case with no known place (no marker). The composition root
// sets it once the reference data (the grids) is open.
func (h *Hub) SetMarkerRenderer(r Renderer) {
	h.mu.Lock()
	h.renderMarker = r
	h.mu.Unlock()
}

// OnWall reports whether a case in state s has a marker on the wall: the
// open cases, whose clock runs (dispatched, in progress) — the ones the
// wall's SLA lights count.
func OnWall(s feedbackv1.CaseState) bool { return Running(s) }

// NewHub returns a hub rendering with render.
func NewHub(render Renderer, log *slog.Logger, opts Options) *Hub {
	if opts.MaxRows <= 0 {
		opts.MaxRows = 200_000
	}
	if opts.Buffer <= 0 {
		opts.Buffer = 1024
	}
	return &Hub{render: render, log: log, buffer: opts.Buffer, max: opts.MaxRows,
		rows: map[string]*Row{}, screens: map[*Screen]struct{}{}, renderWarning: opts.RenderWarning}
}

// Renders counts the renderings so far (one per scope per event).
func (h *Hub) Renders() int64 { return h.renders.Load() }

// Dropped counts the screens closed for falling behind.
func (h *Hub) Dropped() int64 { return h.dropped.Load() }

// Screens is the number of open screens.
func (h *Hub) Screens() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.screens)
}

// Open opens a screen for scope with filter; Close it when done.
func (h *Hub) Open(scope policy.Scope, filter ScreenFilter) *Screen {
	return h.open(&Screen{Scope: scope, Filter: filter})
}

// OpenWall opens a wall's map for scope: it is sent the markers of the
// open cases the scope may see; Close it when done.
func (h *Hub) OpenWall(scope policy.Scope) *Screen {
	return h.open(&Screen{Scope: scope, Wall: true})
}

func (h *Hub) open(s *Screen) *Screen {
	s.C = make(chan Message, h.buffer)
	h.mu.Lock()
	h.screens[s] = struct{}{}
	h.mu.Unlock()
	return s
}

// Close closes a screen.
func (h *Hub) Close(s *Screen) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.closeLocked(s)
}

func (h *Hub) closeLocked(s *Screen) {
	if s.closed {
		return
	}
	s.closed = true
	delete(h.screens, s)
	close(s.C)
}

func (h *Hub) closeAll() {
	h.mu.Lock()
	defer h.mu.Unlock()
	for s := range h.screens {
		h.closeLocked(s)
	}
}

// Learn tells the hub what a page load read about cases (feedback's rows,
// already within the reader's scope), so that later events on them carry
// the facts their subjects lack. A row the hub knows from events is kept:
// events are newer than a page's read.
func (h *Hub) Learn(rows []*Row) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, r := range rows {
		if r.CaseID == "" {
			continue
		}
		if _, ok := h.rows[r.CaseID]; ok {
			continue
		}
		c := *r
		h.remember(&c)
	}
}

// remember stores a new row, forgetting the oldest past the bound.
func (h *Hub) remember(r *Row) {
	h.rows[r.CaseID] = r
	h.order = append(h.order, r.CaseID)
	for len(h.rows) > h.max && len(h.order) > 0 {
		delete(h.rows, h.order[0])
		h.order = h.order[1:]
	}
	if cap(h.order) > 4*h.max { // let the forgotten prefix go
		h.order = slices.Clone(h.order)
	}
}

// Apply takes one event from the stream: it updates the case's row and
// sends it to the screens that may see it. subject is the message's
// subject, seq its stream sequence.
func (h *Hub) Apply(subject string, seq uint64, env *eventsv1.Envelope) {
	// Early warning (issue 20): a warning is no case's row.
	if h.applyWarning(subject, seq, env) {
		return
	}
	now := time.Now()
	h.mu.Lock()
	row, taskDept, ok := h.update(subject, seq, env)
	if !ok {
		h.mu.Unlock()
		return
	}
	snap := *row
	snap.Tasks = slices.Clone(row.Tasks)
	screens := make([]*Screen, 0, len(h.screens))
	for s := range h.screens {
		screens = append(screens, s)
	}
	renderMarker := h.renderMarker
	h.mu.Unlock()

	facts := snap.Facts()
	// Per scope: whether it may see the event, and the row rendered for it
	// — on the first of its screens that shows the row, so at most once.
	type scoped struct {
		decided, allowed bool
		html             []byte
		// The wall's marker, drawn at most once per scope too.
		markerDrawn bool
		marker      []byte
	}
	byScope := map[policy.Scope]*scoped{}
	var late []*Screen
	for _, s := range screens {
		sc := byScope[s.Scope]
		if sc == nil {
			sc = &scoped{}
			byScope[s.Scope] = sc
		}
		if !sc.decided {
			sc.decided = true
			sc.allowed = s.Scope.AllowsCase(facts)
			if taskDept != "" {
				sc.allowed = s.Scope.AllowsTask(taskDept, facts)
			}
		}
		if !sc.allowed || !s.Filter.matchArea(&snap) {
			continue
		}
		m := Message{CaseID: snap.CaseID, Sequence: seq, Published: now}
		if s.Wall {
			switch {
			case !OnWall(snap.State):
				m.Remove = true // closed, parked, … or not open yet: off the map
			case !sc.markerDrawn:
				sc.markerDrawn = true
				if renderMarker != nil {
					b, err := renderMarker(s.Scope, &snap)
					h.renders.Add(1)
					if err != nil {
						h.log.Error("live: marker render failed", "case_id", snap.CaseID, "err", err)
					}
					sc.marker = b
				}
			}
			if !m.Remove {
				if sc.marker == nil {
					continue // no place known: no marker
				}
				m.HTML, m.Marker = sc.marker, true
			}
			if !h.send(s, m) {
				late = append(late, s)
			}
			continue
		}
		if !s.Filter.matchRest(&snap) {
			// Its state, item or units no longer pass: off the screen (a
			// screen that never showed it just finds nothing to remove).
			m.Remove = true
		} else {
			if sc.html == nil {
				b, err := h.render(s.Scope, &snap)
				h.renders.Add(1)
				if err != nil || b == nil {
					h.log.Error("live: render failed", "case_id", snap.CaseID, "err", err)
					sc.allowed = false
					continue
				}
				sc.html = b
			}
			m.HTML = sc.html
		}
		if !h.send(s, m) {
			late = append(late, s)
		}
	}
	if len(late) > 0 {
		h.mu.Lock()
		for _, s := range late {
			h.closeLocked(s)
		}
		h.mu.Unlock()
		h.dropped.Add(int64(len(late)))
		h.log.Warn("live: screens fell behind and were closed", "count", len(late))
	}
}

// send hands m to the screen without waiting; false when its buffer is
// full (or it was closed meanwhile).
func (h *Hub) send(s *Screen, m Message) (ok bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if s.closed {
		return true
	}
	select {
	case s.C <- m:
		return true
	default:
		return false
	}
}

// Subject tokens: grid.<kind>.<event>.[<dept>.]<district>.<street>.
type subjectArea struct{ kind, dept, district, street string }

func parseSubject(subject string) (subjectArea, bool) {
	t := strings.Split(subject, ".")
	if len(t) < 5 || t[0] != "grid" {
		return subjectArea{}, false
	}
	switch t[1] {
	case "case", "incident":
		if len(t) != 5 {
			return subjectArea{}, false
		}
		return subjectArea{kind: t[1], district: t[3], street: t[4]}, true
	case "task":
		if len(t) != 6 {
			return subjectArea{}, false
		}
		return subjectArea{kind: "task", dept: t[3], district: t[4], street: t[5]}, true
	}
	return subjectArea{}, false // grid.replay.> and anything else: not news
}

func known(code string) string {
	if code == "0" {
		return ""
	}
	return code
}

// payload is the envelope's payload message.
func payload(env *eventsv1.Envelope) protoreflect.Message {
	m := env.ProtoReflect()
	f := m.WhichOneof(m.Descriptor().Oneofs().ByName(envelope.Oneof))
	if f == nil || f.Kind() != protoreflect.MessageKind {
		return nil
	}
	return m.Get(f).Message()
}

// nested is a payload's message field by name (case, task, summary), or
// nil.
func nested(m protoreflect.Message, name protoreflect.Name) proto.Message {
	if m == nil {
		return nil
	}
	f := m.Descriptor().Fields().ByName(name)
	if f == nil || f.Kind() != protoreflect.MessageKind || !m.Has(f) {
		return nil
	}
	return m.Get(f).Message().Interface()
}

// stateAfter is the case state an event moves a case to, and whether it
// moves it at all; feedback's state machine decides authoritatively (the
// page's load reads it), this follows it closely enough for the news.
var stateAfter = map[string]feedbackv1.CaseState{
	"case.received": feedbackv1.CaseState_CASE_STATE_RECEIVED, "case.answered": feedbackv1.CaseState_CASE_STATE_ANSWERED,
	"case.review_needed": feedbackv1.CaseState_CASE_STATE_REVIEW_NEEDED, "case.classified": feedbackv1.CaseState_CASE_STATE_CLASSIFIED,
	"task.dispatched": feedbackv1.CaseState_CASE_STATE_DISPATCHED, "task.acknowledged": feedbackv1.CaseState_CASE_STATE_IN_PROGRESS,
	"case.resolved": feedbackv1.CaseState_CASE_STATE_RESOLVED, "case.replied": feedbackv1.CaseState_CASE_STATE_REPLIED,
	"case.closed": feedbackv1.CaseState_CASE_STATE_CLOSED, "case.withdrawn": feedbackv1.CaseState_CASE_STATE_WITHDRAWN,
	"case.cancelled": feedbackv1.CaseState_CASE_STATE_CANCELLED, "case.parked": feedbackv1.CaseState_CASE_STATE_PARKED,
	"case.unparked": feedbackv1.CaseState_CASE_STATE_DISPATCHED, "case.reopened": feedbackv1.CaseState_CASE_STATE_DISPATCHED,
}

// forwardOnly are the events that never move a case back: a
// reclassification of a dispatched case, a co-handler's task dispatched or
// signed for after the lead's. (A reopening does: case.reopened.)
var forwardOnly = map[string]bool{"case.classified": true, "task.dispatched": true, "task.acknowledged": true}

// update applies an event to its case's row (under h.mu). taskDept is the
// unit of a task event ("" for others).
func (h *Hub) update(subject string, seq uint64, env *eventsv1.Envelope) (row *Row, taskDept string, ok bool) {
	sa, ok := parseSubject(subject)
	if !ok || env.GetCaseId() == "" {
		return nil, "", false
	}
	name := envelope.Name(env)
	row = h.rows[env.GetCaseId()]
	if row == nil {
		row = &Row{CaseID: env.GetCaseId()}
		h.remember(row)
	}
	if row.Area.District == "" {
		row.Area.District = known(sa.district)
	}
	if row.Area.Street == "" {
		row.Area.Street = known(sa.street)
	}
	row.Event, row.EventAt, row.Sequence = name, env.GetOccurredAt().AsTime(), seq
	if s, ok := stateAfter[name]; ok && !(forwardOnly[name] && row.State > s) {
		row.State = s
	}

	p := payload(env)
	if p == nil {
		return row, sa.dept, true
	}
	msg := p.Interface()
	if v, ok := msg.(interface{ GetCaseNumber() string }); ok && v.GetCaseNumber() != "" {
		row.CaseNumber = v.GetCaseNumber()
	}
	for _, name := range []protoreflect.Name{"case", "summary"} {
		if v, ok := nested(p, name).(interface{ GetCaseNumber() string }); ok && v.GetCaseNumber() != "" {
			row.CaseNumber = v.GetCaseNumber()
		}
		if v, ok := nested(p, name).(interface{ GetArea() *typesv1.Area }); ok {
			row.learnArea(v.GetArea())
		}
		if v, ok := nested(p, name).(interface{ GetSource() typesv1.Source }); ok && v.GetSource() != typesv1.Source_SOURCE_UNSPECIFIED {
			row.Source = v.GetSource()
		}
	}
	switch e := msg.(type) {
	case *eventsv1.CaseReceived:
		row.Title, row.Source, row.Worker = e.GetTitle(), e.GetSource(), e.GetWorkerId()
		row.learnArea(e.GetArea())
		// The stream carries WGS-84 (intake converts GCJ-02); a point still
		// marked GCJ-02 is not trusted to the map.
		if loc := e.GetLocation(); loc != nil && !e.GetPrivateLocation() && loc.GetDatum() != typesv1.Datum_DATUM_GCJ02 &&
			(loc.GetLat() != 0 || loc.GetLng() != 0) {
			row.Lat, row.Lng, row.Located = loc.GetLat(), loc.GetLng(), true
		}
		if row.StartedAt.IsZero() {
			row.StartedAt = e.GetReceivedAt().AsTime()
		}
	case *eventsv1.CaseReviewNeeded:
		row.Source = e.GetSource()
		row.learnArea(e.GetArea())
	case *eventsv1.CaseClassified:
		row.ItemCode, row.ItemName = e.GetItemCode(), e.GetItemName()
	case *eventsv1.TaskDispatched:
		if s := e.GetSummary(); s != nil {
			row.ItemCode, row.ItemName = s.GetItemCode(), s.GetItemName()
		}
	}
	if ref, ok := nested(p, "task").(*eventsv1.TaskRef); ok && ref != nil {
		row.applyTask(ref)
		return row, ref.GetDepartmentCode(), true
	}
	return row, "", true
}

func (r *Row) learnArea(a *typesv1.Area) {
	if a == nil {
		return
	}
	for _, f := range []struct {
		dst *string
		v   string
	}{{&r.Area.District, a.GetDistrictCode()}, {&r.Area.Street, a.GetStreetCode()},
		{&r.Area.Community, a.GetCommunityCode()}, {&r.Area.Grid, a.GetGridCode()}} {
		if v := known(f.v); v != "" {
			*f.dst = v
		}
	}
}

var taskStates = map[eventsv1.TaskState]string{
	eventsv1.TaskState_TASK_STATE_DISPATCHED: "已派发", eventsv1.TaskState_TASK_STATE_ACKNOWLEDGED: "已签收",
	eventsv1.TaskState_TASK_STATE_REJECTED: "已退单", eventsv1.TaskState_TASK_STATE_FORWARDED: "已转派",
	eventsv1.TaskState_TASK_STATE_EXTENSION_REQUESTED: "申请延期", eventsv1.TaskState_TASK_STATE_COMPLETED: "已办结",
	eventsv1.TaskState_TASK_STATE_WITHDRAWN: "已撤回",
}

// applyTask records a task's state after its event, and the case's clock
// and lead from the lead's task.
func (r *Row) applyTask(ref *eventsv1.TaskRef) {
	t := Task{ID: ref.GetTaskId(), Department: ref.GetDepartmentCode(), State: taskStates[ref.GetState()],
		Overdue: ref.GetOverdue(), Warned: ref.GetWarned(), Supervised: ref.GetSupervised(), Escalated: ref.GetEscalated()}
	lead := ref.GetRole() == eventsv1.TaskRole_TASK_ROLE_LEAD
	if lead {
		t.Role = "牵头"
	} else {
		t.Role = "协办"
	}
	if i := slices.IndexFunc(r.Tasks, func(x Task) bool { return x.ID == t.ID }); i >= 0 {
		r.Tasks[i] = t
	} else {
		r.Tasks = append(r.Tasks, t)
	}
	if known(ref.GetStreetCode()) != "" && r.Area.Street == "" {
		r.Area.Street = ref.GetStreetCode()
	}
	open := ref.GetState() != eventsv1.TaskState_TASK_STATE_REJECTED && ref.GetState() != eventsv1.TaskState_TASK_STATE_WITHDRAWN &&
		ref.GetState() != eventsv1.TaskState_TASK_STATE_FORWARDED
	if lead && open {
		r.Lead = t.Department
		if d := ref.GetDeadlines(); d != nil {
			if d.GetStartedAt() != nil {
				r.StartedAt = d.GetStartedAt().AsTime()
			}
			if d.GetComplete().GetDue() != nil {
				r.Due = d.GetComplete().GetDue().AsTime()
			}
		}
	}
}

// Run reads the GRID stream from now on with one ordered consumer and
// applies every event, until ctx ends. It waits for the stream to exist.
func (h *Hub) Run(ctx context.Context, js jetstream.JetStream) error {
	if err := natsjs.WaitStreams(ctx, js, h.log); err != nil {
		if ctx.Err() != nil {
			return nil
		}
		return err
	}
	cons, err := js.OrderedConsumer(ctx, natsjs.StreamGrid, jetstream.OrderedConsumerConfig{
		FilterSubjects: []string{Filter}, DeliverPolicy: jetstream.DeliverNewPolicy})
	if err != nil {
		return fmt.Errorf("live: ordered consumer on %s: %w", Filter, err)
	}
	it, err := cons.Messages()
	if err != nil {
		return fmt.Errorf("live: %w", err)
	}
	defer it.Stop()
	defer h.closeAll() // the screens' streams end with the reader; browsers reconnect
	h.log.InfoContext(ctx, "live queue reading the stream", "filter", Filter)
	for {
		msg, err := it.Next(jetstream.NextContext(ctx))
		if err != nil {
			if ctx.Err() != nil || errors.Is(err, context.Canceled) {
				return nil
			}
			return fmt.Errorf("live: %w", err)
		}
		meta, err := msg.Metadata()
		if err != nil {
			continue
		}
		var env eventsv1.Envelope
		if err := proto.Unmarshal(msg.Data(), &env); err != nil {
			h.log.WarnContext(ctx, "live: an event that does not decode", "subject", msg.Subject(), "err", err)
			continue
		}
		h.Apply(msg.Subject(), meta.Sequence.Stream, &env)
	}
}

// Place is where the hub last heard a case is (case.received's location):
// lat, lng and whether it knows one.
func (h *Hub) Place(caseID string) (lat, lng float64, ok bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if r := h.rows[caseID]; r != nil && r.Located {
		return r.Lat, r.Lng, true
	}
	return 0, 0, false
}
