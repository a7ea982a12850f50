package grpcapi_test

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"fmt"
	"io"
	"log/slog"
	"net"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/gridflow/gridflow/pkg/auth"
	"github.com/gridflow/gridflow/pkg/envelope"
	"github.com/gridflow/gridflow/pkg/grpcserver"
	"github.com/gridflow/gridflow/pkg/pgdb"
	"github.com/gridflow/gridflow/pkg/reference"
	"github.com/gridflow/gridflow/pkg/testenv"
	"github.com/gridflow/gridflow/pkg/timer"
	"github.com/gridflow/gridflow/services/feedback/internal/events"
	"github.com/gridflow/gridflow/services/feedback/internal/feedback"
	"github.com/gridflow/gridflow/services/feedback/internal/grpcapi"
	"github.com/gridflow/gridflow/services/feedback/internal/postgres"
	"github.com/jackc/pgx/v5/pgxpool"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/grpc/test/bufconn"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/types/known/timestamppb"

	eventsv1 "github.com/gridflow/gridflow/proto/gen/go/gridflow/events/v1"
	feedbackv1 "github.com/gridflow/gridflow/proto/gen/go/gridflow/feedback/v1"
	typesv1 "github.com/gridflow/gridflow/proto/gen/go/gridflow/types/v1"
)

const (
	district = "310106"
	zj       = "310106022" // 芷江西路街道
	lf       = "310106021" // 临汾路街道
	cgzd     = "310106022-cgzd"
	scjg     = "310106022-scjg"
)

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

var refSet = func() *reference.Set {
	s, err := reference.LoadDefault()
	if err != nil {
		panic(err)
	}
	return s
}()

// env is feedback's gRPC server as main wires it — store, service, the
// bell rung by PostgreSQL's NOTIFY — over bufconn, against a real,
// migrated PostgreSQL, on a manual clock. Events reach the service as the
// consumer hands them over (events.Decode, Service.Handle in a
// transaction); the NATS side of the consumer is tested in
// internal/events.
type env struct {
	t      *testing.T
	ctx    context.Context
	pool   *pgxpool.Pool
	store  *postgres.Store
	svc    *feedback.Service
	clock  *timer.ManualClock
	signer *auth.Signer
	conn   *grpc.ClientConn
}

func setup(t *testing.T) *env {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	pool := testenv.Pool(t, postgres.Schema, 8, postgres.Migrations...)
	t.Cleanup(cancel) // runs before the pool closes
	// Monday 2 March 2026, 10:00 in Shanghai.
	e := &env{t: t, ctx: ctx, pool: pool, clock: timer.NewManualClock(time.Date(2026, 3, 2, 2, 0, 0, 0, time.UTC))}
	e.store = postgres.New(pool, nil)
	e.svc = feedback.New(feedback.Config{CallbackWindow: 3, CallbackRetry: 2 * time.Hour}, e.store, e.store,
		func() feedback.Calendar { return refSet.Calendar() }, e.clock.Now)
	bell := grpcapi.NewBell()
	go pgdb.Listen(ctx, pool, postgres.EventsChannelSQL, quiet, bell.Ring)
	pub, priv, _ := ed25519.GenerateKey(rand.Reader)
	e.signer = auth.NewSigner(priv)
	srv := grpcserver.New(grpcserver.Options{Logger: quiet, Verifier: auth.NewVerifier(pub)})
	feedbackv1.RegisterFeedbackServiceServer(srv, grpcapi.New(e.svc, bell, time.Second))
	feedbackv1.RegisterPublicCaseServiceServer(srv, grpcapi.NewPublic(e.svc)) // Open311 (issue 19)
	// Self-disposal (issue 20).
	feedbackv1.RegisterSelfDisposalServiceServer(srv, grpcapi.NewSelfDisposals(e.svc, feedback.NewSelfDisposals(e.store)))
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

// as returns a client and a context carrying a token for principal p.
func (e *env) as(p string) (feedbackv1.FeedbackServiceClient, context.Context) {
	e.t.Helper()
	pr, err := auth.ParsePrincipal(p)
	if err != nil {
		e.t.Fatal(err)
	}
	tok, err := e.signer.Issue(pr, time.Hour)
	if err != nil {
		e.t.Fatal(err)
	}
	return e.client(), metadata.AppendToOutgoingContext(e.timeout(), "authorization", "Bearer "+tok)
}

func (e *env) client() feedbackv1.FeedbackServiceClient {
	return feedbackv1.NewFeedbackServiceClient(e.conn)
}

func (e *env) timeout() context.Context {
	ctx, cancel := context.WithTimeout(e.ctx, 30*time.Second)
	e.t.Cleanup(cancel)
	return ctx
}

// publish hands feedback an event as its consumer would: field names the
// envelope's payload ("case_received", "task_completed" …).
func (e *env) publish(caseID, field string, payload proto.Message) {
	e.t.Helper()
	e.publishAs(caseID, &typesv1.Principal{Role: "system", Subject: "test"}, field, payload)
}

// publishAs is publish with the envelope's actor.
func (e *env) publishAs(caseID string, actor *typesv1.Principal, field string, payload proto.Message) {
	e.t.Helper()
	env := &eventsv1.Envelope{EventId: uuid.NewString(), CaseId: caseID, OccurredAt: timestamppb.New(e.clock.Now()),
		Actor: actor, Version: 1}
	f := env.ProtoReflect().Descriptor().Fields().ByName(protoreflect.Name(field))
	if f == nil {
		e.t.Fatalf("publish: no payload %s", field)
	}
	env.ProtoReflect().Set(f, protoreflect.ValueOfMessage(payload.ProtoReflect()))
	env.Type = envelope.Name(env)
	data, err := proto.Marshal(env)
	if err != nil {
		e.t.Fatal(err)
	}
	ev, err := events.Decode(data)
	if err != nil {
		e.t.Fatal(err)
	}
	if err := e.store.InTx(e.ctx, func(tx feedback.Tx) error { return e.svc.Handle(e.ctx, tx, ev) }); err != nil {
		e.t.Fatalf("handle %s: %v", ev.Type, err)
	}
	e.clock.Advance(time.Minute)
}

var seq atomic.Int64

type kase struct {
	id, number, orderNo, street string
	source                      typesv1.Source
}

func area(street string) *typesv1.Area {
	return &typesv1.Area{DistrictCode: district, StreetCode: street, CommunityCode: street + "001", GridCode: street + "001001"}
}

// receive publishes case.received for a new case in street.
func (e *env) receive(src typesv1.Source, street string) kase {
	n := seq.Add(1)
	k := kase{id: uuid.Must(uuid.NewV7()).String(), number: fmt.Sprintf("GF-20260302-%06d", n), street: street, source: src}
	if src == typesv1.Source_SOURCE_HOTLINE {
		k.orderNo = fmt.Sprintf("HL-20260302-%04d", n)
	}
	worker := "" // a patrol case is w-0017's report, so its re-check is w-0017's
	if src == typesv1.Source_SOURCE_PATROL {
		worker = "w-0017"
	}
	e.publish(k.id, "case_received", &eventsv1.CaseReceived{CaseId: k.id, CaseNumber: k.number, Source: src,
		ReceivedAt: timestamppb.New(e.clock.Now()), AppealType: typesv1.AppealType_APPEAL_TYPE_COMPLAINT, Title: "占道经营",
		HotlineOrderNo: k.orderNo, Area: area(street), WorkerId: worker})
	return k
}

// classify publishes version 1 of the case's classification; a primary
// makes it a duplicate of that case.
func (e *env) classify(k kase, primary string) {
	e.publish(k.id, "case_classified", &eventsv1.CaseClassified{CaseId: k.id, CaseNumber: k.number, ClassificationVersion: 1,
		ItemCode: "09006", ItemName: "占道经营", ModelVersion: "m1", Dispatchable: primary == "", PrimaryCaseId: primary,
		IncidentId: "inc-" + k.id[:8], Source: k.source, Area: area(k.street)})
}

func (e *env) taskRef(k kase, task string, round uint32, st eventsv1.TaskState) *eventsv1.TaskRef {
	return &eventsv1.TaskRef{TaskId: task, CaseId: k.id, CaseNumber: k.number, DepartmentCode: cgzd, Role: eventsv1.TaskRole_TASK_ROLE_LEAD,
		State: st, DistrictCode: district, StreetCode: k.street, Round: round, Review: eventsv1.ReviewState_REVIEW_STATE_NOT_REQUIRED,
		Deadlines: &eventsv1.Deadlines{Complete: &eventsv1.Deadline{Due: timestamppb.New(e.clock.Now().Add(48 * time.Hour))}}}
}

// dispatch publishes the lead's task.dispatched and returns the task id.
func (e *env) dispatch(k kase, round uint32) string {
	task := uuid.NewString()
	e.publish(k.id, "task_dispatched", &eventsv1.TaskDispatched{Task: e.taskRef(k, task, round, eventsv1.TaskState_TASK_STATE_DISPATCHED), Rule: "street-order"})
	return task
}

// work runs a round of the lead's task to its completion, which resolves
// (and, for a hotline case, replies to) the case.
func (e *env) work(k kase, round uint32) {
	task := e.dispatch(k, round)
	e.publish(k.id, "task_acknowledged", &eventsv1.TaskAcknowledged{Task: e.taskRef(k, task, round, eventsv1.TaskState_TASK_STATE_ACKNOWLEDGED)})
	e.publish(k.id, "task_completed", &eventsv1.TaskCompleted{Task: e.taskRef(k, task, round, eventsv1.TaskState_TASK_STATE_COMPLETED),
		Result: "已清理占道摊位"})
}

// replied is a hotline case in street, replied and waiting for its callback.
func (e *env) replied(street string) kase {
	k := e.receive(typesv1.Source_SOURCE_HOTLINE, street)
	e.classify(k, "")
	e.work(k, 0)
	return k
}

// code checks err's status code.
func code(t *testing.T, err error, want codes.Code) {
	t.Helper()
	if got := status.Code(err); got != want {
		t.Fatalf("err = %v, want %s", err, want)
	}
}

// fields checks err is INVALID_ARGUMENT and returns the fields its
// BadRequest names.
func fields(t *testing.T, err error) []string {
	t.Helper()
	code(t, err, codes.InvalidArgument)
	var out []string
	for _, d := range status.Convert(err).Details() {
		if br, ok := d.(*errdetails.BadRequest); ok {
			for _, v := range br.GetFieldViolations() {
				if v.GetDescription() == "" {
					t.Errorf("violation of %s gives no reason", v.GetField())
				}
				out = append(out, v.GetField())
			}
		}
	}
	if len(out) == 0 {
		t.Errorf("INVALID_ARGUMENT without a field: %v", err)
	}
	return out
}

// rpcs calls every RPC of the service with a request that would pass
// authorization, for the credential tests.
var rpcs = map[string]func(ctx context.Context, c feedbackv1.FeedbackServiceClient, k kase) error{
	"GetCase": func(ctx context.Context, c feedbackv1.FeedbackServiceClient, k kase) error {
		_, err := c.GetCase(ctx, &feedbackv1.GetCaseRequest{CaseId: k.id})
		return err
	},
	"ListCases": func(ctx context.Context, c feedbackv1.FeedbackServiceClient, k kase) error {
		_, err := c.ListCases(ctx, &feedbackv1.ListCasesRequest{})
		return err
	},
	"GetCaseTimeline": func(ctx context.Context, c feedbackv1.FeedbackServiceClient, k kase) error {
		_, err := c.GetCaseTimeline(ctx, &feedbackv1.GetCaseTimelineRequest{CaseId: k.id})
		return err
	},
	"WatchCaseUpdates": func(ctx context.Context, c feedbackv1.FeedbackServiceClient, k kase) error {
		// From the start of the log: the case's reply comes at once.
		ctx, cancel := context.WithCancel(ctx)
		defer cancel()
		s, err := c.WatchCaseUpdates(ctx, &feedbackv1.WatchCaseUpdatesRequest{CaseId: k.id, Cursor: "0"})
		if err != nil {
			return err
		}
		_, err = s.Recv()
		return err
	},
	"ListReplies": func(ctx context.Context, c feedbackv1.FeedbackServiceClient, k kase) error {
		_, err := c.ListReplies(ctx, &feedbackv1.ListRepliesRequest{CaseId: k.id})
		return err
	},
	// The writes are sent without a request id: a caller that may write
	// gets INVALID_ARGUMENT (authorization comes first), so no case
	// changes.
	"RecordCallback": func(ctx context.Context, c feedbackv1.FeedbackServiceClient, k kase) error {
		_, err := c.RecordCallback(ctx, &feedbackv1.RecordCallbackRequest{CaseId: k.id})
		return err
	},
	"RecordRecheck": func(ctx context.Context, c feedbackv1.FeedbackServiceClient, k kase) error {
		_, err := c.RecordRecheck(ctx, &feedbackv1.RecordRecheckRequest{CaseId: k.id})
		return err
	},
	"GetMetrics": func(ctx context.Context, c feedbackv1.FeedbackServiceClient, k kase) error {
		_, err := c.GetMetrics(ctx, &feedbackv1.GetMetricsRequest{Scope: feedbackv1.Scope_SCOPE_STREET, Code: zj, Period: march()})
		return err
	},
	"GetPareto": func(ctx context.Context, c feedbackv1.FeedbackServiceClient, k kase) error {
		_, err := c.GetPareto(ctx, &feedbackv1.GetParetoRequest{AreaCode: zj, Period: march()})
		return err
	},
	"GetHotspots": func(ctx context.Context, c feedbackv1.FeedbackServiceClient, k kase) error {
		_, err := c.GetHotspots(ctx, &feedbackv1.GetHotspotsRequest{AreaCode: zj, Period: march()})
		return err
	},
}

func march() *feedbackv1.Period {
	return &feedbackv1.Period{Start: timestamppb.New(time.Date(2026, 2, 28, 16, 0, 0, 0, time.UTC)),
		End: timestamppb.New(time.Date(2026, 3, 31, 16, 0, 0, 0, time.UTC))}
}

// Every RPC refuses a call without a credential, with a malformed one, one
// signed by another key, and an expired one: UNAUTHENTICATED.
func TestCredentialRefused(t *testing.T) {
	e := setup(t)
	k := e.replied(zj)
	_, otherKey, _ := ed25519.GenerateKey(rand.Reader)
	forged, _ := auth.NewSigner(otherKey).Issue(auth.Principal{Role: auth.RoleAdmin}, time.Hour)
	expired, _ := e.signer.Issue(auth.Principal{Role: auth.RoleAdmin}, -time.Minute)
	creds := map[string]func() context.Context{
		"none": e.timeout,
		"malformed": func() context.Context {
			return metadata.AppendToOutgoingContext(e.timeout(), "authorization", "Bearer not.a.jwt")
		},
		"not bearer": func() context.Context {
			return metadata.AppendToOutgoingContext(e.timeout(), "authorization", "Basic YWRtaW46YWRtaW4=")
		},
		"other key": func() context.Context {
			return metadata.AppendToOutgoingContext(e.timeout(), "authorization", "Bearer "+forged)
		},
		"expired": func() context.Context {
			return metadata.AppendToOutgoingContext(e.timeout(), "authorization", "Bearer "+expired)
		},
	}
	for name, call := range rpcs {
		for cred, ctx := range creds {
			if err := call(ctx(), e.client(), k); status.Code(err) != codes.Unauthenticated {
				t.Errorf("%s with credential %s: %v, want UNAUTHENTICATED", name, cred, err)
			}
		}
	}
}

// policy is who may call what, over which cases (pkg/policy's table and
// scopes, issue 14): one row per principal and RPC, the code the call gets.
// e2e's TestAuthorizationMatrix holds the whole matrix from outside.
//
// Reads are made on a case in 芷江西路街道 (zj) whose lead task is
// cgzd's; writes carry no request id, so a caller allowed to write gets
// INVALID_ARGUMENT, one refused PERMISSION_DENIED.
var policy = []struct {
	rpc, principal string
	want           codes.Code
}{
	{"GetCase", "admin", codes.OK},
	{"GetCase", "hotline", codes.OK},
	{"GetCase", "dispatcher:" + zj, codes.OK},
	{"GetCase", "dispatcher:" + lf, codes.PermissionDenied},
	{"GetCase", "district:" + district, codes.OK},
	{"GetCase", "district:310107", codes.PermissionDenied},
	{"GetCase", "department:" + cgzd, codes.OK},
	{"GetCase", "department:" + scjg, codes.PermissionDenied},
	{"GetCase", "patrol:w-0017", codes.PermissionDenied},           // only its own reports and their re-checks
	{"GetCase", "secretary:" + zj + "001", codes.OK},               // its community's case
	{"GetCase", "secretary:" + zj + "002", codes.PermissionDenied}, // another community's

	{"GetCaseTimeline", "admin", codes.OK},
	{"GetCaseTimeline", "hotline", codes.OK},
	{"GetCaseTimeline", "dispatcher:" + zj, codes.OK},
	{"GetCaseTimeline", "dispatcher:" + lf, codes.PermissionDenied},
	{"GetCaseTimeline", "district:310107", codes.PermissionDenied},
	{"GetCaseTimeline", "department:" + cgzd, codes.OK},
	{"GetCaseTimeline", "department:" + scjg, codes.PermissionDenied},

	// ListCases holds dispatchers and departments to their own (see
	// TestListCasesScope for what they are shown).
	{"ListCases", "admin", codes.OK},
	{"ListCases", "hotline", codes.OK},
	{"ListCases", "dispatcher:" + lf, codes.OK},
	{"ListCases", "department:" + scjg, codes.OK},
	{"ListCases", "patrol:w-0017", codes.OK},

	{"WatchCaseUpdates", "hotline", codes.OK},
	{"WatchCaseUpdates", "admin", codes.OK},
	{"WatchCaseUpdates", "system:console", codes.PermissionDenied}, // no service calls feedback
	{"WatchCaseUpdates", "dispatcher:" + zj, codes.PermissionDenied},
	{"WatchCaseUpdates", "district:" + district, codes.PermissionDenied},
	{"WatchCaseUpdates", "department:" + cgzd, codes.PermissionDenied},
	{"WatchCaseUpdates", "patrol:w-0017", codes.PermissionDenied},
	{"WatchCaseUpdates", "secretary:" + zj + "001", codes.PermissionDenied},

	{"ListReplies", "hotline", codes.OK},
	{"ListReplies", "admin", codes.OK},
	{"ListReplies", "dispatcher:" + zj, codes.OK},
	{"ListReplies", "dispatcher:" + lf, codes.PermissionDenied}, // another street's case
	{"ListReplies", "district:" + district, codes.OK},
	{"ListReplies", "department:" + cgzd, codes.PermissionDenied},
	{"ListReplies", "patrol:w-0017", codes.PermissionDenied},
	{"ListReplies", "secretary:" + zj + "001", codes.PermissionDenied},

	{"RecordCallback", "hotline", codes.InvalidArgument},
	{"RecordCallback", "admin", codes.InvalidArgument},
	{"RecordCallback", "dispatcher:" + zj, codes.InvalidArgument},
	{"RecordCallback", "dispatcher:" + lf, codes.InvalidArgument}, // a bad request is refused before any case is read
	{"RecordCallback", "district:" + district, codes.PermissionDenied},
	{"RecordCallback", "department:" + cgzd, codes.PermissionDenied},
	{"RecordCallback", "patrol:w-0017", codes.PermissionDenied},
	{"RecordCallback", "secretary:" + zj + "001", codes.PermissionDenied},

	{"RecordRecheck", "patrol:w-0017", codes.InvalidArgument}, // a bad request is refused before any case is read
	{"RecordRecheck", "admin", codes.InvalidArgument},
	{"RecordRecheck", "dispatcher:" + zj, codes.InvalidArgument},
	{"RecordRecheck", "hotline", codes.PermissionDenied},
	{"RecordRecheck", "district:" + district, codes.PermissionDenied},
	{"RecordRecheck", "department:" + cgzd, codes.PermissionDenied},
	{"RecordRecheck", "secretary:" + zj + "001", codes.PermissionDenied},

	// Figures are scoped: the calls ask for 芷江西路's.
	{"GetMetrics", "department:" + scjg, codes.PermissionDenied}, // its own figures only
	{"GetMetrics", "dispatcher:" + lf, codes.PermissionDenied},
	{"GetMetrics", "dispatcher:" + zj, codes.OK},
	{"GetMetrics", "district:" + district, codes.OK},
	{"GetMetrics", "hotline", codes.OK}, // over hotline cases only
	{"GetMetrics", "patrol:w-0017", codes.PermissionDenied},
	{"GetPareto", "dispatcher:" + lf, codes.PermissionDenied},
	{"GetPareto", "dispatcher:" + zj, codes.OK},
	{"GetPareto", "department:" + scjg, codes.PermissionDenied},
	{"GetHotspots", "dispatcher:" + lf, codes.PermissionDenied},
	{"GetHotspots", "district:" + district, codes.OK},
	{"GetHotspots", "secretary:" + zj + "001", codes.PermissionDenied},
}

func TestPolicy(t *testing.T) {
	e := setup(t)
	k := e.replied(zj)
	for _, row := range policy {
		call, ok := rpcs[row.rpc]
		if !ok {
			t.Fatalf("policy row for unknown RPC %s", row.rpc)
		}
		c, ctx := e.as(row.principal)
		if got := status.Code(call(ctx, c, k)); got != row.want {
			t.Errorf("%s as %s: %s, want %s", row.rpc, row.principal, got, row.want)
		}
	}
}
