package dispatch

import (
	"fmt"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"
	"unicode"

	"github.com/google/go-cmp/cmp"

	"github.com/gridflow/gridflow/pkg/fault"
	"github.com/gridflow/gridflow/pkg/reference"
	"github.com/gridflow/gridflow/pkg/workcal"
)

var shanghai = func() *time.Location {
	l, err := time.LoadLocation("Asia/Shanghai")
	if err != nil {
		panic(err)
	}
	return l
}()

func at(s string) time.Time {
	t, err := time.ParseInLocation("2006-01-02 15:04", s, shanghai)
	if err != nil {
		panic(err)
	}
	return t.UTC()
}

var refSet = func() *reference.Set {
	s, err := reference.LoadDefault()
	if err != nil {
		panic(err)
	}
	return s
}()

const (
	zj = "310106022" // 芷江西路街道
	lf = "310106021" // 临汾路街道
)

// fixture drives one case through operations, collecting what each did.
type fixture struct {
	t      *testing.T
	c      *Case
	ids    int
	now    time.Time
	events []Event
	timers []TimerOp
}

func newFixture(t *testing.T, received time.Time) *fixture {
	return &fixture{t: t, c: NewCase("case-1", received), now: received}
}

func (f *fixture) env() *Env {
	return &Env{Now: f.now, Actor: "department:x", Ref: refSet, Policy: DefaultPolicy(),
		NewID: func() string { f.ids++; return fmt.Sprintf("task-%d", f.ids) }}
}

// do runs one operation and returns the types of the events it caused.
func (f *fixture) do(op func(env *Env) error) ([]string, error) {
	f.t.Helper()
	err := op(f.env())
	ch := f.c.Finish(refSet)
	if err != nil {
		return nil, err
	}
	f.events = append(f.events, ch.Events...)
	f.timers = append(f.timers, ch.Timers...)
	var types []string
	for _, e := range ch.Events {
		name := eventName(e)
		if t := TaskOf(e); t != nil {
			name += " " + t.Department
		}
		types = append(types, name)
	}
	return types, nil
}

func (f *fixture) must(op func(env *Env) error) []string {
	f.t.Helper()
	types, err := f.do(op)
	if err != nil {
		f.t.Fatal(err)
	}
	return types
}

func (f *fixture) expect(want []string, op func(env *Env) error) {
	f.t.Helper()
	got := f.must(op)
	if diff := cmp.Diff(want, got); diff != "" {
		f.t.Fatalf("events mismatch (-want +got):\n%s", diff)
	}
}

// eventName names an event as its subject does: TaskDeadlineChanged is
// "task.deadline_changed".
func eventName(e Event) string {
	var b strings.Builder
	for i, r := range reflect.TypeOf(e).Elem().Name() {
		if unicode.IsUpper(r) && i > 0 {
			if b.Len() == len("task") || b.Len() == len("case") {
				b.WriteByte('.')
			} else {
				b.WriteByte('_')
			}
		}
		b.WriteRune(unicode.ToLower(r))
	}
	return b.String()
}

// lastEvent is the latest event of type E the fixture saw.
func lastEvent[E Event](f *fixture) E {
	f.t.Helper()
	for i := len(f.events) - 1; i >= 0; i-- {
		if e, ok := f.events[i].(E); ok {
			return e
		}
	}
	var zero E
	f.t.Fatalf("no %T event", zero)
	return zero
}

func (f *fixture) taskOf(dept string) *Task {
	f.t.Helper()
	for i := len(f.c.Tasks) - 1; i >= 0; i-- {
		if f.c.Tasks[i].Department == dept {
			return f.c.Tasks[i]
		}
	}
	f.t.Fatalf("no task for %s", dept)
	return nil
}

func noiseFacts(received time.Time, street string) Facts {
	return Facts{Title: "楼上噪声", Content: "每天晚上装修噪声", Source: reference.FromHotline, AppealType: reference.Complaint,
		ReceivedAt: received, Area: Area{District: "310106", Street: street, Community: "0", Grid: "0"},
		Address: Address{Raw: "共和新路1001号302室 张先生", Road: "共和新路", Number: 1001, Room: "302"}}
}

func class(v int, item string, u reference.Urgency, received time.Time, street string) Classification {
	return Classification{Version: v, Item: item, Urgency: u, Dispatchable: true, Source: reference.FromHotline,
		AppealType: reference.Complaint, ReceivedAt: received, Area: Area{District: "310106", Street: street, Community: "0", Grid: "0"}}
}

// routed returns a fixture whose noise complaint in 芷江西路 is dispatched
// to the street's police station.
func routed(t *testing.T) *fixture {
	recv := at("2026-03-02 10:00")
	f := newFixture(t, recv)
	f.must(func(env *Env) error { f.c.Received(env, "GF-20260302-000001", noiseFacts(recv, zj)); return nil })
	f.expect([]string{"task.dispatched " + zj + "-pcs"}, func(env *Env) error {
		f.c.Classified(env, "GF-20260302-000001", class(1, "H04001", reference.Normal, recv, zj))
		return nil
	})
	return f
}

func TestFirstDispatchableVersionIsRouted(t *testing.T) {
	t.Parallel()
	f := routed(t)
	tk := f.taskOf(zj + "-pcs")
	if tk.Role != Lead || tk.State != Dispatched || tk.Rule != "noise" || tk.Reason != Routed {
		t.Fatalf("task %+v", tk)
	}
	// Complaint at normal urgency: 2 working hours to acknowledge, 15
	// working days to complete, from the receipt.
	if got, want := tk.Deadlines.Ack.Due, at("2026-03-02 12:00"); !got.Equal(want) {
		t.Errorf("ack due %s, want %s", got, want)
	}
	if got, want := tk.Deadlines.Complete.Due, at("2026-03-23 10:00"); !got.Equal(want) {
		t.Errorf("complete due %s, want %s", got, want)
	}
	ev := lastEvent[*TaskDispatched](f)
	if ev.Summary.Address.Room != "" || ev.Summary.Address.Raw != "" || ev.Summary.ItemName == "" {
		t.Errorf("summary leaks personal data or lacks the item: %+v", ev.Summary)
	}
	if len(ev.Path) == 0 || ev.Path[len(ev.Path)-1].Rule != "noise" {
		t.Errorf("path %+v", ev.Path)
	}
	// The task's clock stands at its first point: the ack warning (80 % of 2 h).
	if i := slices.IndexFunc(f.timers, func(op TimerOp) bool { return op.Kind == TimerTaskClock && op.Key == tk.ID }); i < 0 ||
		!f.timers[i].At.Equal(at("2026-03-02 11:36")) {
		t.Errorf("timers %+v", f.timers)
	}
}

func TestNotDispatchableGetsNoTask(t *testing.T) {
	t.Parallel()
	recv := at("2026-03-02 10:00")
	f := newFixture(t, recv)
	f.must(func(env *Env) error { f.c.Received(env, "N", noiseFacts(recv, zj)); return nil })
	dup := class(1, "H04001", reference.Normal, recv, zj)
	dup.Dispatchable = false
	f.expect(nil, func(env *Env) error { f.c.Classified(env, "N", dup); return nil })
	if f.c.Status != NotDispatchable || len(f.c.Tasks) != 0 {
		t.Fatalf("status %s, %d tasks", f.c.Status, len(f.c.Tasks))
	}
	// It becomes its incident's primary: now it is dispatched.
	f.expect([]string{"task.dispatched " + zj + "-pcs"}, func(env *Env) error {
		f.c.Classified(env, "N", class(2, "H04001", reference.Normal, recv, zj))
		return nil
	})
}

func TestOlderVersionIgnored(t *testing.T) {
	t.Parallel()
	recv := at("2026-03-02 10:00")
	f := newFixture(t, recv)
	f.must(func(env *Env) error { f.c.Received(env, "N", noiseFacts(recv, zj)); return nil })
	f.expect([]string{"task.dispatched " + zj + "-lhsrs"}, func(env *Env) error {
		f.c.Classified(env, "N", class(2, "06010", reference.Normal, recv, zj))
		return nil
	})
	// Version 1 arrives late: ignored.
	f.expect(nil, func(env *Env) error {
		f.c.Classified(env, "N", class(1, "H04001", reference.Normal, recv, zj))
		return nil
	})
	// A redelivered version 2: ignored.
	f.expect(nil, func(env *Env) error {
		f.c.Classified(env, "N", class(2, "06010", reference.Normal, recv, zj))
		return nil
	})
}

func TestClassificationBeforeCaseReceived(t *testing.T) {
	t.Parallel()
	recv := at("2026-03-02 10:00")
	f := newFixture(t, recv)
	f.expect(nil, func(env *Env) error {
		f.c.Classified(env, "N", class(1, "H04001", reference.Normal, recv, zj))
		return nil
	})
	if !f.c.AwaitingFacts || len(f.timers) != 1 || f.timers[0].Kind != TimerAwaitFacts {
		t.Fatalf("awaiting %v, timers %+v", f.c.AwaitingFacts, f.timers)
	}
	f.expect([]string{"task.dispatched " + zj + "-pcs"}, func(env *Env) error {
		f.c.Received(env, "N", noiseFacts(recv, zj))
		return nil
	})
	if !slices.ContainsFunc(f.timers, func(op TimerOp) bool { return op.Kind == TimerAwaitFacts && op.Cancel }) {
		t.Fatalf("await timer not cancelled: %+v", f.timers)
	}

	// Without case.received, the await timer routes without the text.
	g := newFixture(t, recv)
	g.must(func(env *Env) error {
		g.c.Classified(env, "N", class(1, "H04001", reference.Normal, recv, zj))
		return nil
	})
	g.now = recv.Add(time.Minute)
	g.expect([]string{"task.dispatched " + zj + "-pcs"}, func(env *Env) error { g.c.AwaitedTooLong(env); return nil })
	if g.c.Path[0].Rule != "facts" {
		t.Errorf("path %+v", g.c.Path)
	}
}

func TestUrgencyRoseChangesDeadlinesInPlace(t *testing.T) {
	t.Parallel()
	f := routed(t)
	recv := at("2026-03-02 10:00")
	before := f.taskOf(zj + "-pcs").Deadlines
	f.now = recv.Add(20 * time.Minute)
	f.expect([]string{"task.deadline_changed " + zj + "-pcs"}, func(env *Env) error {
		f.c.Classified(env, "N", class(2, "H04001", reference.Urgent, recv, zj))
		return nil
	})
	tk := f.taskOf(zj + "-pcs")
	// Urgent: 30 working minutes to acknowledge, 1 working day to complete.
	if got, want := tk.Deadlines.Ack.Due, at("2026-03-02 10:30"); !got.Equal(want) {
		t.Errorf("ack due %s, want %s", got, want)
	}
	if got, want := tk.Deadlines.Complete.Due, at("2026-03-03 10:00"); !got.Equal(want) {
		t.Errorf("complete due %s, want %s", got, want)
	}
	ev := lastEvent[*TaskDeadlineChanged](f)
	if ev.Reason != UrgencyRaised || !ev.Previous.Ack.Due.Equal(before.Ack.Due) {
		t.Errorf("event %+v", ev)
	}
	// Only the urgency fell: nothing changes.
	f.expect(nil, func(env *Env) error {
		f.c.Classified(env, "N", class(3, "H04001", reference.Normal, recv, zj))
		return nil
	})
}

func TestUrgencyRoseToEmergencyReroutes(t *testing.T) {
	t.Parallel()
	f := routed(t)
	recv := at("2026-03-02 10:00")
	// An emergency brings the street desk in as co-handler: the units
	// change, so the case is re-routed; the police keep their task with
	// the emergency limits.
	got := f.must(func(env *Env) error {
		f.c.Classified(env, "N", class(2, "H04001", reference.Emergency, recv, zj))
		return nil
	})
	want := []string{"task.deadline_changed " + zj + "-pcs", "task.dispatched " + zj + "-cyzx"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Fatalf("events mismatch (-want +got):\n%s", diff)
	}
	if d := f.taskOf(zj + "-pcs").Deadlines.Ack.Due; !d.Equal(recv.Add(15 * time.Minute)) {
		t.Errorf("ack due %s", d)
	}
}

func TestReclassificationReroutes(t *testing.T) {
	t.Parallel()
	f := routed(t)
	recv := at("2026-03-02 10:00")
	f.expect([]string{"task.withdrawn " + zj + "-pcs", "task.dispatched " + zj + "-lhsrs"}, func(env *Env) error {
		f.c.Classified(env, "N", class(2, "06010", reference.Normal, recv, zj))
		return nil
	})
	if ev := lastEvent[*TaskWithdrawn](f); ev.Reason != WithdrawRerouted {
		t.Errorf("withdraw reason %q", ev.Reason)
	}
	// 暴露垃圾 has the garbage profile: 4 working hours from the receipt.
	if d := f.taskOf(zj + "-lhsrs").Deadlines.Complete.Due; !d.Equal(at("2026-03-02 15:30")) {
		t.Errorf("complete due %s", d)
	}
	// A duplicate now: the task is withdrawn.
	dup := class(3, "06010", reference.Normal, recv, zj)
	dup.Dispatchable = false
	f.expect([]string{"task.withdrawn " + zj + "-lhsrs"}, func(env *Env) error { f.c.Classified(env, "N", dup); return nil })
}

func TestNotMyAreaIsRedecided(t *testing.T) {
	t.Parallel()
	f := routed(t)
	first := f.taskOf(zj + "-pcs")
	f.now = at("2026-03-02 10:30")
	var out RejectOutcome
	var nt *Task
	f.expect([]string{"task.rejected " + zj + "-pcs", "task.dispatched " + lf + "-pcs"}, func(env *Env) error {
		var err error
		out, nt, err = f.c.Reject(env, first.ID, Rejection{Reason: NotMyArea, Area: lf, Note: "汾西路属临汾路"})
		return err
	})
	if out != OutcomeRedecided || nt == nil || nt.Department != lf+"-pcs" || nt.Reason != Redecided || nt.Replaces != first.ID {
		t.Fatalf("outcome %s, new task %+v", out, nt)
	}
	// The clock belongs to the case: the new unit keeps the original deadlines.
	if diff := cmp.Diff(first.Deadlines, nt.Deadlines); diff != "" {
		t.Errorf("deadlines mismatch (-first +new):\n%s", diff)
	}
	if f.c.Area.Street != lf || f.c.Queue != nil {
		t.Errorf("area %+v, queue %+v", f.c.Area, f.c.Queue)
	}
	if ev := lastEvent[*TaskDispatched](f); ev.Path[0].Rule != "redecide" {
		t.Errorf("path %+v", ev.Path)
	}
	// The second rejection of the case's lead opens arbitration.
	f.expect([]string{"task.rejected " + lf + "-pcs", "case.arbitration_opened"}, func(env *Env) error {
		out, _, err := f.c.Reject(env, nt.ID, Rejection{Reason: NotMyDuty})
		if out != OutcomeArbitration {
			return fmt.Errorf("outcome %s", out)
		}
		return err
	})
	if ev := lastEvent[*CaseArbitrationOpened](f); !slices.Equal(ev.RejectedBy, []string{zj + "-pcs", lf + "-pcs"}) {
		t.Errorf("rejected by %v", ev.RejectedBy)
	}
	// Reassigning is refused while in arbitration; arbitrating decides.
	if _, err := f.do(func(env *Env) error { _, err := f.c.Reassign(env, "", zj+"-cgzd", ""); return err }); fault.KindOf(err) != fault.FailedPrecondition {
		t.Fatalf("reassign in arbitration: %v", err)
	}
	// (To a unit holding the item's power: 城管 lacks public_security.)
	f.expect([]string{"task.dispatched 310106-gafj", "case.arbitrated"}, func(env *Env) error {
		_, err := f.c.Arbitrate(env, "310106-gafj", "分局牵头")
		return err
	})
	if f.c.Arbitration != nil || !f.taskOf("310106-gafj").Deadlines.Complete.Due.Equal(first.Deadlines.Complete.Due) {
		t.Errorf("arbitration %+v", f.c.Arbitration)
	}
}

func TestOtherRejectionsQueue(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		r      Rejection
		reason QueueReason
	}{
		{"not my duty", Rejection{Reason: NotMyDuty}, QueueRejected},
		{"unclear ownership", Rejection{Reason: UnclearOwnership}, QueueRejected},
		{"other", Rejection{Reason: OtherReason, Note: "重复派单"}, QueueRejected},
		{"not my area without an area", Rejection{Reason: NotMyArea}, QueueRejected},
		{"not my area naming its own street", Rejection{Reason: NotMyArea, Area: zj}, QueueRedecisionFailed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := routed(t)
			tk := f.taskOf(zj + "-pcs")
			f.expect([]string{"task.rejected " + zj + "-pcs"}, func(env *Env) error {
				out, _, err := f.c.Reject(env, tk.ID, tt.r)
				if out != OutcomeQueued {
					return fmt.Errorf("outcome %s", out)
				}
				return err
			})
			if f.c.Queue == nil || f.c.Queue.Reason != tt.reason {
				t.Fatalf("queue %+v", f.c.Queue)
			}
			// A dispatcher reassigns (to a unit holding the item's power):
			// the queue clears, the deadlines stay.
			f.expect([]string{"task.dispatched 310106-gafj"}, func(env *Env) error {
				_, err := f.c.Reassign(env, "", "310106-gafj", "")
				return err
			})
			if f.c.Queue != nil || !f.taskOf("310106-gafj").Deadlines.Ack.Due.Equal(tk.Deadlines.Ack.Due) {
				t.Fatalf("queue %+v", f.c.Queue)
			}
		})
	}
}

func TestRejectWindow(t *testing.T) {
	t.Parallel()
	f := routed(t)
	tk := f.taskOf(zj + "-pcs")
	f.now = at("2026-03-02 10:10")
	f.must(func(env *Env) error { _, err := f.c.Acknowledge(env, tk.ID, time.Time{}, ""); return err })
	// 1 working hour after 10:10, the lunch break not counted: 11:10.
	f.now = at("2026-03-02 11:11")
	_, err := f.do(func(env *Env) error { _, _, err := f.c.Reject(env, tk.ID, Rejection{Reason: NotMyDuty}); return err })
	if fault.KindOf(err) != fault.FailedPrecondition {
		t.Fatalf("reject after the window: %v", err)
	}
	f.now = at("2026-03-02 11:10")
	f.expect([]string{"task.rejected " + zj + "-pcs"}, func(env *Env) error {
		_, _, err := f.c.Reject(env, tk.ID, Rejection{Reason: NotMyDuty})
		return err
	})
}

func TestCoHandlerRejectionQueues(t *testing.T) {
	t.Parallel()
	recv := at("2026-03-02 10:00")
	f := newFixture(t, recv)
	f.must(func(env *Env) error { f.c.Received(env, "N", noiseFacts(recv, zj)); return nil })
	// 占用消防通道: police lead, 城管 co-handles, the desk watches (emergency).
	f.must(func(env *Env) error { f.c.Classified(env, "N", class(1, "09013", "", recv, zj)); return nil })
	co := f.taskOf(zj + "-cgzd")
	f.expect([]string{"task.rejected " + zj + "-cgzd"}, func(env *Env) error {
		_, _, err := f.c.Reject(env, co.ID, Rejection{Reason: NotMyDuty})
		return err
	})
	if f.c.Queue == nil || f.c.Queue.Reason != QueueCoHandlerRejected || len(f.c.LeadRejections) != 0 {
		t.Fatalf("queue %+v, lead rejections %d", f.c.Queue, len(f.c.LeadRejections))
	}
}

func TestForwardKeepsDeadlines(t *testing.T) {
	t.Parallel()
	f := routed(t)
	f.now = at("2026-03-02 10:05")
	// A dispatcher gives the case to the district's police bureau.
	f.must(func(env *Env) error { _, err := f.c.Reassign(env, "", "310106-gafj", "分局统筹"); return err })
	bureau := f.taskOf("310106-gafj")
	f.must(func(env *Env) error { _, err := f.c.Acknowledge(env, bureau.ID, time.Time{}, ""); return err })
	// Not a sub-unit of the bureau: refused.
	if _, err := f.do(func(env *Env) error { _, _, err := f.c.Forward(env, bureau.ID, zj+"-cgzd", ""); return err }); fault.KindOf(err) != fault.FailedPrecondition {
		t.Fatalf("forward to another bureau's team: %v", err)
	}
	var nt *Task
	f.expect([]string{"task.forwarded 310106-gafj", "task.dispatched " + lf + "-pcs"}, func(env *Env) error {
		var err error
		_, nt, err = f.c.Forward(env, bureau.ID, lf+"-pcs", "")
		return err
	})
	if bureau.State != Forwarded || bureau.ForwardedTo != nt.ID || nt.Replaces != bureau.ID || nt.Reason != Forwarding {
		t.Fatalf("bureau %+v new %+v", bureau, nt)
	}
	if diff := cmp.Diff(bureau.Deadlines, nt.Deadlines); diff != "" {
		t.Errorf("deadlines mismatch (-bureau +sub-unit):\n%s", diff)
	}
	if ev := lastEvent[*TaskForwarded](f); ev.NewTaskID != nt.ID || ev.ToDepartment != lf+"-pcs" {
		t.Errorf("forwarded event %+v", ev)
	}
	// A street unit does not forward.
	f.must(func(env *Env) error { _, err := f.c.Acknowledge(env, nt.ID, time.Time{}, ""); return err })
	if _, err := f.do(func(env *Env) error { _, _, err := f.c.Forward(env, nt.ID, lf+"-cgzd", ""); return err }); fault.KindOf(err) != fault.FailedPrecondition {
		t.Fatalf("a street unit forwarding: %v", err)
	}
}

func TestExtensionGrantMovesTheDeadline(t *testing.T) {
	t.Parallel()
	f := routed(t)
	tk := f.taskOf(zj + "-pcs")
	f.now = at("2026-03-02 10:20")
	f.must(func(env *Env) error { _, err := f.c.Acknowledge(env, tk.ID, time.Time{}, ""); return err })
	newDue := at("2026-03-30 10:00")
	f.expect([]string{"task.extension_requested " + zj + "-pcs"}, func(env *Env) error {
		_, err := f.c.RequestExtension(env, tk.ID, newDue, "需协调物业")
		return err
	})
	f.expect([]string{"task.extension_decided " + zj + "-pcs", "task.deadline_changed " + zj + "-pcs"}, func(env *Env) error {
		_, err := f.c.DecideExtension(env, tk.ID, true, time.Time{}, "同意")
		return err
	})
	if tk.State != Acknowledged || !tk.Deadlines.Complete.Due.Equal(newDue) {
		t.Fatalf("state %s due %s", tk.State, tk.Deadlines.Complete.Due)
	}
	if w := tk.Deadlines.Complete.WarnAt; !w.After(at("2026-03-23 10:00")) || !w.Before(newDue) {
		t.Errorf("warning %s not moved with the due time", w)
	}
	// A second request: at most one.
	if _, err := f.do(func(env *Env) error {
		_, err := f.c.RequestExtension(env, tk.ID, newDue.Add(time.Hour), "x")
		return err
	}); fault.KindOf(err) != fault.FailedPrecondition {
		t.Fatalf("second extension: %v", err)
	}
	f.expect([]string{"task.completed " + zj + "-pcs"}, func(env *Env) error {
		_, err := f.c.Complete(env, tk.ID, "已劝导", []string{"s3://evidence/1.jpg"})
		return err
	})
	if tk.Review != ReviewNotRequired {
		t.Errorf("review %q", tk.Review)
	}
}

func TestHotlineWithdrawalAndUrging(t *testing.T) {
	t.Parallel()
	f := routed(t)
	f.expect([]string{"task.urged " + zj + "-pcs"}, func(env *Env) error { f.c.Urged(env, "fu-1"); return nil })
	if ev := lastEvent[*TaskUrged](f); ev.Urges != 1 || ev.FollowUpID != "fu-1" {
		t.Errorf("urged %+v", ev)
	}
	f.expect([]string{"task.withdrawn " + zj + "-pcs"}, func(env *Env) error { f.c.Withdrawn(env); return nil })
	if f.c.Status != CaseWithdrawn {
		t.Fatalf("status %s", f.c.Status)
	}
	// Nothing happens to a withdrawn case any more.
	f.expect(nil, func(env *Env) error {
		f.c.Classified(env, "N", class(2, "06010", reference.Normal, at("2026-03-02 10:00"), zj))
		return nil
	})
	f.expect(nil, func(env *Env) error { f.c.Urged(env, "fu-2"); return nil })
}

func TestCancelAndExclude(t *testing.T) {
	t.Parallel()
	f := routed(t)
	f.expect([]string{"case.excluded"}, func(env *Env) error { return f.c.Exclude(env, "不合理诉求") })
	if _, err := f.do(func(env *Env) error { return f.c.Exclude(env, "again") }); fault.KindOf(err) != fault.FailedPrecondition {
		t.Fatalf("exclude twice: %v", err)
	}
	f.expect([]string{"task.withdrawn " + zj + "-pcs", "case.cancelled"}, func(env *Env) error { return f.c.Cancel(env, "无效工单") })
	if ev := lastEvent[*CaseCancelled](f); len(ev.Withdrawn) != 1 {
		t.Errorf("cancelled %+v", ev)
	}
	if _, err := f.do(func(env *Env) error { return f.c.Cancel(env, "again") }); fault.KindOf(err) != fault.FailedPrecondition {
		t.Fatalf("cancel twice: %v", err)
	}
}

// emergency returns a fixture with a 燃气泄漏 emergency dispatched at
// recv: the fire brigade leads (15 min to acknowledge, 2 h to complete,
// clock time).
func emergency(t *testing.T, recv time.Time) (*fixture, *Task) {
	f := newFixture(t, recv)
	f.must(func(env *Env) error {
		fc := noiseFacts(recv, zj)
		fc.Title, fc.Content = "燃气泄漏", "闻到煤气味"
		f.c.Received(env, "N", fc)
		return nil
	})
	f.must(func(env *Env) error {
		f.c.Classified(env, "N", class(1, "H01008", reference.Emergency, recv, zj))
		return nil
	})
	return f, f.taskOf("310106-xfzd")
}

func TestClockWarnsOverdueAndClimbsTheLadder(t *testing.T) {
	t.Parallel()
	recv := at("2026-03-02 10:00")
	f, tk := emergency(t, recv)
	fire := func(now time.Time) []string {
		f.now = now
		return f.must(func(env *Env) error { f.c.FireClock(env, tk.ID); return nil })
	}
	steps := []struct {
		now  time.Time
		want []string
	}{
		{recv.Add(11 * time.Minute), nil},
		// 80 % of 15 minutes.
		{recv.Add(12 * time.Minute), []string{"task.warned 310106-xfzd"}},
		{recv.Add(14 * time.Minute), nil},
		// Not acknowledged in 15 minutes: overdue, the unit is reminded.
		{recv.Add(15 * time.Minute), []string{"task.overdue 310106-xfzd"}},
		// 30 working minutes later: 督办 by the street desk.
		{recv.Add(45 * time.Minute), []string{"task.supervised 310106-xfzd"}},
		// 80 % of 2 hours.
		{recv.Add(96 * time.Minute), []string{"task.warned 310106-xfzd"}},
		// Still open after 2 hours: overdue, supervised again.
		{recv.Add(2 * time.Hour), []string{"task.overdue 310106-xfzd", "task.supervised 310106-xfzd"}},
		// 2 working days past due (12:00 falls in the lunch break, so the
		// working days count from 13:30): raised to the district desk.
		{at("2026-03-04 13:29"), nil},
		{at("2026-03-04 13:30"), []string{"task.escalated 310106-xfzd"}},
		{at("2026-03-10 12:00"), nil},
	}
	for _, st := range steps {
		if diff := cmp.Diff(st.want, fire(st.now)); diff != "" {
			t.Fatalf("at %s: events mismatch (-want +got):\n%s", st.now.In(shanghai).Format("01-02 15:04"), diff)
		}
	}
	if !tk.Warned || !tk.Overdue || !tk.Supervised || !tk.Escalated {
		t.Errorf("flags %+v", tk)
	}
	if ev := lastEvent[*TaskSupervised](f); ev.Step.ToDepartment != zj+"-cyzx" || ev.Step.Limit != CompleteLimit {
		t.Errorf("supervised step %+v", ev.Step)
	}
	if ev := lastEvent[*TaskEscalated](f); ev.Step.ToDepartment != "310106-cyzx" {
		t.Errorf("escalated step %+v", ev.Step)
	}
	// Everything fired: the timer is cleared.
	if last := f.timers[len(f.timers)-1]; !last.Cancel {
		t.Errorf("last timer op %+v", last)
	}
}

// TestClockTimerWrittenOnlyWhenItMoves: a task's clock timer is written
// when its next point moves, not on every change of the task (issue 17),
// and again after it fires, whatever it fired.
func TestClockTimerWrittenOnlyWhenItMoves(t *testing.T) {
	t.Parallel()
	recv := at("2026-03-02 10:00")
	f, tk := emergency(t, recv)
	clockOps := func(do func(env *Env) error) []TimerOp {
		t.Helper()
		n := len(f.timers)
		f.must(do)
		var ops []TimerOp
		for _, op := range f.timers[n:] {
			if op.Kind == TimerTaskClock && op.Key == tk.ID {
				ops = append(ops, op)
			}
		}
		return ops
	}
	if tk.Clock == nil || !tk.Clock.Equal(recv.Add(12*time.Minute)) {
		t.Fatalf("dispatched: clock %v, want the acknowledgement warning at 10:12", tk.Clock)
	}
	f.now = recv.Add(5 * time.Minute)
	if ops := clockOps(func(env *Env) error { _, err := f.c.Acknowledge(env, tk.ID, time.Time{}, ""); return err }); len(ops) != 1 ||
		ops[0].Cancel || !ops[0].At.Equal(recv.Add(96*time.Minute)) {
		t.Fatalf("acknowledged: clock ops %+v, want one to the completion warning at 11:36", ops)
	}
	f.now = recv.Add(10 * time.Minute)
	if ops := clockOps(func(env *Env) error { _, err := f.c.ReportProgress(env, tk.ID, "已到现场", true); return err }); len(ops) != 0 {
		t.Fatalf("progress leaves the next point where it was, yet clock ops %+v", ops)
	}
	// A timer that fires before its point (another clock's skew) fires
	// nothing, and is set again: the fired row is gone.
	f.now = recv.Add(20 * time.Minute)
	if ops := clockOps(func(env *Env) error { f.c.FireClock(env, tk.ID); return nil }); len(ops) != 1 || !ops[0].At.Equal(recv.Add(96*time.Minute)) {
		t.Fatalf("fired early: clock ops %+v, want it set again at 11:36", ops)
	}
}

func TestClockCatchesUpAndAckStopsTheAckClock(t *testing.T) {
	t.Parallel()
	recv := at("2026-03-02 10:00")
	f, tk := emergency(t, recv)
	// A timer that fires late fires every point that is due, in order.
	f.now = recv.Add(16 * time.Minute)
	f.expect([]string{"task.warned 310106-xfzd", "task.overdue 310106-xfzd"}, func(env *Env) error { f.c.FireClock(env, tk.ID); return nil })
	f.must(func(env *Env) error { _, err := f.c.Acknowledge(env, tk.ID, time.Time{}, ""); return err })
	if tk.Overdue || tk.Warned {
		t.Errorf("after acknowledging, the completion limit is green: %+v", tk)
	}
	// The ack ladder's 督办 no longer fires; the completion warning does.
	f.now = recv.Add(100 * time.Minute)
	f.expect([]string{"task.warned 310106-xfzd"}, func(env *Env) error { f.c.FireClock(env, tk.ID); return nil })
}

func TestParkingStopsTheClock(t *testing.T) {
	t.Parallel()
	recv := at("2026-03-02 10:00")
	f, tk := emergency(t, recv)
	f.now = recv.Add(30 * time.Minute)
	f.must(func(env *Env) error { _, err := f.c.Acknowledge(env, tk.ID, time.Time{}, ""); return err })
	f.expect([]string{"case.parked"}, func(env *Env) error {
		return f.c.Park(env, "待管线改造", workcal.Date{Year: 2026, Month: 3, Day: 20})
	})
	if last := f.timers[len(f.timers)-1]; !last.Cancel {
		t.Fatalf("parking did not stop the clock: %+v", last)
	}
	f.now = recv.Add(3 * time.Hour)
	f.expect(nil, func(env *Env) error { f.c.FireClock(env, tk.ID); return nil })
	// Unparked 3 hours later: the completion limit (clock time) moves by
	// the 2.5 hours parked.
	before := tk.Deadlines.Complete.Due
	f.expect([]string{"task.deadline_changed 310106-xfzd", "task.deadline_changed " + zj + "-cyzx",
		"task.deadline_changed " + zj + "-pcs", "case.unparked"}, func(env *Env) error { return f.c.Unpark(env, "") })
	if got, want := tk.Deadlines.Complete.Due, before.Add(150*time.Minute); !got.Equal(want) {
		t.Errorf("complete due %s, want %s", got, want)
	}
	if ev := lastEvent[*TaskDeadlineChanged](f); ev.Reason != Unparked {
		t.Errorf("reason %s", ev.Reason)
	}
	if f.c.Status != CaseRouted {
		t.Errorf("status %s", f.c.Status)
	}
}

func TestParkingShiftsWorkingTime(t *testing.T) {
	t.Parallel()
	f := routed(t) // complete due 2026-03-23 10:00 (15 working days)
	tk := f.taskOf(zj + "-pcs")
	f.now = at("2026-03-02 10:00")
	f.must(func(env *Env) error { return f.c.Park(env, "x", workcal.Date{Year: 2026, Month: 3, Day: 10}) })
	// Parked over a whole working week: due moves by 5 working days.
	f.now = at("2026-03-09 10:00")
	f.must(func(env *Env) error { return f.c.Unpark(env, "") })
	if got, want := tk.Deadlines.Complete.Due, at("2026-03-30 10:00"); !got.Equal(want) {
		t.Errorf("complete due %s, want %s", got, want)
	}
}

func TestReopenStartsANewRound(t *testing.T) {
	t.Parallel()
	f := routed(t)
	tk := f.taskOf(zj + "-pcs")
	f.now = at("2026-03-02 10:10")
	f.must(func(env *Env) error { _, err := f.c.Acknowledge(env, tk.ID, time.Time{}, ""); return err })
	f.must(func(env *Env) error { _, err := f.c.Complete(env, tk.ID, "done", nil); return err })
	f.now = at("2026-03-05 10:00")
	var nt *Task
	f.expect([]string{"task.dispatched " + zj + "-pcs"}, func(env *Env) error {
		var err error
		nt, err = f.c.Reopen(env)
		return err
	})
	if nt.Round != 1 || nt.Reason != Reopened || !nt.Deadlines.Start.Equal(f.now) {
		t.Fatalf("reopened task %+v", nt)
	}
}

func TestRecipientWithoutStreet(t *testing.T) {
	t.Parallel()
	c := &Case{Area: Area{District: "310106", Street: "0"}}
	tk := &Task{Department: "310106-cyzx"}
	if got := c.recipient(tk, reference.ToStreetDesk, refSet); got != "310106-cyzx" {
		t.Errorf("street desk of a case without street: %q", got)
	}
	if !strings.HasPrefix(c.recipient(tk, reference.ToUnit, refSet), "310106") {
		t.Error("unit")
	}
}
