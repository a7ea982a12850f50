package grpcapi_test

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"fmt"
	"log/slog"
	"net"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gridflow/gridflow/pkg/auth"
	"github.com/gridflow/gridflow/pkg/geo"
	"github.com/gridflow/gridflow/pkg/grpcserver"
	"github.com/gridflow/gridflow/pkg/natsjs"
	"github.com/gridflow/gridflow/pkg/outbox"
	"github.com/gridflow/gridflow/pkg/testenv"
	"github.com/gridflow/gridflow/services/intake/internal/grpcapi"
	"github.com/gridflow/gridflow/services/intake/internal/intake"
	"github.com/gridflow/gridflow/services/intake/internal/places"
	"github.com/gridflow/gridflow/services/intake/internal/postgres"
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

	eventsv1 "github.com/gridflow/gridflow/proto/gen/go/gridflow/events/v1"
	intakev1 "github.com/gridflow/gridflow/proto/gen/go/gridflow/intake/v1"
	typesv1 "github.com/gridflow/gridflow/proto/gen/go/gridflow/types/v1"
)

// env is intake wired as in main, over bufconn, against real PostgreSQL and
// an in-process NATS.
type env struct {
	pool   *pgxpool.Pool
	signer *auth.Signer
	conn   *grpc.ClientConn
	js     jetstream.JetStream
	now    time.Time
}

func setup(t *testing.T) *env {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	pool := testenv.Pool(t, postgres.Schema, 8, append(postgres.Migrations, postgres.ClosureMigrations)...)
	_, js := testenv.JetStream(t)
	relay := outbox.NewRelay(pool, js, slog.Default(), outbox.RelayOptions{})
	go func() { _ = relay.Run(ctx) }()
	store := postgres.New(pool, relay)
	store.RunGroupCommit(ctx, 2, 32)
	pl, err := places.Load("")
	if err != nil {
		t.Fatal(err)
	}
	svc := intake.New(store, pl, pl, time.Now)

	pub, priv, _ := ed25519.GenerateKey(rand.Reader)
	srv := grpcserver.New(grpcserver.Options{Logger: slog.Default(), Verifier: auth.NewVerifier(pub)})
	intakev1.RegisterIntakeServiceServer(srv, grpcapi.New(svc))
	intakev1.RegisterPublicIntakeServiceServer(srv, grpcapi.NewPublic(svc)) // Open311 (issue 19)
	lis := bufconn.Listen(1 << 20)
	go func() { _ = srv.Serve(lis) }()
	t.Cleanup(srv.Stop)
	conn, err := grpc.NewClient("passthrough:///bufnet",
		grpc.WithContextDialer(func(context.Context, string) (net.Conn, error) { return lis.Dial() }),
		grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return &env{signer: auth.NewSigner(priv), conn: conn, js: js, now: time.Now(), pool: pool}
}

// as returns a client and a context carrying p's token.
func (e *env) as(t *testing.T, p string) (intakev1.IntakeServiceClient, context.Context) {
	t.Helper()
	pr, err := auth.ParsePrincipal(p)
	if err != nil {
		t.Fatal(err)
	}
	tok, err := e.signer.Issue(pr, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return intakev1.NewIntakeServiceClient(e.conn), metadata.AppendToOutgoingContext(ctx, "authorization", "Bearer "+tok)
}

// event waits for the next event on subject.
func (e *env) event(t *testing.T, subject string) (*eventsv1.Envelope, jetstream.Msg) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	cons, err := e.js.OrderedConsumer(ctx, natsjs.StreamGrid, jetstream.OrderedConsumerConfig{FilterSubjects: []string{subject}})
	if err != nil {
		t.Fatal(err)
	}
	msg, err := cons.Next(jetstream.FetchContext(ctx))
	if err != nil {
		t.Fatalf("no event on %s: %v", subject, err)
	}
	var env eventsv1.Envelope
	if err := proto.Unmarshal(msg.Data(), &env); err != nil {
		t.Fatal(err)
	}
	return &env, msg
}

func violations(err error) []string {
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

func order(no string) *intakev1.WorkOrder {
	return &intakev1.WorkOrder{
		HotlineOrderNo: no, ReceivedAt: timestamppb.New(time.Now().Add(-time.Minute)),
		AppealType: typesv1.AppealType_APPEAL_TYPE_COMPLAINT, Title: "噪声扰民",
		Content: "共和新路1234弄门口烧烤摊每晚营业到凌晨，噪声扰民。", CallerPhone: "13812345678",
		DistrictCode: "310106", StreetCode: "310106022",
	}
}

func TestWorkOrderEvent(t *testing.T) {
	e := setup(t)
	c, ctx := e.as(t, "hotline")
	resp, err := c.SubmitWorkOrder(ctx, &intakev1.SubmitWorkOrderRequest{WorkOrder: order("T-1")})
	if err != nil {
		t.Fatal(err)
	}
	env, msg := e.event(t, "grid.case.received.310106.310106022")
	if env.GetCaseId() != resp.GetSubmission().GetCaseId() || msg.Headers().Get("Nats-Msg-Id") != env.GetEventId() {
		t.Errorf("event %v does not match the submission %v", env, resp.GetSubmission())
	}
	// The stream carries the masked contact only (DESIGN.md: personal data
	// is masked on NATS); the raw bytes hold no trace of the clear number.
	if env.GetActor().GetRole() != "hotline" || env.GetCaseReceived().GetCaller().GetPhone() != "138****5678" {
		t.Errorf("event actor/caller = %v / %v", env.GetActor(), env.GetCaseReceived().GetCaller())
	}
	if strings.Contains(string(msg.Data()), "13812345678") || strings.Contains(string(msg.Data()), "12345678") {
		t.Errorf("the clear phone number is on the stream: %q", msg.Data())
	}
}

// TestInvalidUTF8IsInvalidArgument: the decoder does not validate UTF-8
// (edition 2023, utf8_validation = NONE), so the handler answers with a
// field violation instead of grpc-go's INTERNAL.
func TestInvalidUTF8IsInvalidArgument(t *testing.T) {
	e := setup(t)
	c, ctx := e.as(t, "hotline")
	wo := order("T-UTF8")
	wo.Title = "坏\xc3\x28字节"
	_, err := c.SubmitWorkOrder(ctx, &intakev1.SubmitWorkOrderRequest{WorkOrder: wo})
	if status.Code(err) != codes.InvalidArgument || !strings.Contains(strings.Join(violations(err), ","), "work_order.title") {
		t.Fatalf("err = %v (violations %v), want INVALID_ARGUMENT on work_order.title", err, violations(err))
	}
}

func TestAreaResolution(t *testing.T) {
	e := setup(t)
	c, ctx := e.as(t, "hotline")
	tests := []struct {
		name string
		edit func(*intakev1.WorkOrder)
		want *typesv1.Area
	}{
		{"codes", func(w *intakev1.WorkOrder) {}, &typesv1.Area{DistrictCode: "310106", StreetCode: "310106022", CommunityCode: "0", GridCode: "0",
			Resolution: typesv1.AreaResolution_AREA_RESOLUTION_PARTIAL}},
		{"gcj02 point", func(w *intakev1.WorkOrder) {
			lat, lng := geo.WGS84ToGCJ02(31.2540, 121.4520)
			w.Location = &typesv1.LatLng{Lat: lat, Lng: lng, Datum: typesv1.Datum_DATUM_GCJ02}
		}, &typesv1.Area{DistrictCode: "310106", StreetCode: "310106022", CommunityCode: "310106022001", GridCode: "310106022001001",
			Resolution: typesv1.AreaResolution_AREA_RESOLUTION_COORDINATES}},
		{"nothing known", func(w *intakev1.WorkOrder) { w.DistrictCode, w.StreetCode = "", "" },
			&typesv1.Area{DistrictCode: "0", StreetCode: "0", CommunityCode: "0", GridCode: "0", Resolution: typesv1.AreaResolution_AREA_RESOLUTION_PARTIAL}},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			wo := order("T-AREA-" + string(rune('a'+i)))
			tt.edit(wo)
			resp, err := c.SubmitWorkOrder(ctx, &intakev1.SubmitWorkOrderRequest{WorkOrder: wo})
			if err != nil {
				t.Fatal(err)
			}
			if got := resp.GetSubmission().GetArea(); !proto.Equal(got, tt.want) {
				t.Errorf("area = %v, want %v", got, tt.want)
			}
		})
	}
	// The address index resolves the grid; the same place written two ways
	// gets one normalised key.
	keys := map[string]bool{}
	for i, addr := range []string{"上海市静安区共和新路1234弄5号", "共和新路 一二三四弄 五号"} {
		wo := order("T-ADDR-" + string(rune('a'+i)))
		wo.StreetCode, wo.Address = "", addr
		resp, err := c.SubmitWorkOrder(ctx, &intakev1.SubmitWorkOrderRequest{WorkOrder: wo})
		if err != nil {
			t.Fatal(err)
		}
		sub := resp.GetSubmission()
		if a := sub.GetArea(); a.GetGridCode() != "310106022002002" || a.GetResolution() != typesv1.AreaResolution_AREA_RESOLUTION_ADDRESS {
			t.Errorf("%s: area = %v, want grid 310106022002002 by address", addr, a)
		}
		keys[sub.GetAddress().GetKey()] = true
	}
	if len(keys) != 1 {
		t.Errorf("address keys = %v, want one key for one place", keys)
	}

	bad := order("T-AREA-bad")
	bad.StreetCode = "310106999"
	bad.Location = &typesv1.LatLng{Lat: 39.9, Lng: 116.4, Datum: typesv1.Datum_DATUM_WGS84} // Beijing
	_, err := c.SubmitWorkOrder(ctx, &intakev1.SubmitWorkOrderRequest{WorkOrder: bad})
	if got := strings.Join(violations(err), ","); status.Code(err) != codes.InvalidArgument || !strings.Contains(got, "work_order.street_code") {
		t.Errorf("unknown street: %v (%s)", err, got)
	}
}

func TestPatrolReport(t *testing.T) {
	e := setup(t)
	c, ctx := e.as(t, "patrol:w-17")
	lat, lng := geo.WGS84ToGCJ02(31.2980, 121.4500)
	report := &intakev1.PatrolReport{
		RequestId: "p-1", Description: "临汾路消防通道被私家车占用", CatalogueCode: "",
		Location: &typesv1.LatLng{Lat: lat, Lng: lng, Datum: typesv1.Datum_DATUM_GCJ02},
		Photos:   []*typesv1.Attachment{{Uri: "s3://patrol/w-17/p-1.jpg", MediaType: "image/jpeg"}},
	}
	resp, err := c.SubmitPatrolReport(ctx, &intakev1.SubmitPatrolReportRequest{Report: report})
	if err != nil {
		t.Fatal(err)
	}
	sub := resp.GetSubmission()
	if sub.GetArea().GetGridCode() != "310106021001001" || sub.GetPatrolReport().GetWorkerId() != "w-17" {
		t.Errorf("submission = %v, want grid 310106021001001 and worker w-17 from the credential", sub)
	}
	env, _ := e.event(t, "grid.case.received.310106.310106021")
	if env.GetCaseReceived().GetWorkerId() != "w-17" || env.GetCaseReceived().GetSource() != typesv1.Source_SOURCE_PATROL {
		t.Errorf("event = %v", env)
	}

	other := proto.Clone(report).(*intakev1.PatrolReport)
	other.RequestId, other.WorkerId = "p-2", "w-99"
	if _, err := c.SubmitPatrolReport(ctx, &intakev1.SubmitPatrolReportRequest{Report: other}); status.Code(err) != codes.PermissionDenied {
		t.Errorf("other worker: %v, want PERMISSION_DENIED", err)
	}
	noLoc := proto.Clone(report).(*intakev1.PatrolReport)
	noLoc.RequestId, noLoc.Location, noLoc.CatalogueCode = "p-3", nil, "99999"
	_, err = c.SubmitPatrolReport(ctx, &intakev1.SubmitPatrolReportRequest{Report: noLoc})
	if got := strings.Join(violations(err), ","); !strings.Contains(got, "report.location") || !strings.Contains(got, "report.catalogue_code") {
		t.Errorf("no location, bad code: %v (%s)", err, got)
	}
	hotline, hctx := e.as(t, "hotline")
	if _, err := hotline.SubmitPatrolReport(hctx, &intakev1.SubmitPatrolReportRequest{Report: report}); status.Code(err) != codes.PermissionDenied {
		t.Errorf("hotline submitting a patrol report: %v, want PERMISSION_DENIED", err)
	}
}

func TestRaiseIssue(t *testing.T) {
	e := setup(t)
	c, ctx := e.as(t, "secretary:310106022002")
	issue := &intakev1.Issue{RequestId: "i-1", SecretaryId: "张书记", Title: "小区门口占道经营",
		Content: "普善路小区门口长期有流动摊贩占道经营，需要城管和市场监管一起来处理。"}
	resp, err := c.RaiseIssue(ctx, &intakev1.RaiseIssueRequest{Issue: issue})
	if err != nil {
		t.Fatal(err)
	}
	if a := resp.GetSubmission().GetArea(); a.GetCommunityCode() != "310106022002" || a.GetStreetCode() != "310106022" {
		t.Errorf("area = %v, want the credential's community", a)
	}
	other := proto.Clone(issue).(*intakev1.Issue)
	other.RequestId, other.CommunityCode = "i-2", "310106021001"
	if _, err := c.RaiseIssue(ctx, &intakev1.RaiseIssueRequest{Issue: other}); status.Code(err) != codes.PermissionDenied {
		t.Errorf("other community: %v, want PERMISSION_DENIED", err)
	}
	bad := proto.Clone(issue).(*intakev1.Issue)
	bad.RequestId, bad.WhistleDepartments = "i-3", []string{"no-such-department"}
	if _, err := c.RaiseIssue(ctx, &intakev1.RaiseIssueRequest{Issue: bad}); status.Code(err) != codes.InvalidArgument {
		t.Errorf("unknown department: %v, want INVALID_ARGUMENT", err)
	}
}

func TestFollowUps(t *testing.T) {
	e := setup(t)
	c, ctx := e.as(t, "hotline")
	resp, err := c.SubmitWorkOrder(ctx, &intakev1.SubmitWorkOrderRequest{WorkOrder: order("T-FU")})
	if err != nil {
		t.Fatal(err)
	}
	num := resp.GetSubmission().GetCaseNumber()
	add := func(id string, kind intakev1.FollowUpKind, text string) (*intakev1.AddFollowUpResponse, error) {
		return c.AddFollowUp(ctx, &intakev1.AddFollowUpRequest{RequestId: id, Case: &intakev1.AddFollowUpRequest_HotlineOrderNo{HotlineOrderNo: "T-FU"},
			Kind: kind, Text: text})
	}
	first, err := add("fu-1", intakev1.FollowUpKind_FOLLOW_UP_KIND_SUPPLEMENT, "烧烤摊在5号门口")
	if err != nil {
		t.Fatal(err)
	}
	again, err := add("fu-1", intakev1.FollowUpKind_FOLLOW_UP_KIND_SUPPLEMENT, "烧烤摊在5号门口")
	if err != nil || again.GetFollowUp().GetFollowUpId() != first.GetFollowUp().GetFollowUpId() {
		t.Errorf("repeat = %v, %v; want the first follow-up", again, err)
	}
	env, _ := e.event(t, "grid.case.followed_up.310106.310106022")
	if fu := env.GetCaseFollowedUp(); fu.GetCaseNumber() != num || fu.GetKind() != eventsv1.FollowUpKind_FOLLOW_UP_KIND_SUPPLEMENT {
		t.Errorf("followed_up event = %v", env)
	}
	if _, err := add("fu-2", intakev1.FollowUpKind_FOLLOW_UP_KIND_WITHDRAW, "市民表示问题已自行解决"); err != nil {
		t.Fatal(err)
	}
	if _, err := add("fu-3", intakev1.FollowUpKind_FOLLOW_UP_KIND_URGE, ""); status.Code(err) != codes.FailedPrecondition {
		t.Errorf("follow-up after withdrawal: %v, want FAILED_PRECONDITION", err)
	}
	// An unknown case is NOT_FOUND to admin; the hotline hears what it
	// would hear of a case outside its scope, and learns nothing.
	ac, actx := e.as(t, "admin")
	_, err = ac.AddFollowUp(actx, &intakev1.AddFollowUpRequest{RequestId: "fu-4", Case: &intakev1.AddFollowUpRequest_CaseNumber{CaseNumber: "GF-20000101-000001"},
		Kind: intakev1.FollowUpKind_FOLLOW_UP_KIND_URGE})
	if status.Code(err) != codes.NotFound {
		t.Errorf("unknown case: %v, want NOT_FOUND", err)
	}
	_, err = c.AddFollowUp(ctx, &intakev1.AddFollowUpRequest{RequestId: "fu-4", Case: &intakev1.AddFollowUpRequest_CaseNumber{CaseNumber: "GF-20000101-000001"},
		Kind: intakev1.FollowUpKind_FOLLOW_UP_KIND_URGE})
	if status.Code(err) != codes.PermissionDenied {
		t.Errorf("unknown case by the hotline: %v, want PERMISSION_DENIED", err)
	}
	got, err := c.GetSubmission(ctx, &intakev1.GetSubmissionRequest{Key: &intakev1.GetSubmissionRequest_CaseNumber{CaseNumber: num}})
	if err != nil || !got.GetSubmission().GetWithdrawn() || len(got.GetSubmission().GetFollowUps()) != 2 {
		t.Errorf("after withdrawal: %v, %v; want withdrawn with 2 follow-ups", got, err)
	}
}

func TestListSubmissionsPages(t *testing.T) {
	e := setup(t)
	c, ctx := e.as(t, "hotline")
	for i := range 7 {
		if _, err := c.SubmitWorkOrder(ctx, &intakev1.SubmitWorkOrderRequest{WorkOrder: order("T-L-" + string(rune('a'+i)))}); err != nil {
			t.Fatal(err)
		}
	}
	seen := map[string]bool{}
	token := ""
	for page := 0; ; page++ {
		resp, err := c.ListSubmissions(ctx, &intakev1.ListSubmissionsRequest{PageSize: 3, PageToken: token, StreetCode: "310106022"})
		if err != nil {
			t.Fatal(err)
		}
		for _, s := range resp.GetSubmissions() {
			if seen[s.GetCaseId()] {
				t.Errorf("case %s listed twice", s.GetCaseNumber())
			}
			seen[s.GetCaseId()] = true
		}
		if token = resp.GetNextPageToken(); token == "" {
			break
		}
		if page > 5 {
			t.Fatal("paging does not end")
		}
	}
	if len(seen) != 7 {
		t.Errorf("listed %d submissions, want 7", len(seen))
	}
	if _, err := c.ListSubmissions(ctx, &intakev1.ListSubmissionsRequest{PageToken: "garbage"}); status.Code(err) != codes.InvalidArgument {
		t.Errorf("bad page token: %v, want INVALID_ARGUMENT", err)
	}
}

// A page_size above the most a page holds is coerced to it (AIP-158); a
// negative one is refused on the field.
func TestListSubmissionsPageSizeCoerced(t *testing.T) {
	e := setup(t)
	c, ctx := e.as(t, "hotline")
	var wg sync.WaitGroup
	errs := make(chan error, intake.MaxPageSize+1)
	for w := range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := w; i <= intake.MaxPageSize; i += 16 {
				if _, err := c.SubmitWorkOrder(ctx, &intakev1.SubmitWorkOrderRequest{WorkOrder: order(fmt.Sprintf("T-P-%04d", i))}); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	for _, size := range []int32{10_000, intake.MaxPageSize + 1} {
		resp, err := c.ListSubmissions(ctx, &intakev1.ListSubmissionsRequest{PageSize: size})
		if err != nil {
			t.Fatal(err)
		}
		if len(resp.GetSubmissions()) != intake.MaxPageSize || resp.GetNextPageToken() == "" {
			t.Errorf("page_size %d: %d submissions, next %q; want %d and a next page", size, len(resp.GetSubmissions()), resp.GetNextPageToken(), intake.MaxPageSize)
		}
	}
	_, err := c.ListSubmissions(ctx, &intakev1.ListSubmissionsRequest{PageSize: -1})
	if status.Code(err) != codes.InvalidArgument || !slices.Contains(violations(err), "page_size") {
		t.Errorf("page_size -1: %v, want INVALID_ARGUMENT on page_size", err)
	}
}
