package e2e

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gridflow/gridflow/pkg/auth"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	eventsv1 "github.com/gridflow/gridflow/proto/gen/go/gridflow/events/v1"
	intakev1 "github.com/gridflow/gridflow/proto/gen/go/gridflow/intake/v1"
	typesv1 "github.com/gridflow/gridflow/proto/gen/go/gridflow/types/v1"
)

func workOrder(no string) *intakev1.WorkOrder {
	return &intakev1.WorkOrder{
		HotlineOrderNo: no,
		ReceivedAt:     timestamppb.New(time.Now().Add(-time.Minute)),
		AppealType:     typesv1.AppealType_APPEAL_TYPE_COMPLAINT,
		Title:          "夜间施工噪声扰民",
		Content:        "芷江西路街道共和新路附近工地每天夜里十一点以后还在施工，噪声很大，影响居民休息。",
		CallerName:     "张先生",
		CallerPhone:    "13900001111",
		Address:        "上海市静安区共和新路1234弄5号",
		DistrictCode:   "310106",
		StreetCode:     "310106022",
		Urgency:        typesv1.Urgency_URGENCY_NORMAL,
	}
}

// TestWorkOrderFlowsToStream is the first vertical slice: a hotline work
// order submitted over gRPC with a token is stored once and its
// case.received event reaches stream GRID on the subject of its street.
func TestWorkOrderFlowsToStream(t *testing.T) {
	s := startStack(t)
	client := intakev1.NewIntakeServiceClient(s.dial(t, "intake", auth.Principal{Role: auth.RoleHotline}))
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()

	wo := workOrder("E2E-0001")
	resp, err := client.SubmitWorkOrder(ctx, &intakev1.SubmitWorkOrderRequest{WorkOrder: wo})
	if err != nil {
		t.Fatalf("SubmitWorkOrder: %v", err)
	}
	sub := resp.GetSubmission()
	if !strings.HasPrefix(sub.GetCaseNumber(), "GF-") || sub.GetCaseId() == "" {
		t.Fatalf("submission = %v, want a case id and a GF- number", sub)
	}

	// The same order again is the same case; other content under the same number is refused.
	again, err := client.SubmitWorkOrder(ctx, &intakev1.SubmitWorkOrderRequest{WorkOrder: wo})
	if err != nil || again.GetSubmission().GetCaseId() != sub.GetCaseId() {
		t.Fatalf("resubmit = %v, %v; want the first case %s", again.GetSubmission().GetCaseId(), err, sub.GetCaseId())
	}
	changed := proto.Clone(wo).(*intakev1.WorkOrder)
	changed.Content += "（补充）"
	_, err = client.SubmitWorkOrder(ctx, &intakev1.SubmitWorkOrderRequest{WorkOrder: changed})
	if st := status.Convert(err); st.Code() != codes.AlreadyExists || !strings.Contains(st.Message(), sub.GetCaseNumber()) {
		t.Fatalf("changed resubmit: %v, want ALREADY_EXISTS naming %s", err, sub.GetCaseNumber())
	}

	msgs := s.events(t, "grid.case.received.310106.310106022", 1, 30*time.Second)
	var env eventsv1.Envelope
	if err := proto.Unmarshal(msgs[0].Data(), &env); err != nil {
		t.Fatal(err)
	}
	got := env.GetCaseReceived()
	if env.GetType() != "case.received" || env.GetCaseId() != sub.GetCaseId() || got.GetCaseNumber() != sub.GetCaseNumber() ||
		got.GetHotlineOrderNo() != "E2E-0001" || got.GetContent() != wo.GetContent() {
		t.Fatalf("event = %v, want case.received for %s", &env, sub.GetCaseNumber())
	}
	if msgs[0].Headers().Get("Nats-Msg-Id") != env.GetEventId() {
		t.Errorf("Nats-Msg-Id = %q, want the event id %q", msgs[0].Headers().Get("Nats-Msg-Id"), env.GetEventId())
	}
	if msgs[0].Headers().Get("traceparent") == "" {
		t.Error("event carries no traceparent header")
	}

	// Read back by number.
	get, err := client.GetSubmission(ctx, &intakev1.GetSubmissionRequest{Key: &intakev1.GetSubmissionRequest_CaseNumber{CaseNumber: sub.GetCaseNumber()}})
	if err != nil || get.GetSubmission().GetCaseId() != sub.GetCaseId() {
		t.Fatalf("GetSubmission = %v, %v", get, err)
	}
}

func TestAnsweredConsultationIsPublishedAsAnswered(t *testing.T) {
	s := startStack(t)
	client := intakev1.NewIntakeServiceClient(s.dial(t, "intake", auth.Principal{Role: auth.RoleHotline}))
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	wo := workOrder("E2E-ANS-1")
	wo.AppealType = typesv1.AppealType_APPEAL_TYPE_CONSULTATION
	wo.AnsweredOnCall, wo.Answer = true, "已告知办理地点和所需材料。"
	if _, err := client.SubmitWorkOrder(ctx, &intakev1.SubmitWorkOrderRequest{WorkOrder: wo}); err != nil {
		t.Fatal(err)
	}
	msgs := s.events(t, "grid.case.answered.>", 1, 30*time.Second)
	var env eventsv1.Envelope
	if err := proto.Unmarshal(msgs[0].Data(), &env); err != nil || env.GetCaseAnswered().GetAnswer() != wo.GetAnswer() {
		t.Fatalf("answered event = %v (%v)", &env, err)
	}
}

func TestBadInputAndCredentials(t *testing.T) {
	s := startStack(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	hotline := intakev1.NewIntakeServiceClient(s.dial(t, "intake", auth.Principal{Role: auth.RoleHotline}))

	bad := workOrder("E2E-BAD-1")
	bad.CallerPhone = "12345abc"
	bad.Content = "bad \xff byte"
	bad.ReceivedAt = timestamppb.New(time.Now().Add(48 * time.Hour))
	_, err := hotline.SubmitWorkOrder(ctx, &intakev1.SubmitWorkOrderRequest{WorkOrder: bad})
	st := status.Convert(err)
	if st.Code() != codes.InvalidArgument {
		t.Fatalf("bad order: %v, want INVALID_ARGUMENT", err)
	}
	fields := map[string]bool{}
	for _, d := range st.Details() {
		if br, ok := d.(*errdetails.BadRequest); ok {
			for _, v := range br.GetFieldViolations() {
				fields[v.GetField()] = true
			}
		}
	}
	for _, f := range []string{"work_order.caller_phone", "work_order.content", "work_order.received_at"} {
		if !fields[f] {
			t.Errorf("no field violation for %s in %v", f, st.Details())
		}
	}
	// Nothing was stored: admin finds nothing; the hotline hears what it
	// hears of any case it may not see (issue 14: it learns nothing).
	admin := intakev1.NewIntakeServiceClient(s.dial(t, "intake", auth.Principal{Role: auth.RoleAdmin}))
	_, err = admin.GetSubmission(ctx, &intakev1.GetSubmissionRequest{Key: &intakev1.GetSubmissionRequest_HotlineOrderNo{HotlineOrderNo: "E2E-BAD-1"}})
	if status.Code(err) != codes.NotFound {
		t.Errorf("GetSubmission after refusal: %v, want NOT_FOUND", err)
	}
	_, err = hotline.GetSubmission(ctx, &intakev1.GetSubmissionRequest{Key: &intakev1.GetSubmissionRequest_HotlineOrderNo{HotlineOrderNo: "E2E-BAD-1"}})
	if status.Code(err) != codes.PermissionDenied {
		t.Errorf("GetSubmission after refusal by the hotline: %v, want PERMISSION_DENIED", err)
	}

	patrol := intakev1.NewIntakeServiceClient(s.dial(t, "intake", auth.Principal{Role: auth.RolePatrol, Subject: "w1"}))
	if _, err := patrol.SubmitWorkOrder(ctx, &intakev1.SubmitWorkOrderRequest{WorkOrder: workOrder("E2E-P-1")}); status.Code(err) != codes.PermissionDenied {
		t.Errorf("patrol submitting a work order: %v, want PERMISSION_DENIED", err)
	}
	conn := s.dial(t, "intake", auth.Principal{Role: auth.RoleHotline})
	_, err = intakev1.NewIntakeServiceClient(conn).GetSubmission(context.Background(), &intakev1.GetSubmissionRequest{})
	if status.Code(err) != codes.InvalidArgument {
		t.Errorf("GetSubmission without a key: %v, want INVALID_ARGUMENT", err)
	}
}

// TestGridctl drives the CLI as an operator would.
func TestGridctl(t *testing.T) {
	s := startStack(t)
	tok, err := s.gridctl(t, "auth", "issue", "--role", "hotline")
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(tok), "\n")
	token := lines[len(lines)-1]
	order := filepath.Join(t.TempDir(), "order.json")
	if err := os.WriteFile(order, []byte(`{"workOrder":{"hotlineOrderNo":"E2E-CLI-1","receivedAt":"2026-01-05T09:00:00+08:00",
		"appealType":"APPEAL_TYPE_HELP","title":"路灯不亮","content":"临汾路375号附近路灯连续三天不亮，晚上行人不安全。",
		"callerPhone":"13700002222","districtCode":"310106","streetCode":"310106021"}}`), 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := s.gridctl(t, "--addr", s.addrs["intake"], "--token", token, "submit", "work-order", "--file", order)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out, "case_number=GF-") {
		t.Fatalf("submit printed %q, want case_number=GF-…", out)
	}
	number := out[strings.Index(out, "case_number=")+len("case_number="):]
	number = strings.TrimSpace(number)
	show, err := s.gridctl(t, "--addr", s.addrs["intake"], "--token", token, "submission", "show", number)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(show, "路灯不亮") || !strings.Contains(show, "310106021") {
		t.Errorf("submission show printed:\n%s", show)
	}
	// reference check: the defaults pass; a broken city set names its problem.
	if out, err := s.gridctl(t, "reference", "check", t.TempDir()); err != nil || !strings.Contains(out, "OK") {
		t.Errorf("reference check of the defaults: %v\n%s", err, out)
	}
	broken := t.TempDir()
	if err := os.WriteFile(filepath.Join(broken, "rules.yaml"), []byte("rules:\n  - name: nobody\n    lead: no-such-department\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if out, err := s.gridctl(t, "reference", "check", broken); err == nil || !strings.Contains(out, "no-such-department") {
		t.Errorf("reference check of a broken set: err=%v\n%s", err, out)
	}

	// Classify may already have published case.classified, so ask for the
	// last event on case.received's subject, not the stream's last.
	events, err := s.gridctl(t, "events", "tail", "--subject", "grid.case.received.>", "--last", "1", "--timeout", "20s")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(events, "grid.case.received.310106.310106021") || !strings.Contains(events, number) {
		t.Errorf("events tail printed:\n%s", events)
	}
}
