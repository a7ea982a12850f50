package grpcapi_test

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"fmt"
	"io"
	"log/slog"
	"net"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/gridflow/gridflow/pkg/auth"
	"github.com/gridflow/gridflow/pkg/consumer"
	"github.com/gridflow/gridflow/pkg/grpcserver"
	"github.com/gridflow/gridflow/pkg/natsjs"
	"github.com/gridflow/gridflow/pkg/outbox"
	"github.com/gridflow/gridflow/pkg/pgdb"
	"github.com/gridflow/gridflow/pkg/reference"
	"github.com/gridflow/gridflow/pkg/reloadlog"
	"github.com/gridflow/gridflow/pkg/testenv"
	"github.com/gridflow/gridflow/pkg/timer"
	"github.com/gridflow/gridflow/services/dispatch/internal/clock"
	"github.com/gridflow/gridflow/services/dispatch/internal/dispatch"
	"github.com/gridflow/gridflow/services/dispatch/internal/events"
	"github.com/gridflow/gridflow/services/dispatch/internal/feed"
	"github.com/gridflow/gridflow/services/dispatch/internal/grpcapi"
	"github.com/gridflow/gridflow/services/dispatch/internal/postgres"
	"github.com/gridflow/gridflow/services/dispatch/internal/webhooks"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
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

const (
	zj  = "310106022" // 芷江西路街道
	lf  = "310106021" // 临汾路街道
	dis = "310106"
)

var shanghai, _ = time.LoadLocation("Asia/Shanghai")

// start is a Monday morning: working time.
var start = time.Date(2026, 3, 2, 10, 0, 0, 0, shanghai)

// env is dispatch wired as in main — store, service, consumer, clock,
// relay — over bufconn, against real PostgreSQL and an in-process NATS,
// on a manual clock.
type env struct {
	t      *testing.T
	ctx    context.Context
	stop   context.CancelFunc
	wg     sync.WaitGroup
	pool   *pgxpool.Pool
	js     jetstream.JetStream
	clock  *timer.ManualClock
	signer *auth.Signer
	conn   *grpc.ClientConn
	dbURL  string
}

func setup(t *testing.T) *env {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	e := &env{t: t, ctx: ctx, stop: cancel, dbURL: testenv.DatabaseURL(t), clock: timer.NewManualClock(start)}
	e.pool = e.openPool()
	if err := pgdb.Migrate(ctx, e.pool, postgres.Schema, postgres.Migrations...); err != nil {
		t.Fatal(err)
	}
	_, js := testenv.JetStream(t)
	e.js = js
	pub, priv, _ := ed25519.GenerateKey(rand.Reader)
	e.signer = auth.NewSigner(priv)
	svc := e.replica(e.pool)
	srv := grpcserver.New(grpcserver.Options{Logger: quiet, Verifier: auth.NewVerifier(pub)})
	dispatchv1.RegisterDispatchServiceServer(srv, grpcapi.New(svc))
	// Source place coordination (issue 20).
	dispatchv1.RegisterCoordinationServiceServer(srv, grpcapi.NewCoordination(svc))
	// Webhooks (issue 19).
	dispatchv1.RegisterWebhookServiceServer(srv, grpcapi.NewWebhooks(webhooks.New(postgres.New(e.pool, nil), events.TaskEventNames(), e.clock.Now)))
	lis := bufconn.Listen(1 << 20)
	go func() { _ = srv.Serve(lis) }()
	t.Cleanup(srv.Stop)
	var err error
	e.conn, err = grpc.NewClient("passthrough:///bufnet",
		grpc.WithContextDialer(func(context.Context, string) (net.Conn, error) { return lis.Dial() }),
		grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.conn.Close() })
	return e
}

func (e *env) openPool() *pgxpool.Pool {
	pool, err := pgdb.Open(e.ctx, e.dbURL, postgres.Schema, 8)
	if err != nil {
		e.t.Fatal(err)
	}
	e.t.Cleanup(func() {
		// Background work stops before any pool closes.
		e.stop()
		e.wg.Wait()
		pool.Close()
	})
	return pool
}

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

var refSet = func() *reference.Set {
	s, err := reference.LoadDefault()
	if err != nil {
		panic(err)
	}
	return s
}()

// replica starts what one dispatch process runs besides its gRPC server:
// the relay, the consumer and the clock's worker, on pool.
func (e *env) replica(pool *pgxpool.Pool) *dispatch.Service {
	ref := func() *reference.Set { return refSet }
	relay := outbox.NewRelay(pool, e.js, quiet, outbox.RelayOptions{PollInterval: 20 * time.Millisecond})
	e.wg.Go(func() { _ = relay.Run(e.ctx) })
	store := postgres.New(pool, relay.Notify)
	svc := dispatch.New(store, events.Encode, feed.New(e.js), ref, e.clock.Now, dispatch.DefaultPolicy())
	svc.ListsReloadsFrom(reloadlog.New(pool, "dispatch"))
	// Source place coordination (issue 20): its store and its consumer.
	svc.WithCoordination(store)
	co, err := consumer.NewBatch(e.js, pool, consumer.Config{Name: events.CoordinationConsumerName, Subjects: events.CoordinationSubjects,
		FetchWait: 200 * time.Millisecond}, events.KeyedBatch("gridflow-dispatch-coordination", events.CoordinationKey,
		events.CoordinationHandler(postgres.ApplyCoordination)), quiet)
	if err != nil {
		e.t.Fatal(err)
	}
	e.wg.Go(func() { _ = co.Run(e.ctx) })
	h := events.NewHandlers(store, svc.Env)
	// As main.go runs it (issue 17): batches, a case's events by one worker.
	runner, err := consumer.NewBatch(e.js, pool, consumer.Config{Name: events.ConsumerName, Subjects: events.ConsumerSubjects,
		Concurrency: 4, FetchWait: 200 * time.Millisecond, OrderKey: events.OrderKey}, h.HandleBatch(
		func(ctx context.Context, tx pgx.Tx, ids []string, create map[string]bool, now time.Time) (events.CaseSet, error) {
			return store.LockCases(ctx, tx, ids, create, now)
		}), quiet)
	if err != nil {
		e.t.Fatal(err)
	}
	e.wg.Go(func() { _ = runner.Run(e.ctx) })
	w := timer.NewWorker(pool, clock.Handlers(store, svc.Env), timer.Options{Clock: e.clock, PollInterval: 100 * time.Millisecond}, quiet)
	e.wg.Go(func() { _ = w.Run(e.ctx) })
	return svc
}

// as returns a client and a context carrying p's token.
func (e *env) as(p string) (dispatchv1.DispatchServiceClient, context.Context) {
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
	return dispatchv1.NewDispatchServiceClient(e.conn), metadata.AppendToOutgoingContext(ctx, "authorization", "Bearer "+tok)
}

// publish puts an event on the stream as intake or classify would.
func (e *env) publish(subject, caseID string, payload any) string {
	e.t.Helper()
	env := &eventsv1.Envelope{EventId: uuid.NewString(), CaseId: caseID, OccurredAt: timestamppb.New(e.clock.Now()), Version: 1}
	switch p := payload.(type) {
	case *eventsv1.CaseReceived:
		env.Type, env.Payload = "case.received", &eventsv1.Envelope_CaseReceived{CaseReceived: p}
	case *eventsv1.CaseClassified:
		env.Type, env.Payload = "case.classified", &eventsv1.Envelope_CaseClassified{CaseClassified: p}
	case *eventsv1.CaseFollowedUp:
		env.Type, env.Payload = "case.followed_up", &eventsv1.Envelope_CaseFollowedUp{CaseFollowedUp: p}
	// Source place coordination (issue 20).
	case *eventsv1.IncidentLinked:
		env.Type, env.Payload = "incident.linked", &eventsv1.Envelope_IncidentLinked{IncidentLinked: p}
	case *eventsv1.SourcePlaceLeadChanged:
		env.Type, env.Payload = "incident.source_place_lead", &eventsv1.Envelope_IncidentSourcePlaceLead{IncidentSourcePlaceLead: p}
	default:
		e.t.Fatalf("publish %T", payload)
	}
	data, err := proto.Marshal(env)
	if err != nil {
		e.t.Fatal(err)
	}
	if _, err := e.js.Publish(e.ctx, subject, data, jetstream.WithMsgID(env.EventId)); err != nil {
		e.t.Fatal(err)
	}
	return env.EventId
}

func area(street string) *typesv1.Area {
	return &typesv1.Area{DistrictCode: dis, StreetCode: street, CommunityCode: "0", GridCode: "0"}
}

// newCase publishes case.received and version 1 of case.classified for a
// complaint of item in street, and returns the case id.
func (e *env) newCase(item, street string, dispatchable bool) string {
	e.t.Helper()
	id := uuid.Must(uuid.NewV7()).String()
	number := fmt.Sprintf("GF-20260302-%06d", time.Now().UnixNano()%1000000)
	e.publish("grid.case.received."+dis+"."+street, id, &eventsv1.CaseReceived{CaseId: id, CaseNumber: number,
		Source: typesv1.Source_SOURCE_HOTLINE, ReceivedAt: timestamppb.New(start), AppealType: typesv1.AppealType_APPEAL_TYPE_COMPLAINT,
		Title: "噪声扰民", Content: "楼下商铺每天音响很吵", Urgency: typesv1.Urgency_URGENCY_NORMAL, Area: area(street),
		Caller: &eventsv1.Caller{Name: "张三", Phone: "13800000000"}})
	e.classify(id, number, 1, item, street, typesv1.Urgency_URGENCY_NORMAL, dispatchable)
	return id
}

func (e *env) classify(id, number string, version uint32, item, street string, u typesv1.Urgency, dispatchable bool) {
	e.publish("grid.case.classified."+dis+"."+street, id, &eventsv1.CaseClassified{CaseId: id, CaseNumber: number,
		ClassificationVersion: version, ItemCode: item, Urgency: u, Dispatchable: dispatchable, Area: area(street),
		Source: typesv1.Source_SOURCE_HOTLINE, AppealType: typesv1.AppealType_APPEAL_TYPE_COMPLAINT, ReceivedAt: timestamppb.New(start),
		Confidence: 1})
}

// waitTasks waits until the case has n tasks in one of the states (any
// state when none given), as seen by admin.
func (e *env) waitTasks(caseID string, n int, states ...eventsv1.TaskState) []*dispatchv1.Task {
	e.t.Helper()
	c, ctx := e.as("admin")
	deadline := time.Now().Add(20 * time.Second)
	for {
		resp, err := c.ListTasks(ctx, &dispatchv1.ListTasksRequest{CaseId: caseID, States: states})
		if err != nil {
			e.t.Fatal(err)
		}
		if len(resp.GetTasks()) == n {
			return resp.GetTasks()
		}
		if time.Now().After(deadline) {
			e.t.Fatalf("case %s: %d tasks in %v, want %d", caseID, len(resp.GetTasks()), states, n)
		}
		time.Sleep(30 * time.Millisecond)
	}
}

// events reads every event on the stream matching subject, waiting until
// there are at least want.
func (e *env) events(subject string, want int) []*eventsv1.Envelope {
	e.t.Helper()
	ctx, cancel := context.WithTimeout(e.ctx, 20*time.Second)
	defer cancel()
	for {
		var out []*eventsv1.Envelope
		cons, err := e.js.OrderedConsumer(ctx, natsjs.StreamGrid, jetstream.OrderedConsumerConfig{FilterSubjects: []string{subject}})
		if err != nil {
			e.t.Fatal(err)
		}
		for {
			b, err := cons.Fetch(1000, jetstream.FetchMaxWait(300*time.Millisecond))
			if err != nil {
				e.t.Fatal(err)
			}
			n := 0
			for m := range b.Messages() {
				n++
				var env eventsv1.Envelope
				if err := proto.Unmarshal(m.Data(), &env); err != nil {
					e.t.Fatal(err)
				}
				out = append(out, &env)
			}
			if n == 0 {
				break
			}
		}
		if len(out) >= want {
			return out
		}
		if ctx.Err() != nil {
			e.t.Fatalf("%s: %d events, want %d", subject, len(out), want)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func code(err error) codes.Code { return status.Code(err) }

func TestDepartmentWorksItsTask(t *testing.T) {
	e := setup(t)
	caseID := e.newCase("H04001", zj, true) // 噪声: the street's police station leads
	tasks := e.waitTasks(caseID, 1)
	task := tasks[0]
	if task.GetDepartmentCode() != zj+"-pcs" || task.GetState() != eventsv1.TaskState_TASK_STATE_DISPATCHED {
		t.Fatalf("task %v", task)
	}
	// The dispatched event: on the department's subject, without the caller.
	evs := e.events("grid.task.dispatched."+zj+"-pcs."+dis+"."+zj, 1)
	d := evs[0].GetTaskDispatched()
	if d.GetTask().GetTaskId() != task.GetTaskId() || d.GetRule() != "noise" || d.GetSummary().GetItemCode() != "H04001" {
		t.Fatalf("dispatched %v", d)
	}
	for _, ev := range evs {
		b, _ := proto.Marshal(ev)
		for _, personal := range []string{"张三", "13800000000", "音响"} {
			if bytes.Contains(b, []byte(personal)) {
				t.Fatalf("task event carries personal data or the citizen's text (%s)", personal)
			}
		}
	}

	pcs, ctx := e.as("department:" + zj + "-pcs")
	other, octx := e.as("department:" + lf + "-pcs")
	// Another department sees nothing of it.
	if _, err := other.GetTask(octx, &dispatchv1.GetTaskRequest{TaskId: task.GetTaskId()}); code(err) != codes.PermissionDenied {
		t.Fatalf("other department GetTask: %v", err)
	}
	if _, err := other.AcknowledgeTask(octx, &dispatchv1.AcknowledgeTaskRequest{RequestId: "x", TaskId: task.GetTaskId()}); code(err) != codes.PermissionDenied {
		t.Fatalf("other department acknowledging: %v", err)
	}
	if resp, err := other.ListTasks(octx, &dispatchv1.ListTasksRequest{}); err != nil || len(resp.GetTasks()) != 0 {
		t.Fatalf("other department lists %v, %v", resp, err)
	}
	// The unit sees the case text, never the caller.
	got, err := pcs.GetTask(ctx, &dispatchv1.GetTaskRequest{TaskId: task.GetTaskId()})
	if err != nil || got.GetTask().GetCase().GetContent() == "" {
		t.Fatalf("GetTask: %v %v", got, err)
	}
	// Completing before signing for it is not in the table.
	if _, err := pcs.CompleteTask(ctx, &dispatchv1.CompleteTaskRequest{RequestId: "c0", TaskId: task.GetTaskId(), Result: "x"}); code(err) != codes.FailedPrecondition {
		t.Fatalf("complete before ack: %v", err)
	}
	ack := &dispatchv1.AcknowledgeTaskRequest{RequestId: "ack-1", TaskId: task.GetTaskId(), Note: "已签收"}
	a1, err := pcs.AcknowledgeTask(ctx, ack)
	if err != nil {
		t.Fatal(err)
	}
	// A repeated request id returns the first result, once.
	e.clock.Advance(time.Minute)
	a2, err := pcs.AcknowledgeTask(ctx, ack)
	if err != nil || !proto.Equal(a1, a2) {
		t.Fatalf("repeat: %v\n%v\n%v", err, a1, a2)
	}
	ack2 := proto.Clone(ack).(*dispatchv1.AcknowledgeTaskRequest)
	ack2.Note = "other"
	if _, err := pcs.AcknowledgeTask(ctx, ack2); code(err) != codes.AlreadyExists {
		t.Fatalf("same id, other content: %v", err)
	}
	// Acknowledging again under a new id is a transition the table lacks.
	if _, err := pcs.AcknowledgeTask(ctx, &dispatchv1.AcknowledgeTaskRequest{RequestId: "ack-2", TaskId: task.GetTaskId()}); code(err) != codes.FailedPrecondition {
		t.Fatalf("second ack: %v", err)
	}
	newDue := task.GetDeadlines().GetComplete().GetDue().AsTime().Add(72 * time.Hour)
	if _, err := pcs.RequestExtension(ctx, &dispatchv1.RequestExtensionRequest{RequestId: "ext", TaskId: task.GetTaskId(),
		NewDue: timestamppb.New(newDue), Reason: "需联系业主"}); err != nil {
		t.Fatal(err)
	}
	// The dispatcher of another street may not decide it; the street's may.
	lfd, lctx := e.as("dispatcher:" + lf)
	dec := &dispatchv1.DecideExtensionRequest{RequestId: "dec", TaskId: task.GetTaskId(), Decision: dispatchv1.ExtensionDecision_EXTENSION_DECISION_GRANT}
	if _, err := lfd.DecideExtension(lctx, dec); code(err) != codes.PermissionDenied {
		t.Fatalf("other street's dispatcher: %v", err)
	}
	if _, err := pcs.DecideExtension(ctx, dec); code(err) != codes.PermissionDenied {
		t.Fatalf("department deciding its own extension: %v", err)
	}
	zjd, zctx := e.as("dispatcher:" + zj)
	granted, err := zjd.DecideExtension(zctx, dec)
	if err != nil {
		t.Fatal(err)
	}
	if !granted.GetTask().GetDeadlines().GetComplete().GetDue().AsTime().Equal(newDue) {
		t.Fatalf("granted due %v", granted.GetTask().GetDeadlines().GetComplete())
	}
	if _, err := pcs.ReportProgress(ctx, &dispatchv1.ReportProgressRequest{RequestId: "p1", TaskId: task.GetTaskId(), Text: "已约谈商户"}); err != nil {
		t.Fatal(err)
	}
	done, err := pcs.CompleteTask(ctx, &dispatchv1.CompleteTaskRequest{RequestId: "done", TaskId: task.GetTaskId(),
		Result: "商户已整改", Evidence: []string{"s3://evidence/after.jpg"}})
	if err != nil || done.GetTask().GetState() != eventsv1.TaskState_TASK_STATE_COMPLETED {
		t.Fatalf("complete: %v %v", done, err)
	}
	types := map[string]int{}
	for _, ev := range e.events("grid.task.*."+zj+"-pcs.>", 7) {
		types[ev.GetType()]++
	}
	want := map[string]int{"task.dispatched": 1, "task.acknowledged": 1, "task.extension_requested": 1, "task.extension_decided": 1,
		"task.deadline_changed": 1, "task.progress_reported": 1, "task.completed": 1}
	for k, v := range want {
		if types[k] != v {
			t.Errorf("%s: %d events, want %d (all: %v)", k, types[k], v, types)
		}
	}
}

func TestNotMyAreaRedecidedAndWatched(t *testing.T) {
	e := setup(t)
	caseID := e.newCase("H04001", zj, true)
	task := e.waitTasks(caseID, 1)[0]

	// The right unit watches its tasks from the beginning of the stream.
	lfp, lctx := e.as("department:" + lf + "-pcs")
	wctx, stopWatch := context.WithCancel(lctx)
	defer stopWatch()
	stream, err := lfp.WatchTasks(wctx, &dispatchv1.WatchTasksRequest{Cursor: "0"})
	if err != nil {
		t.Fatal(err)
	}

	pcs, ctx := e.as("department:" + zj + "-pcs")
	resp, err := pcs.RejectTask(ctx, &dispatchv1.RejectTaskRequest{RequestId: "r1", TaskId: task.GetTaskId(),
		Reason: eventsv1.RejectReason_REJECT_REASON_NOT_MY_AREA, AreaCode: lf, Note: "该地址属临汾路"})
	if err != nil {
		t.Fatal(err)
	}
	nt := resp.GetNewTask()
	if resp.GetOutcome() != dispatchv1.RejectOutcome_REJECT_OUTCOME_REDECIDED || nt.GetDepartmentCode() != lf+"-pcs" {
		t.Fatalf("reject: %v", resp)
	}
	if !proto.Equal(nt.GetDeadlines(), task.GetDeadlines()) {
		t.Fatalf("deadlines changed on re-decision:\n%v\n%v", task.GetDeadlines(), nt.GetDeadlines())
	}
	first, err := stream.Recv()
	if err != nil {
		t.Fatal(err)
	}
	if first.GetEvent().GetType() != "task.dispatched" || first.GetEvent().GetTaskDispatched().GetTask().GetTaskId() != nt.GetTaskId() {
		t.Fatalf("watched %v", first)
	}
	stopWatch()

	// Withdrawn while nobody watches: resuming from the cursor shows it.
	e.publish("grid.case.followed_up."+dis+"."+lf, caseID, &eventsv1.CaseFollowedUp{CaseId: caseID, FollowUpId: "fu-1",
		Kind: eventsv1.FollowUpKind_FOLLOW_UP_KIND_WITHDRAW, Text: "市民撤单"})
	e.waitTasks(caseID, 1, eventsv1.TaskState_TASK_STATE_WITHDRAWN)
	stream2, err := lfp.WatchTasks(lctx, &dispatchv1.WatchTasksRequest{Cursor: first.GetCursor()})
	if err != nil {
		t.Fatal(err)
	}
	next, err := stream2.Recv()
	if err != nil {
		t.Fatal(err)
	}
	if next.GetEvent().GetType() != "task.withdrawn" || next.GetEvent().GetTaskWithdrawn().GetReason() != eventsv1.WithdrawReason_WITHDRAW_REASON_HOTLINE_WITHDREW {
		t.Fatalf("resumed with %v", next)
	}
	// A department watches only its own.
	if s, err := lfp.WatchTasks(lctx, &dispatchv1.WatchTasksRequest{DepartmentCode: zj + "-pcs"}); err == nil {
		if _, err := s.Recv(); code(err) != codes.PermissionDenied {
			t.Fatalf("watching another department: %v", err)
		}
	}
}

func TestRejectionsQueueThenArbitration(t *testing.T) {
	e := setup(t)
	caseID := e.newCase("H04001", zj, true)
	task := e.waitTasks(caseID, 1)[0]
	pcs, ctx := e.as("department:" + zj + "-pcs")
	r, err := pcs.RejectTask(ctx, &dispatchv1.RejectTaskRequest{RequestId: "r1", TaskId: task.GetTaskId(),
		Reason: eventsv1.RejectReason_REJECT_REASON_NOT_MY_DUTY})
	if err != nil || r.GetOutcome() != dispatchv1.RejectOutcome_REJECT_OUTCOME_QUEUED {
		t.Fatalf("reject: %v %v", r, err)
	}
	zjd, zctx := e.as("dispatcher:" + zj)
	q, err := zjd.ListDispatchQueue(zctx, &dispatchv1.ListDispatchQueueRequest{})
	if err != nil || len(q.GetEntries()) != 1 || q.GetEntries()[0].GetReason() != dispatchv1.QueueReason_QUEUE_REASON_REJECTED {
		t.Fatalf("queue: %v %v", q, err)
	}
	lfd, lctx := e.as("dispatcher:" + lf)
	if q, err := lfd.ListDispatchQueue(lctx, &dispatchv1.ListDispatchQueueRequest{}); err != nil || len(q.GetEntries()) != 0 {
		t.Fatalf("other street's queue: %v %v", q, err)
	}
	if _, err := pcs.ListDispatchQueue(ctx, &dispatchv1.ListDispatchQueueRequest{}); code(err) != codes.PermissionDenied {
		t.Fatalf("a department listing the queue: %v", err)
	}
	// A noise case goes only to a unit holding public_security.
	_, err = zjd.Reassign(zctx, &dispatchv1.ReassignRequest{RequestId: "ra0", CaseId: caseID, DepartmentCode: "310106-jyj"})
	if code(err) != codes.FailedPrecondition || !strings.Contains(status.Convert(err).Message(), "lacks power public_security") {
		t.Fatalf("reassign to the education bureau: %v", err)
	}
	nt, err := zjd.Reassign(zctx, &dispatchv1.ReassignRequest{RequestId: "ra", CaseId: caseID, DepartmentCode: "310106-gafj"})
	if err != nil {
		t.Fatal(err)
	}
	cg, cctx := e.as("department:310106-gafj")
	r, err = cg.RejectTask(cctx, &dispatchv1.RejectTaskRequest{RequestId: "r2", TaskId: nt.GetTask().GetTaskId(),
		Reason: eventsv1.RejectReason_REJECT_REASON_UNCLEAR_OWNERSHIP})
	if err != nil || r.GetOutcome() != dispatchv1.RejectOutcome_REJECT_OUTCOME_ARBITRATION {
		t.Fatalf("second reject: %v %v", r, err)
	}
	dd, dctx := e.as("district:" + dis)
	arb, err := dd.ListArbitration(dctx, &dispatchv1.ListArbitrationRequest{})
	if err != nil || len(arb.GetArbitrations()) != 1 || len(arb.GetArbitrations()[0].GetRejections()) != 2 {
		t.Fatalf("arbitration: %v %v", arb, err)
	}
	_, err = dd.Arbitrate(dctx, &dispatchv1.ArbitrateRequest{RequestId: "arb0", CaseId: caseID, DepartmentCode: "310106-jyj"})
	if code(err) != codes.FailedPrecondition || !strings.Contains(status.Convert(err).Message(), "lacks power public_security") {
		t.Fatalf("arbitrate to the education bureau: %v", err)
	}
	a, err := dd.Arbitrate(dctx, &dispatchv1.ArbitrateRequest{RequestId: "arb", CaseId: caseID, DepartmentCode: zj + "-pcs", Note: "派出所牵头"})
	if err != nil || a.GetTask().GetDispatchReason() != eventsv1.DispatchReason_DISPATCH_REASON_ARBITRATED {
		t.Fatalf("arbitrate: %v %v", a, err)
	}
	e.events("grid.case.arbitrated."+dis+"."+zj, 1)
}

func TestClassificationVersionsOutOfOrder(t *testing.T) {
	e := setup(t)
	id := uuid.Must(uuid.NewV7()).String()
	// Version 2 (sanitation) arrives first, without case.received yet.
	e.classify(id, "GF-1", 2, "06010", zj, typesv1.Urgency_URGENCY_NORMAL, true)
	e.classify(id, "GF-1", 1, "H04001", zj, typesv1.Urgency_URGENCY_NORMAL, true)
	e.publish("grid.case.received."+dis+"."+zj, id, &eventsv1.CaseReceived{CaseId: id, CaseNumber: "GF-1",
		ReceivedAt: timestamppb.New(start), Area: area(zj), Source: typesv1.Source_SOURCE_HOTLINE})
	// Whatever order the three events were handled in, the case ends
	// routed on version 2: one open task, the sanitation office's.
	tasks := e.waitTasks(id, 1, eventsv1.TaskState_TASK_STATE_DISPATCHED)
	for deadline := time.Now().Add(10 * time.Second); tasks[0].GetDepartmentCode() != zj+"-lhsrs"; {
		if time.Now().After(deadline) {
			t.Fatalf("routed on %v", tasks[0])
		}
		time.Sleep(50 * time.Millisecond)
		tasks = e.waitTasks(id, 1, eventsv1.TaskState_TASK_STATE_DISPATCHED)
	}
	// Version 3 raises the urgency: the deadlines move in place.
	e.classify(id, "GF-1", 3, "06010", zj, typesv1.Urgency_URGENCY_URGENT, true)
	evs := e.events("grid.task.deadline_changed.>", 1)
	if evs[0].GetTaskDeadlineChanged().GetReason() != eventsv1.DeadlineChangeReason_DEADLINE_CHANGE_REASON_URGENCY_RAISED {
		t.Fatalf("deadline changed: %v", evs[0])
	}
	// A duplicate report creates no task.
	dup := e.newCase("06010", zj, false)
	time.Sleep(500 * time.Millisecond)
	e.waitTasks(dup, 0)
	// The hotline urges: the open task is told.
	e.publish("grid.case.followed_up."+dis+"."+zj, id, &eventsv1.CaseFollowedUp{CaseId: id, FollowUpId: "fu",
		Kind: eventsv1.FollowUpKind_FOLLOW_UP_KIND_URGE})
	e.events("grid.task.urged."+zj+"-lhsrs.>", 1)
}

func TestClockWarnsAndEscalates(t *testing.T) {
	e := setup(t)
	caseID := e.newCase("H04001", zj, true)
	task := e.waitTasks(caseID, 1)[0]
	// 2 working hours to acknowledge from 10:00: warned at 11:36, overdue
	// at 12:00, supervised 30 working minutes later (14:00 after lunch).
	e.clock.Set(time.Date(2026, 3, 2, 11, 40, 0, 0, shanghai))
	w := e.events("grid.task.warned."+zj+"-pcs.>", 1)[0].GetTaskWarned()
	if w.GetStep().GetLimit() != eventsv1.ClockLimit_CLOCK_LIMIT_ACK || w.GetTask().GetTaskId() != task.GetTaskId() || !w.GetTask().GetWarned() {
		t.Fatalf("warned %v", w)
	}
	e.clock.Set(time.Date(2026, 3, 2, 14, 0, 0, 0, shanghai))
	e.events("grid.task.overdue."+zj+"-pcs.>", 1)
	s := e.events("grid.task.supervised."+zj+"-pcs.>", 1)[0].GetTaskSupervised()
	if s.GetStep().GetToDepartmentCode() != zj+"-cyzx" {
		t.Fatalf("supervised %v", s)
	}
	// Parking stops the clock; unparking moves the deadlines.
	zjd, zctx := e.as("dispatcher:" + zj)
	if _, err := zjd.ParkCase(zctx, &dispatchv1.ParkCaseRequest{RequestId: "park", CaseId: caseID, Reason: "等待管线改造",
		ReviewDate: "2026-03-20"}); err != nil {
		t.Fatal(err)
	}
	e.clock.Set(time.Date(2026, 3, 9, 14, 0, 0, 0, shanghai))
	un, err := zjd.UnparkCase(zctx, &dispatchv1.UnparkCaseRequest{RequestId: "unpark", CaseId: caseID})
	if err != nil {
		t.Fatal(err)
	}
	if got := un.GetCase().GetDeadlines().GetComplete().GetDue().AsTime(); !got.After(task.GetDeadlines().GetComplete().GetDue().AsTime()) {
		t.Fatalf("complete due not moved: %v", got)
	}
	e.events("grid.task.deadline_changed."+zj+"-pcs.>", 1)
}

// TestTwoReplicas runs two dispatch replicas on one database and one
// durable consumer: every case is routed once and every timer fires once.
func TestTwoReplicas(t *testing.T) {
	e := setup(t)
	e.replica(e.openPool())
	const n = 30
	ids := make([]string, n)
	for i := range ids {
		ids[i] = e.newCase("H04001", zj, true)
	}
	for _, id := range ids {
		e.waitTasks(id, 1)
	}
	e.clock.Set(time.Date(2026, 3, 2, 11, 40, 0, 0, shanghai))
	e.events("grid.task.warned.>", n) // wait for the warnings, then for any duplicate
	time.Sleep(time.Second)
	evs := e.events("grid.task.warned.>", n)
	seen := map[string]int{}
	for _, ev := range evs {
		seen[ev.GetTaskWarned().GetTask().GetTaskId()]++
	}
	if len(evs) != n || len(seen) != n {
		t.Fatalf("%d warnings for %d tasks, want %d each once", len(evs), len(seen), n)
	}
	dispatched := e.events("grid.task.dispatched.>", n)
	if len(dispatched) != n {
		t.Fatalf("%d dispatched, want %d", len(dispatched), n)
	}
}

// TestRedeliveredEventIsAppliedOnce publishes the same classification
// twice under different event ids (a replica of classify re-publishing):
// the version makes the second a no-op.
func TestRedeliveredEventIsAppliedOnce(t *testing.T) {
	e := setup(t)
	caseID := e.newCase("H04001", zj, true)
	e.waitTasks(caseID, 1)
	var wg sync.WaitGroup
	for range 3 {
		wg.Go(func() { e.classify(caseID, "GF-1", 1, "H04001", zj, typesv1.Urgency_URGENCY_NORMAL, true) })
	}
	wg.Wait()
	time.Sleep(time.Second)
	if evs := e.events("grid.task.dispatched.>", 1); len(evs) != 1 {
		t.Fatalf("%d dispatched events", len(evs))
	}
}

func fields(err error) []string {
	var out []string
	for _, d := range status.Convert(err).Details() {
		if br, ok := d.(*errdetails.BadRequest); ok {
			for _, v := range br.GetFieldViolations() {
				out = append(out, v.GetField())
			}
		}
	}
	return out
}

func TestBadRequests(t *testing.T) {
	e := setup(t)
	caseID := e.newCase("H04001", zj, true)
	task := e.waitTasks(caseID, 1)[0]
	pcs, ctx := e.as("department:" + zj + "-pcs")
	zjd, zctx := e.as("dispatcher:" + zj)
	tests := []struct {
		name   string
		call   func() error
		code   codes.Code
		fields []string
	}{
		{"no request id", func() error {
			_, err := pcs.AcknowledgeTask(ctx, &dispatchv1.AcknowledgeTaskRequest{TaskId: task.GetTaskId()})
			return err
		}, codes.InvalidArgument, []string{"request_id"}},
		{"a note that is not UTF-8", func() error {
			_, err := pcs.AcknowledgeTask(ctx, &dispatchv1.AcknowledgeTaskRequest{RequestId: "u", TaskId: task.GetTaskId(), Note: "bad \xff"})
			return err
		}, codes.InvalidArgument, []string{"note"}},
		{"reject without a reason", func() error {
			_, err := pcs.RejectTask(ctx, &dispatchv1.RejectTaskRequest{RequestId: "r", TaskId: task.GetTaskId()})
			return err
		}, codes.InvalidArgument, []string{"reason"}},
		{"other needs a note", func() error {
			_, err := pcs.RejectTask(ctx, &dispatchv1.RejectTaskRequest{RequestId: "r", TaskId: task.GetTaskId(), Reason: eventsv1.RejectReason_REJECT_REASON_OTHER})
			return err
		}, codes.InvalidArgument, []string{"note"}},
		{"an unknown area", func() error {
			_, err := pcs.RejectTask(ctx, &dispatchv1.RejectTaskRequest{RequestId: "r", TaskId: task.GetTaskId(),
				Reason: eventsv1.RejectReason_REJECT_REASON_NOT_MY_AREA, AreaCode: "999999999"})
			return err
		}, codes.InvalidArgument, []string{"area_code"}},
		// A department learns nothing of a task that is not its own, not
		// even whether it exists.
		{"no such task", func() error {
			_, err := pcs.AcknowledgeTask(ctx, &dispatchv1.AcknowledgeTaskRequest{RequestId: "n", TaskId: uuid.NewString()})
			return err
		}, codes.PermissionDenied, nil},
		{"a review date in the past", func() error {
			_, err := zjd.ParkCase(zctx, &dispatchv1.ParkCaseRequest{RequestId: "p", CaseId: caseID, Reason: "x", ReviewDate: "2026-01-01"})
			return err
		}, codes.InvalidArgument, []string{"review_date"}},
		{"approving a completion that needs no review", func() error {
			_, err := zjd.ReviewCompletion(zctx, &dispatchv1.ReviewCompletionRequest{RequestId: "rv", TaskId: task.GetTaskId(),
				Decision: dispatchv1.ReviewDecision_REVIEW_DECISION_APPROVE})
			return err
		}, codes.FailedPrecondition, nil},
		{"unparking a case that is not parked", func() error {
			_, err := zjd.UnparkCase(zctx, &dispatchv1.UnparkCaseRequest{RequestId: "up", CaseId: caseID})
			return err
		}, codes.FailedPrecondition, nil},
		{"no credential", func() error {
			_, err := dispatchv1.NewDispatchServiceClient(e.conn).ListTasks(e.ctx, &dispatchv1.ListTasksRequest{})
			return err
		}, codes.Unauthenticated, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.call()
			if code(err) != tt.code {
				t.Fatalf("got %v, want %v", err, tt.code)
			}
			if got := fields(err); tt.fields != nil && !slices.Equal(got, tt.fields) {
				t.Fatalf("violations %v, want %v", got, tt.fields)
			}
		})
	}
}

// TestConcurrentRepeatsGetTheFirstResult sends one request five times at
// once: one acknowledgement happens, every caller gets its result.
func TestConcurrentRepeatsGetTheFirstResult(t *testing.T) {
	e := setup(t)
	caseID := e.newCase("H04001", zj, true)
	task := e.waitTasks(caseID, 1)[0]
	pcs, ctx := e.as("department:" + zj + "-pcs")
	req := &dispatchv1.AcknowledgeTaskRequest{RequestId: "same", TaskId: task.GetTaskId(), Note: "签收"}
	results := make([]*dispatchv1.AcknowledgeTaskResponse, 5)
	errs := make([]error, 5)
	var wg sync.WaitGroup
	for i := range results {
		wg.Go(func() { results[i], errs[i] = pcs.AcknowledgeTask(ctx, req) })
	}
	wg.Wait()
	for i := range results {
		if errs[i] != nil || !proto.Equal(results[i], results[0]) {
			t.Fatalf("call %d: %v %v", i, errs[i], results[i])
		}
	}
	time.Sleep(500 * time.Millisecond)
	if evs := e.events("grid.task.acknowledged.>", 1); len(evs) != 1 {
		t.Fatalf("%d acknowledged events", len(evs))
	}
}
