package e2e

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/gridflow/gridflow/pkg/auth"
	"github.com/gridflow/gridflow/pkg/natsauth"
	"github.com/nats-io/nats.go/jetstream"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	classifyv1 "github.com/gridflow/gridflow/proto/gen/go/gridflow/classify/v1"
	dispatchv1 "github.com/gridflow/gridflow/proto/gen/go/gridflow/dispatch/v1"
	eventsv1 "github.com/gridflow/gridflow/proto/gen/go/gridflow/events/v1"
	intakev1 "github.com/gridflow/gridflow/proto/gen/go/gridflow/intake/v1"
	typesv1 "github.com/gridflow/gridflow/proto/gen/go/gridflow/types/v1"
)

const (
	jingan   = "310106"
	zhijiang = "310106022" // 芷江西路街道
	linfen   = "310106021" // 临汾路街道
)

// startDispatchStack starts intake and classify as startStack does, then
// dispatch on a test clock: its time runs ahead of the wall clock by the
// duration in the returned file, which the test rewrites to move time.
func startDispatchStack(t *testing.T) (*stack, string) {
	t.Helper()
	s := startStack(t, "intake", "classify")
	clockFile := filepath.Join(s.dir, "dispatch-clock")
	setClock(t, clockFile, 0)
	s.env = append(s.env, "DISPATCH_TEST_CLOCK_FILE="+clockFile, "DISPATCH_AWAIT_FACTS=2s")
	s.only = append(s.only, "dispatch")
	s.start(t, "dispatch", filepath.Join(s.bin, "dispatch"))
	s.waitReady(t, "dispatch")
	return s, clockFile
}

// setClock moves dispatch's test clock to the wall clock plus d, writing
// the file atomically so the service never reads half of it.
func setClock(t *testing.T, file string, d time.Duration) {
	t.Helper()
	tmp := file + ".tmp"
	if err := os.WriteFile(tmp, []byte(d.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, file); err != nil {
		t.Fatal(err)
	}
}

func dispatchWorkOrder(no, title, content, street string, u typesv1.Urgency) *intakev1.WorkOrder {
	return &intakev1.WorkOrder{
		HotlineOrderNo: no, ReceivedAt: timestamppb.New(time.Now().Add(-time.Minute)),
		AppealType: typesv1.AppealType_APPEAL_TYPE_COMPLAINT, Title: title, Content: content,
		CallerName: "李女士", CallerPhone: "13900002222", DistrictCode: jingan, StreetCode: street, Urgency: u,
	}
}

// classified makes sure the case gets a classification: classify's own
// when it publishes one; when classify puts the case in its review queue,
// the street's dispatcher resolves the review with item (through classify's
// API, as on the console); when classify publishes nothing at all (it did
// not yet when this test was written), the test publishes version 1 itself,
// as classify would, so that dispatch is driven all the same. It returns
// the classification dispatch acts on.
func classified(t *testing.T, s *stack, caseID, number, street, item string, u typesv1.Urgency, dispatchable bool, incident string) *eventsv1.CaseClassified {
	t.Helper()
	seen := waitEvent(t, s, "grid.case.>", 10*time.Second, func(e *eventsv1.Envelope) bool {
		return e.GetCaseId() == caseID && (e.GetType() == "case.classified" || e.GetType() == "case.review_needed")
	})
	switch {
	case seen.GetType() == "case.classified":
		return seen.GetCaseClassified()
	case seen.GetType() == "case.review_needed":
		t.Logf("classify asks for a review of %s: the dispatcher files it under %s", caseID, item)
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		c := classifyv1.NewClassifyServiceClient(s.dial(t, "classify", auth.Principal{Role: auth.RoleDispatcher, Subject: street}))
		if _, err := c.ResolveReview(ctx, &classifyv1.ResolveReviewRequest{RequestId: "e2e-" + caseID, CaseId: caseID, ItemCode: item, Urgency: u}); err != nil {
			t.Fatalf("ResolveReview: %v", err)
		}
		return mustEvent(t, s, "grid.case.classified.>", func(e *eventsv1.Envelope) bool { return e.GetCaseId() == caseID }).GetCaseClassified()
	}
	t.Logf("classify published nothing for %s: publishing case.classified version 1 (%s) in its place", caseID, item)
	js := s.jetStreamAs(t, natsauth.Classify)
	cl := &eventsv1.CaseClassified{
		CaseId: caseID, CaseNumber: number, ClassificationVersion: 1, ItemCode: item, Confidence: 1, Urgency: u,
		Dispatchable: dispatchable, IncidentId: incident, Method: eventsv1.ClassificationMethod_CLASSIFICATION_METHOD_KEYWORD_RULE,
		Area:   &typesv1.Area{DistrictCode: jingan, StreetCode: street, CommunityCode: "0", GridCode: "0"},
		Source: typesv1.Source_SOURCE_HOTLINE, AppealType: typesv1.AppealType_APPEAL_TYPE_COMPLAINT,
		ReceivedAt: timestamppb.New(time.Now().Add(-time.Minute)), ClassifiedAt: timestamppb.Now(),
	}
	env := &eventsv1.Envelope{EventId: uuid.NewString(), Type: "case.classified", CaseId: caseID, OccurredAt: timestamppb.Now(),
		Actor: &typesv1.Principal{Role: "system", Subject: "e2e"}, Version: 1,
		Payload: &eventsv1.Envelope_CaseClassified{CaseClassified: cl}}
	data, err := proto.Marshal(env)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := js.Publish(ctx, "grid.case.classified."+jingan+"."+street, data, jetstream.WithMsgID(env.EventId)); err != nil {
		t.Fatal(err)
	}
	return cl
}

// waitEvent returns the first event on subject that match accepts, or nil
// after wait.
func waitEvent(t *testing.T, s *stack, subject string, wait time.Duration, match func(*eventsv1.Envelope) bool) *eventsv1.Envelope {
	t.Helper()
	js := s.jetStream(t)
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	cons, err := js.OrderedConsumer(ctx, "GRID", jetstream.OrderedConsumerConfig{FilterSubjects: []string{subject}})
	if err != nil {
		t.Fatalf("consumer on GRID %s: %v", subject, err)
	}
	for {
		m, err := cons.Next(jetstream.FetchContext(ctx))
		if err != nil {
			return nil
		}
		var env eventsv1.Envelope
		if err := proto.Unmarshal(m.Data(), &env); err != nil {
			t.Fatal(err)
		}
		if match(&env) {
			return &env
		}
	}
}

func mustEvent(t *testing.T, s *stack, subject string, match func(*eventsv1.Envelope) bool) *eventsv1.Envelope {
	t.Helper()
	e := waitEvent(t, s, subject, 30*time.Second, match)
	if e == nil {
		t.Fatalf("no matching event on %s", subject)
	}
	return e
}

// tasksOf waits until the case has n tasks and returns them.
func tasksOf(t *testing.T, ctx context.Context, c dispatchv1.DispatchServiceClient, caseID string, n int, wait time.Duration) []*dispatchv1.Task {
	t.Helper()
	deadline := time.Now().Add(wait)
	for {
		resp, err := c.ListTasks(ctx, &dispatchv1.ListTasksRequest{CaseId: caseID})
		if err != nil {
			t.Fatal(err)
		}
		if len(resp.GetTasks()) == n {
			return resp.GetTasks()
		}
		if time.Now().After(deadline) {
			t.Fatalf("case %s has %d tasks, want %d: %v", caseID, len(resp.GetTasks()), n, resp.GetTasks())
		}
		time.Sleep(200 * time.Millisecond)
	}
}

func dispatchClient(t *testing.T, s *stack, p auth.Principal) dispatchv1.DispatchServiceClient {
	return dispatchv1.NewDispatchServiceClient(s.dial(t, "dispatch", p))
}

// TestDispatchRejectRedecideExtendComplete: a work order reaches the police
// station of 芷江西路, which rejects it as not its area naming 临汾路; the
// case is re-decided automatically for 临汾路, whose police station signs
// for it, asks for an extension, is granted it by the street's dispatcher
// (through gridctl) and completes. A duplicate report creates no task.
func TestDispatchRejectRedecideExtendComplete(t *testing.T) {
	s, _ := startDispatchStack(t)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	hotline := intakev1.NewIntakeServiceClient(s.dial(t, "intake", auth.Principal{Role: auth.RoleHotline}))
	admin := dispatchClient(t, s, auth.Principal{Role: auth.RoleAdmin})

	wo := dispatchWorkOrder("E2E-DSP-1", "商铺音响噪声扰民", "楼下商铺每天开着大音响招揽生意，噪声扰民，希望派出所管一管。", zhijiang, typesv1.Urgency_URGENCY_NORMAL)
	wo.Address = "上海市静安区共和新路1001号"
	resp, err := hotline.SubmitWorkOrder(ctx, &intakev1.SubmitWorkOrderRequest{WorkOrder: wo})
	if err != nil {
		t.Fatal(err)
	}
	sub := resp.GetSubmission()
	cl := classified(t, s, sub.GetCaseId(), sub.GetCaseNumber(), zhijiang, "H04001", typesv1.Urgency_URGENCY_NORMAL, true, "")

	first := tasksOf(t, ctx, admin, sub.GetCaseId(), 1, 30*time.Second)[0]
	unit := strings.TrimPrefix(first.GetDepartmentCode(), zhijiang+"-")
	if unit == first.GetDepartmentCode() {
		t.Fatalf("case classified %s went to %s, not a street unit: the not_my_area re-decision needs one", cl.GetItemCode(), first.GetDepartmentCode())
	}
	if cl.GetItemCode() == "H04001" && unit != "pcs" {
		t.Fatalf("a noise complaint went to %s, want %s-pcs", first.GetDepartmentCode(), zhijiang)
	}
	dispatched := mustEvent(t, s, "grid.task.dispatched."+first.GetDepartmentCode()+"."+jingan+"."+zhijiang,
		func(e *eventsv1.Envelope) bool { return e.GetCaseId() == sub.GetCaseId() })
	if b, _ := proto.Marshal(dispatched); strings.Contains(string(b), "13900002222") || strings.Contains(string(b), "李女士") {
		t.Fatal("task.dispatched carries the caller")
	}

	wrong := dispatchClient(t, s, auth.Principal{Role: auth.RoleDepartment, Subject: first.GetDepartmentCode()})
	rej, err := wrong.RejectTask(ctx, &dispatchv1.RejectTaskRequest{RequestId: "rej-1", TaskId: first.GetTaskId(),
		Reason: eventsv1.RejectReason_REJECT_REASON_NOT_MY_AREA, AreaCode: linfen, Note: "该商铺在临汾路辖区"})
	if err != nil {
		t.Fatal(err)
	}
	right := linfen + "-" + unit
	nt := rej.GetNewTask()
	if rej.GetOutcome() != dispatchv1.RejectOutcome_REJECT_OUTCOME_REDECIDED || nt.GetDepartmentCode() != right {
		t.Fatalf("reject: %v, want re-decided for %s", rej, right)
	}
	if !proto.Equal(nt.GetDeadlines(), first.GetDeadlines()) {
		t.Errorf("the clock belongs to the case: deadlines %v, want %v", nt.GetDeadlines(), first.GetDeadlines())
	}

	unitClient := dispatchClient(t, s, auth.Principal{Role: auth.RoleDepartment, Subject: right})
	if _, err := unitClient.AcknowledgeTask(ctx, &dispatchv1.AcknowledgeTaskRequest{RequestId: "ack-1", TaskId: nt.GetTaskId(), Note: "已签收"}); err != nil {
		t.Fatal(err)
	}
	due := nt.GetDeadlines().GetComplete().GetDue().AsTime().Add(72 * time.Hour)
	if _, err := unitClient.RequestExtension(ctx, &dispatchv1.RequestExtensionRequest{RequestId: "ext-1", TaskId: nt.GetTaskId(),
		NewDue: timestamppb.New(due), Reason: "需会同市场监管所联合执法"}); err != nil {
		t.Fatal(err)
	}
	out, err := s.gridctl(t, "dispatch", "task", "decide-extension", nt.GetTaskId(), "--grant", "--as", "dispatcher:"+linfen,
		"--addr", s.addrs["dispatch"], "--note", "同意延期")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out, "acknowledged") {
		t.Fatalf("gridctl decide-extension printed %q", out)
	}
	done, err := unitClient.CompleteTask(ctx, &dispatchv1.CompleteTaskRequest{RequestId: "done-1", TaskId: nt.GetTaskId(),
		Result: "已责令商铺停止外放音响", Evidence: []string{"s3://evidence/e2e-after.jpg"}})
	if err != nil {
		t.Fatal(err)
	}
	if done.GetTask().GetState() != eventsv1.TaskState_TASK_STATE_COMPLETED || !done.GetTask().GetDeadlines().GetComplete().GetDue().AsTime().Equal(due) {
		t.Fatalf("completed task: %v", done.GetTask())
	}

	// Every step is on the right unit's subjects.
	for _, typ := range []string{"dispatched", "acknowledged", "extension_requested", "extension_decided", "deadline_changed", "completed"} {
		mustEvent(t, s, "grid.task."+typ+"."+right+"."+jingan+"."+linfen, func(e *eventsv1.Envelope) bool { return e.GetCaseId() == sub.GetCaseId() })
	}
	rejected := mustEvent(t, s, "grid.task.rejected."+first.GetDepartmentCode()+".>", func(e *eventsv1.Envelope) bool { return e.GetCaseId() == sub.GetCaseId() })
	if rejected.GetTaskRejected().GetAreaCode() != linfen {
		t.Errorf("rejected: %v", rejected)
	}

	// Routing explains itself.
	explain, err := s.gridctl(t, "dispatch", "route", "explain", "--case", sub.GetCaseId(), "--addr", s.addrs["dispatch"])
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(explain, "lead:        "+right) || !strings.Contains(explain, "path:") {
		t.Errorf("route explain:\n%s", explain)
	}

	// A duplicate report of the same problem creates no task.
	// (classify joins it to the first report's incident: the same item at
	// the same address within the item's duplicate window).
	dupWO := dispatchWorkOrder("E2E-DSP-2", wo.GetTitle(), wo.GetContent(), zhijiang, typesv1.Urgency_URGENCY_NORMAL)
	dupWO.Address = wo.GetAddress()
	dup, err := hotline.SubmitWorkOrder(ctx, &intakev1.SubmitWorkOrderRequest{WorkOrder: dupWO})
	if err != nil {
		t.Fatal(err)
	}
	dupClass := classified(t, s, dup.GetSubmission().GetCaseId(), dup.GetSubmission().GetCaseNumber(), zhijiang, cl.GetItemCode(),
		typesv1.Urgency_URGENCY_NORMAL, false, uuid.NewString())
	if dupClass.GetDispatchable() {
		t.Fatalf("the second report of one problem was classified dispatchable: %v", dupClass)
	}
	time.Sleep(3 * time.Second)
	tasksOf(t, ctx, admin, dup.GetSubmission().GetCaseId(), 0, 0)
}

// TestDispatchUnacknowledgedTaskEscalates: an emergency nobody signs for
// warns, goes overdue, is supervised by the street desk and escalated to the
// district desk as dispatch's test clock is moved forward.
func TestDispatchUnacknowledgedTaskEscalates(t *testing.T) {
	s, clockFile := startDispatchStack(t)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	hotline := intakev1.NewIntakeServiceClient(s.dial(t, "intake", auth.Principal{Role: auth.RoleHotline}))
	admin := dispatchClient(t, s, auth.Principal{Role: auth.RoleAdmin})

	wo := dispatchWorkOrder("E2E-DSP-GAS", "燃气泄漏", "楼道里闻到很浓的煤气味，怀疑燃气泄漏。", zhijiang, typesv1.Urgency_URGENCY_EMERGENCY)
	resp, err := hotline.SubmitWorkOrder(ctx, &intakev1.SubmitWorkOrderRequest{WorkOrder: wo})
	if err != nil {
		t.Fatal(err)
	}
	caseID := resp.GetSubmission().GetCaseId()
	classified(t, s, caseID, resp.GetSubmission().GetCaseNumber(), zhijiang, "H01008", typesv1.Urgency_URGENCY_EMERGENCY, true, "")
	var lead *dispatchv1.Task
	deadline := time.Now().Add(30 * time.Second)
	for lead == nil {
		r, err := admin.ListTasks(ctx, &dispatchv1.ListTasksRequest{CaseId: caseID})
		if err != nil {
			t.Fatal(err)
		}
		for _, tk := range r.GetTasks() {
			if tk.GetRole() == eventsv1.TaskRole_TASK_ROLE_LEAD {
				lead = tk
			}
		}
		if lead == nil && time.Now().After(deadline) {
			t.Fatal("no lead task")
		}
		time.Sleep(200 * time.Millisecond)
	}
	if lead.GetDeadlines().GetAck().GetLimit() != "15m clock" {
		t.Logf("lead %s acknowledges within %s", lead.GetDepartmentCode(), lead.GetDeadlines().GetAck().GetLimit())
	}

	// dispatch dies the hard way and comes back: its timers are rows, so
	// the clock carries on where it stood.
	s.kill9(t, "dispatch")
	s.restart(t, "dispatch")

	// Ten days on: every point of the clock has passed, working days and
	// weekends included.
	setClock(t, clockFile, 240*time.Hour)
	subject := "grid.task.*." + lead.GetDepartmentCode() + ".>"
	is := func(typ string, limit eventsv1.ClockLimit) func(*eventsv1.Envelope) bool {
		return func(e *eventsv1.Envelope) bool {
			if e.GetType() != typ || e.GetCaseId() != caseID {
				return false
			}
			var step *eventsv1.ClockStep
			switch p := e.GetPayload().(type) {
			case *eventsv1.Envelope_TaskWarned:
				step = p.TaskWarned.GetStep()
			case *eventsv1.Envelope_TaskOverdue:
				step = p.TaskOverdue.GetStep()
			case *eventsv1.Envelope_TaskSupervised:
				step = p.TaskSupervised.GetStep()
			case *eventsv1.Envelope_TaskEscalated:
				step = p.TaskEscalated.GetStep()
			}
			return step.GetLimit() == limit
		}
	}
	mustEvent(t, s, subject, is("task.warned", eventsv1.ClockLimit_CLOCK_LIMIT_ACK))
	mustEvent(t, s, subject, is("task.overdue", eventsv1.ClockLimit_CLOCK_LIMIT_ACK))
	sup := mustEvent(t, s, subject, is("task.supervised", eventsv1.ClockLimit_CLOCK_LIMIT_ACK))
	if sup.GetTaskSupervised().GetStep().GetToDepartmentCode() != zhijiang+"-cyzx" {
		t.Errorf("supervised by %s, want the street desk", sup.GetTaskSupervised().GetStep().GetToDepartmentCode())
	}
	mustEvent(t, s, subject, is("task.overdue", eventsv1.ClockLimit_CLOCK_LIMIT_COMPLETE))
	esc := mustEvent(t, s, subject, is("task.escalated", eventsv1.ClockLimit_CLOCK_LIMIT_COMPLETE))
	if esc.GetTaskEscalated().GetStep().GetToDepartmentCode() != jingan+"-cyzx" {
		t.Errorf("escalated to %s, want the district desk", esc.GetTaskEscalated().GetStep().GetToDepartmentCode())
	}
	// Each point fired once, however the process lived.
	time.Sleep(2 * time.Second)
	counts := map[string]int{}
	waitEvent(t, s, subject, 5*time.Second, func(e *eventsv1.Envelope) bool {
		if e.GetCaseId() == caseID {
			counts[e.GetType()]++
		}
		return false
	})
	want := map[string]int{"task.dispatched": 1, "task.warned": 2, "task.overdue": 2, "task.supervised": 2, "task.escalated": 1}
	for typ, n := range want {
		if counts[typ] != n {
			t.Errorf("%s: %d events for the lead's task, want %d (all: %v)", typ, counts[typ], n, counts)
		}
	}
	got, err := admin.GetTask(ctx, &dispatchv1.GetTaskRequest{TaskId: lead.GetTaskId()})
	if err != nil {
		t.Fatal(err)
	}
	if tk := got.GetTask(); !tk.GetWarned() || !tk.GetOverdue() || !tk.GetSupervised() || !tk.GetEscalated() ||
		tk.GetState() != eventsv1.TaskState_TASK_STATE_DISPATCHED {
		t.Errorf("task flags after the clock ran: %v", tk)
	}
}
