package grpcapi_test

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/json"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/gridflow/gridflow/pkg/auth"
	"github.com/gridflow/gridflow/pkg/consumer"
	"github.com/gridflow/gridflow/pkg/grpcserver"
	"github.com/gridflow/gridflow/pkg/notify"
	"github.com/gridflow/gridflow/pkg/outbox"
	"github.com/gridflow/gridflow/pkg/pgdb"
	"github.com/gridflow/gridflow/pkg/reference"
	"github.com/gridflow/gridflow/pkg/testenv"
	"github.com/gridflow/gridflow/pkg/timer"
	"github.com/gridflow/gridflow/pkg/workcal"
	"github.com/gridflow/gridflow/services/dispatch/internal/events"
	"github.com/gridflow/gridflow/services/dispatch/internal/grpcapi"
	"github.com/gridflow/gridflow/services/dispatch/internal/postgres"
	"github.com/gridflow/gridflow/services/dispatch/internal/webhooks"
	"github.com/gridflow/gridflow/services/dispatch/internal/worktasks"
	"github.com/nats-io/nats.go/jetstream"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/grpc/test/bufconn"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	dispatchv1 "github.com/gridflow/gridflow/proto/gen/go/gridflow/dispatch/v1"
	eventsv1 "github.com/gridflow/gridflow/proto/gen/go/gridflow/events/v1"
	typesv1 "github.com/gridflow/gridflow/proto/gen/go/gridflow/types/v1"
)

// Grid workers' tasks (issue 20, work tasks), against real PostgreSQL and an
// in-process NATS, on a manual clock: the worker tasks' consumer, their
// timers and the webhook deliveries wired as in main.

const (
	grid1   = "310106022001001" // w-022001001's grid
	worker1 = "w-022001001"
	month   = time.Hour // an inspection month in these tests
)

// workEnv is dispatch's worker tasks with a register whose w-022001001
// notifies the test's receiver.
func workEnv(t *testing.T) (*env, *receiver, dispatchv1.WorkerTaskServiceClient) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	e := &env{t: t, ctx: ctx, stop: cancel, dbURL: testenv.DatabaseURL(t), clock: timer.NewManualClock(start)}
	e.pool = e.openPool()
	if err := pgdb.Migrate(ctx, e.pool, postgres.Schema, postgres.Migrations...); err != nil {
		t.Fatal(err)
	}
	_, e.js = testenv.JetStream(t)
	pub, priv, _ := ed25519.GenerateKey(rand.Reader)
	e.signer = auth.NewSigner(priv)

	rcv := newReceiver(t, 0)
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "gridworkers.yaml"), []byte(`workers:
  - {id: w-022001001, name: 王芳, role: worker, grids: ["310106022001001"], notify: "`+rcv.srv.URL+`"}
  - {id: w-022001002, name: 李敏, role: worker, grids: ["310106022001002"]}
`), 0o644); err != nil {
		t.Fatal(err)
	}
	set, err := reference.LoadDir(dir)
	if err != nil {
		t.Fatal(err)
	}

	relay := outbox.NewRelay(e.pool, e.js, quiet, outbox.RelayOptions{PollInterval: 20 * time.Millisecond})
	e.wg.Go(func() { _ = relay.Run(e.ctx) })
	store := postgres.New(e.pool, relay.Notify).WithRelay(relay)
	work := store.Work(events.EncodeWork, []byte("s3cret"))
	svc := worktasks.New(work, func() *reference.Set { return set }, e.clock.Now,
		worktasks.Config{RecheckLimit: workcal.Days(1), Month: month})
	// As main.go runs it (issue 17): batches, keys locked up front.
	runner, err := consumer.NewBatch(e.js, e.pool, consumer.Config{Name: events.ConsumerWorkTasks, Subjects: events.WorkTaskSubjects,
		FetchWait: 200 * time.Millisecond}, events.KeyedBatch("gridflow-dispatch-worktasks", events.WorkKey, events.WorkHandler(svc, work.Bind)), quiet)
	if err != nil {
		t.Fatal(err)
	}
	e.wg.Go(func() { _ = runner.Run(e.ctx) })
	w := timer.NewWorker(e.pool, events.WorkTimers(svc, work.Bind), timer.Options{Clock: e.clock, PollInterval: 100 * time.Millisecond,
		Scope: relay.Scope}, quiet)
	e.wg.Go(func() { _ = w.Run(e.ctx) })
	hooks := &webhooks.Worker{Queue: store, Sender: notify.NewWebhook(5*time.Second, "test"), Body: events.WebhookBody,
		Backoff: notify.Backoff{Base: 50 * time.Millisecond, Max: time.Second, Attempts: 5}, Poll: 50 * time.Millisecond, Log: quiet}
	e.wg.Go(func() { _ = hooks.Run(e.ctx) })

	srv := grpcserver.New(grpcserver.Options{Logger: quiet, Verifier: auth.NewVerifier(pub)})
	api := grpcapi.NewWorkerTasks(svc, e.clock.Now)
	dispatchv1.RegisterWorkerTaskServiceServer(srv, api)
	// A worker's ListTasks only (no department work on this server).
	dispatchv1.RegisterDispatchServiceServer(srv, grpcapi.New(nil).WithWorkerTasks(api))
	lis := bufconn.Listen(1 << 20)
	go func() { _ = srv.Serve(lis) }()
	t.Cleanup(srv.Stop)
	e.conn, err = grpc.NewClient("passthrough:///bufnet",
		grpc.WithContextDialer(func(context.Context, string) (net.Conn, error) { return lis.Dial() }),
		grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.conn.Close() })
	return e, rcv, dispatchv1.NewWorkerTaskServiceClient(e.conn)
}

// ctxAs is a context carrying p's token.
func (e *env) ctxAs(p string) context.Context {
	e.t.Helper()
	pr, err := auth.ParsePrincipal(p)
	if err != nil {
		e.t.Fatal(err)
	}
	tok, err := e.signer.Issue(pr, time.Hour)
	if err != nil {
		e.t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(e.ctx, 60*time.Second)
	e.t.Cleanup(cancel)
	return metadata.AppendToOutgoingContext(ctx, "authorization", "Bearer "+tok)
}

// publishEnv puts an envelope on the stream as its publisher would.
func (e *env) publishEnv(subject string, env *eventsv1.Envelope) {
	e.t.Helper()
	env.EventId, env.OccurredAt, env.Version = uuid.NewString(), timestamppb.New(e.clock.Now()), 1
	data, err := proto.Marshal(env)
	if err != nil {
		e.t.Fatal(err)
	}
	if _, err := e.js.Publish(e.ctx, subject, data, jetstream.WithMsgID(env.EventId)); err != nil {
		e.t.Fatal(err)
	}
}

// patrolCase publishes a patrol report of reporter in grid and its
// resolution awaiting a re-check; it returns the case id.
func (e *env) patrolCase(reporter, grid string) string {
	e.t.Helper()
	id := uuid.Must(uuid.NewV7()).String()
	a := &typesv1.Area{DistrictCode: dis, StreetCode: zj, CommunityCode: grid[:12], GridCode: grid}
	e.publishEnv("grid.case.received."+dis+"."+zj, &eventsv1.Envelope{CaseId: id, Payload: &eventsv1.Envelope_CaseReceived{
		CaseReceived: &eventsv1.CaseReceived{CaseId: id, CaseNumber: "GF-20260302-900001", Source: typesv1.Source_SOURCE_PATROL,
			WorkerId: reporter, Area: a, Title: "占道堆物"}}})
	e.publishEnv("grid.case.resolved."+dis+"."+zj, &eventsv1.Envelope{CaseId: id, Payload: &eventsv1.Envelope_CaseResolved{
		CaseResolved: &eventsv1.CaseResolved{Case: &eventsv1.FeedbackCaseRef{CaseId: id, CaseNumber: "GF-20260302-900001", Area: a,
			Source: typesv1.Source_SOURCE_PATROL, Round: 1}, AwaitingRecheck: true}}})
	return id
}

// waitWork waits until ListWorkerTasks as p answers n tasks.
func waitWork(t *testing.T, c dispatchv1.WorkerTaskServiceClient, ctx context.Context, req *dispatchv1.ListWorkerTasksRequest, n int) []*dispatchv1.WorkerTask {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		resp, err := c.ListWorkerTasks(ctx, req)
		if err != nil {
			t.Fatal(err)
		}
		if len(resp.GetTasks()) == n {
			return resp.GetTasks()
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d worker tasks, want %d: %v", len(resp.GetTasks()), n, resp.GetTasks())
		}
		time.Sleep(30 * time.Millisecond)
	}
}

// notified waits until the receiver took n notifications of an event type.
func (r *receiver) notified(t *testing.T, eventType string, n int) []try {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		var got []try
		for _, tr := range r.seen() {
			if tr.ok && tr.header.Get(notify.HeaderEventType) == eventType {
				got = append(got, tr)
			}
		}
		if len(got) >= n {
			return got
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d %s notifications, want %d", len(got), eventType, n)
		}
		time.Sleep(30 * time.Millisecond)
	}
}

func TestRecheckIsTheGridWorkersTask(t *testing.T) {
	e, rcv, c := workEnv(t)
	// Reported by another worker: the grid's worker re-checks it.
	caseID := e.patrolCase("w-0099", grid1)
	mine := &dispatchv1.ListWorkerTasksRequest{}
	tasks := waitWork(t, c, e.ctxAs("patrol:"+worker1), mine, 1)
	task := tasks[0]
	cal := refSet.Calendar()
	due, _ := cal.AddWorking(start, workcal.Days(1))
	if task.GetKind() != dispatchv1.WorkerTaskKind_WORKER_TASK_KIND_RECHECK || task.GetCaseId() != caseID || task.GetWorkerId() != worker1 ||
		!task.GetDueAt().AsTime().Equal(due) || task.GetSlaLight() != dispatchv1.SlaLight_SLA_LIGHT_GREEN ||
		task.GetState() != dispatchv1.WorkerTaskState_WORKER_TASK_STATE_OPEN {
		t.Fatalf("re-check task %v, want worker %s's open re-check of %s due %v, green", task, worker1, caseID, due)
	}
	// The reporter has none; it may not read another worker's list; a
	// street's dispatcher reads its street's, another street's nothing.
	waitWork(t, c, e.ctxAs("patrol:w-0099"), mine, 0)
	if _, err := c.ListWorkerTasks(e.ctxAs("patrol:w-0099"), &dispatchv1.ListWorkerTasksRequest{WorkerId: worker1}); code(err) != codes.PermissionDenied {
		t.Errorf("a worker listing another's tasks: %v, want PERMISSION_DENIED", err)
	}
	waitWork(t, c, e.ctxAs("dispatcher:"+zj), mine, 1)
	waitWork(t, c, e.ctxAs("dispatcher:"+lf), mine, 0)
	if _, err := c.ListWorkerTasks(e.ctxAs("department:zj-cg"), mine); code(err) != codes.PermissionDenied {
		t.Errorf("a department listing worker tasks: %v, want PERMISSION_DENIED", err)
	}

	// DispatchService.ListTasks answers a worker its worker tasks too.
	lt, err := dispatchv1.NewDispatchServiceClient(e.conn).ListTasks(e.ctxAs("patrol:"+worker1), &dispatchv1.ListTasksRequest{})
	if err != nil || len(lt.GetTasks()) != 1 || lt.GetTasks()[0].GetTaskId() != task.GetTaskId() || lt.GetTasks()[0].GetDepartmentCode() != "worker" ||
		!lt.GetTasks()[0].GetDeadlines().GetComplete().GetDue().AsTime().Equal(due) {
		t.Errorf("ListTasks as the worker: %v, %v; want its re-check as a task of the unit worker", lt.GetTasks(), err)
	}
	lt, err = dispatchv1.NewDispatchServiceClient(e.conn).ListTasks(e.ctxAs("patrol:w-0099"), &dispatchv1.ListTasksRequest{})
	if err != nil || len(lt.GetTasks()) != 0 {
		t.Errorf("ListTasks as the reporter: %v, %v; want none", lt.GetTasks(), err)
	}

	// Assigned: the event on the worker token, and the worker notified.
	dispatched := e.events("grid.task.dispatched.worker."+dis+"."+zj, 1)
	if ref := dispatched[0].GetTaskDispatched().GetTask(); ref.GetWorkerId() != worker1 || ref.GetKind() != "recheck" || ref.GetCaseId() != caseID {
		t.Errorf("task.dispatched names %v", ref)
	}
	got := rcv.notified(t, "task.dispatched", 1)
	if err := notify.Verify([]byte("s3cret"), got[0].header, got[0].body, time.Now(), time.Minute); err != nil {
		t.Errorf("notification signature: %v", err)
	}
	var body map[string]any
	if err := json.Unmarshal(got[0].body, &body); err != nil || body["case_id"] != caseID {
		t.Errorf("notification body %s (%v), want the envelope of case %s", got[0].body, err, caseID)
	}

	// 80 % of the limit: warned and notified; past due: overdue, escalated
	// to the street's desk, and notified.
	warnAt := task.GetWarnAt().AsTime()
	e.clock.Set(warnAt.Add(time.Second))
	e.events("grid.task.warned.worker."+dis+"."+zj, 1)
	rcv.notified(t, "task.warned", 1)
	waitWork(t, c, e.ctxAs("patrol:"+worker1), mine, 1)
	if l := waitWork(t, c, e.ctxAs("patrol:"+worker1), mine, 1)[0].GetSlaLight(); l != dispatchv1.SlaLight_SLA_LIGHT_YELLOW {
		t.Errorf("light after the warning: %v, want yellow", l)
	}
	e.clock.Set(due.Add(time.Second))
	esc := e.events("grid.task.escalated.worker."+dis+"."+zj, 1)
	if to := esc[0].GetTaskEscalated().GetStep().GetToDepartmentCode(); to != "dispatcher:"+zj {
		t.Errorf("escalated to %q, want the street desk", to)
	}
	e.events("grid.task.overdue.worker."+dis+"."+zj, 1)
	rcv.notified(t, "task.escalated", 1)

	// feedback records the re-check: the task closes, late.
	e.publishEnv("grid.case.rechecked."+dis+"."+zj, &eventsv1.Envelope{CaseId: caseID, Payload: &eventsv1.Envelope_CaseRechecked{
		CaseRechecked: &eventsv1.CaseRechecked{Case: &eventsv1.FeedbackCaseRef{CaseId: caseID, Round: 1}, Passed: true, WorkerId: worker1}}})
	e.events("grid.task.completed.worker."+dis+"."+zj, 1)
	waitWork(t, c, e.ctxAs("patrol:"+worker1), mine, 0)
	all := waitWork(t, c, e.ctxAs("patrol:"+worker1), &dispatchv1.ListWorkerTasksRequest{IncludeClosed: true}, 1)
	if all[0].GetState() != dispatchv1.WorkerTaskState_WORKER_TASK_STATE_DONE || all[0].GetOnTime() || !all[0].GetEscalated() {
		t.Errorf("closed re-check %v, want done, late, escalated", all[0])
	}
}

func TestRecheckWithdrawnWhenTheCaseReopens(t *testing.T) {
	e, _, c := workEnv(t)
	// A grid with no worker in the register: the reporter re-checks.
	caseID := e.patrolCase("w-0099", "310106022003001")
	mine := &dispatchv1.ListWorkerTasksRequest{}
	waitWork(t, c, e.ctxAs("patrol:w-0099"), mine, 1)
	e.publishEnv("grid.case.reopened."+dis+"."+zj, &eventsv1.Envelope{CaseId: caseID, Payload: &eventsv1.Envelope_CaseReopened{
		CaseReopened: &eventsv1.CaseReopened{Case: &eventsv1.FeedbackCaseRef{CaseId: caseID, Round: 2}}}})
	e.events("grid.task.withdrawn.worker."+dis+"."+zj, 1)
	waitWork(t, c, e.ctxAs("patrol:w-0099"), mine, 0)
}

func (e *env) place(key string, version uint64, every uint32, retired bool) {
	e.t.Helper()
	e.publishEnv("grid.place.upserted."+dis+"."+zj, &eventsv1.Envelope{Payload: &eventsv1.Envelope_PlaceUpserted{
		PlaceUpserted: &eventsv1.PlaceUpserted{PlaceKey: key, Name: "好再来饭店", Kind: "restaurant", Status: "active", District: dis,
			Street: zj, Community: grid1[:12], Grid: grid1, InspectionEveryMonths: every, Version: version, Retired: retired}}})
}

func TestInspectionsComeDueAreRecordedAndMissed(t *testing.T) {
	e, _, c := workEnv(t)
	key := "310106022|长乐路|340|" + uuid.NewString()[:8]
	e.place(key, 1, 1, false)
	mine := &dispatchv1.ListWorkerTasksRequest{}
	ctx := e.ctxAs("patrol:" + worker1)
	// Registered now: nothing due until one (test) month has passed.
	time.Sleep(300 * time.Millisecond)
	waitWork(t, c, ctx, mine, 0)
	e.clock.Set(start.Add(month + time.Second))
	first := waitWork(t, c, ctx, mine, 1)[0]
	if first.GetKind() != dispatchv1.WorkerTaskKind_WORKER_TASK_KIND_INSPECTION || first.GetPlaceKey() != key ||
		!first.GetDueAt().AsTime().Equal(start.Add(2*month)) {
		t.Fatalf("inspection %v, want %s's, due at the next period", first, key)
	}

	// Bad input names its field; another worker's record finds nothing.
	_, err := c.RecordInspection(ctx, &dispatchv1.RecordInspectionRequest{RequestId: "r1", TaskId: first.GetTaskId()})
	if st, _ := status.FromError(err); st.Code() != codes.InvalidArgument || !violates(st, "outcome") {
		t.Errorf("no outcome: %v, want INVALID_ARGUMENT on outcome", err)
	}
	_, err = c.RecordInspection(e.ctxAs("patrol:w-022001002"), &dispatchv1.RecordInspectionRequest{RequestId: "r1", TaskId: first.GetTaskId(),
		Outcome: dispatchv1.InspectionOutcome_INSPECTION_OUTCOME_OK})
	if code(err) != codes.NotFound {
		t.Errorf("another worker records it: %v, want NOT_FOUND", err)
	}
	finding := uuid.NewString()
	req := &dispatchv1.RecordInspectionRequest{RequestId: "r1", TaskId: first.GetTaskId(),
		Outcome: dispatchv1.InspectionOutcome_INSPECTION_OUTCOME_FINDING, Note: "灭火器过期", CaseId: finding}
	resp, err := c.RecordInspection(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	if tk := resp.GetTask(); tk.GetState() != dispatchv1.WorkerTaskState_WORKER_TASK_STATE_DONE || !tk.GetOnTime() || tk.GetFindingCaseId() != finding {
		t.Errorf("recorded %v, want done on time with its finding's case", tk)
	}
	if again, err := c.RecordInspection(ctx, req); err != nil || again.GetTask().GetTaskId() != first.GetTaskId() {
		t.Errorf("repeated request: %v, %v; want the first answer", again, err)
	}
	rec := e.events("grid.task.inspection_recorded.worker."+dis+"."+zj, 1)
	if r := rec[0].GetTaskInspectionRecorded(); r.GetPlaceKey() != key || r.GetOutcome() != "finding" || !r.GetOnTime() || r.GetCaseId() != finding {
		t.Errorf("inspection_recorded %v", r)
	}
	if _, err := c.RecordInspection(ctx, &dispatchv1.RecordInspectionRequest{RequestId: "r2", TaskId: first.GetTaskId(),
		Outcome: dispatchv1.InspectionOutcome_INSPECTION_OUTCOME_OK}); code(err) != codes.FailedPrecondition {
		t.Errorf("recording a done inspection again: %v, want FAILED_PRECONDITION", err)
	}

	// The second comes due and passes unrecorded: missed once, the third opens.
	e.clock.Set(start.Add(2*month + time.Second))
	second := waitWork(t, c, ctx, mine, 1)[0]
	e.clock.Set(start.Add(3*month + time.Second))
	missed := e.events("grid.task.inspection_missed.worker."+dis+"."+zj, 1)
	if m := missed[0].GetTaskInspectionMissed(); m.GetInspectionId() != second.GetTaskId() || m.GetWorkerId() != worker1 {
		t.Errorf("inspection_missed %v, want the second inspection %s", m, second.GetTaskId())
	}
	third := waitWork(t, c, ctx, mine, 1)[0]
	if third.GetTaskId() == second.GetTaskId() {
		t.Errorf("no new inspection after the missed one")
	}

	// Retired: its schedule stops and the open inspection is withdrawn.
	e.place(key, 2, 1, true)
	waitWork(t, c, ctx, mine, 0)
	e.clock.Set(start.Add(5*month + time.Second))
	time.Sleep(300 * time.Millisecond)
	if n := len(e.events("grid.task.inspection_missed.worker."+dis+"."+zj, 1)); n != 1 {
		t.Errorf("%d missed inspections after retirement, want still 1", n)
	}
}

// violates reports whether a status names field among its violations.
func violates(st *status.Status, field string) bool {
	for _, d := range st.Details() {
		if br, ok := d.(*errdetails.BadRequest); ok {
			for _, v := range br.GetFieldViolations() {
				if v.GetField() == field {
					return true
				}
			}
		}
	}
	return false
}
