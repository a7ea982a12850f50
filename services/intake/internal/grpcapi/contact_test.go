package grpcapi_test

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/gridflow/gridflow/pkg/auth"
	"github.com/gridflow/gridflow/pkg/consumer"
	"github.com/gridflow/gridflow/pkg/envelope"
	"github.com/gridflow/gridflow/pkg/natsjs"
	"github.com/gridflow/gridflow/services/intake/internal/events"
	"github.com/gridflow/gridflow/services/intake/internal/postgres"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/testing/protocmp"
	"google.golang.org/protobuf/types/known/timestamppb"

	eventsv1 "github.com/gridflow/gridflow/proto/gen/go/gridflow/events/v1"
	intakev1 "github.com/gridflow/gridflow/proto/gen/go/gridflow/intake/v1"
	typesv1 "github.com/gridflow/gridflow/proto/gen/go/gridflow/types/v1"
)

// contactCases submits a named and an anonymous caller's work orders on
// street 310106022 and a patrol report, and runs intake's tasks consumer
// as main does.
type contactCases struct {
	named, anonymous, patrol string // case ids
}

func (e *env) contactCases(t *testing.T) contactCases {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	r, err := consumer.New(e.js, e.pool, consumer.Config{Name: events.ConsumerTasks, Subjects: events.TaskSubjects},
		events.Tasks(postgres.SetTask), slog.Default())
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = r.Run(ctx) }()

	c, hctx := e.as(t, "hotline")
	named := order("C-NAMED")
	named.CallerName, named.Address = "王小明", "静安区共和新路1234弄5号201室"
	named.Content = "楼下烧烤噪声，请回电13812345678"
	anon := order("C-ANON")
	anon.CallerName, anon.CallerPhone, anon.Anonymous = "李四", "13987654321", true
	anon.Address = "静安区共和新路1234弄7号"
	var cs contactCases
	for _, x := range []struct {
		wo *intakev1.WorkOrder
		id *string
	}{{named, &cs.named}, {anon, &cs.anonymous}} {
		resp, err := c.SubmitWorkOrder(hctx, &intakev1.SubmitWorkOrderRequest{WorkOrder: x.wo})
		if err != nil {
			t.Fatal(err)
		}
		*x.id = resp.GetSubmission().GetCaseId()
	}
	pc, pctx := e.as(t, "patrol:w-0017")
	pr, err := pc.SubmitPatrolReport(pctx, &intakev1.SubmitPatrolReportRequest{Report: &intakev1.PatrolReport{
		RequestId: "p-1", WorkerId: "w-0017", Description: "消防通道堵塞", Location: &typesv1.LatLng{Lat: 31.2980, Lng: 121.4500,
			Datum: typesv1.Datum_DATUM_WGS84}, ObservedAt: timestamppb.New(time.Now().Add(-time.Minute))}})
	if err != nil {
		t.Fatal(err)
	}
	cs.patrol = pr.GetSubmission().GetCaseId()
	return cs
}

// publishTask publishes a task event as dispatch would.
func (e *env) publishTask(t *testing.T, caseID, taskID, dept string, role eventsv1.TaskRole, state eventsv1.TaskState, at time.Time) {
	t.Helper()
	ref := &eventsv1.TaskRef{TaskId: taskID, CaseId: caseID, DepartmentCode: dept, Role: role, State: state,
		DistrictCode: "310106", StreetCode: "310106022"}
	env := &eventsv1.Envelope{EventId: fmt.Sprintf("%s-%d", taskID, state), CaseId: caseID, OccurredAt: timestamppb.New(at)}
	switch state {
	case eventsv1.TaskState_TASK_STATE_DISPATCHED:
		env.Payload = &eventsv1.Envelope_TaskDispatched{TaskDispatched: &eventsv1.TaskDispatched{Task: ref}}
	case eventsv1.TaskState_TASK_STATE_ACKNOWLEDGED:
		env.Payload = &eventsv1.Envelope_TaskAcknowledged{TaskAcknowledged: &eventsv1.TaskAcknowledged{Task: ref}}
	case eventsv1.TaskState_TASK_STATE_COMPLETED:
		env.Payload = &eventsv1.Envelope_TaskCompleted{TaskCompleted: &eventsv1.TaskCompleted{Task: ref}}
	case eventsv1.TaskState_TASK_STATE_REJECTED:
		env.Payload = &eventsv1.Envelope_TaskRejected{TaskRejected: &eventsv1.TaskRejected{Task: ref}}
	default:
		t.Fatalf("publishTask: state %v", state)
	}
	env.Type = envelope.Name(env)
	data, err := proto.Marshal(env)
	if err != nil {
		t.Fatal(err)
	}
	subject := fmt.Sprintf("grid.task.%s.%s.310106.310106022", envelope.Event(env.Type), dept)
	msg := &nats.Msg{Subject: subject, Data: data, Header: nats.Header{}}
	msg.Header.Set(nats.MsgIdHdr, env.EventId)
	if _, err := e.js.PublishMsg(context.Background(), msg); err != nil {
		t.Fatal(err)
	}
}

// waitTasks waits until intake's tasks consumer has applied n task events
// (the holders table has settled on want open rows).
func (e *env) waitOpenTasks(t *testing.T, want int) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		var n int
		if err := e.pool.QueryRow(context.Background(), `SELECT count(*) FROM task_holders WHERE open`).Scan(&n); err != nil {
			t.Fatal(err)
		}
		var pending uint64
		if info, err := e.js.Consumer(context.Background(), natsjs.StreamGrid, events.ConsumerTasks); err == nil {
			ci, err := info.Info(context.Background())
			if err == nil {
				pending = ci.NumPending + uint64(ci.NumAckPending)
			}
		}
		if n == want && pending == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("open tasks = %d (pending %d), want %d", n, pending, want)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestReadContact: who may read a caller's full contact, and that each read
// is audited on the stream while each refusal is not.
func TestReadContact(t *testing.T) {
	e := setup(t)
	cs := e.contactCases(t)
	at := time.Now().Add(-time.Hour)
	lead, co := eventsv1.TaskRole_TASK_ROLE_LEAD, eventsv1.TaskRole_TASK_ROLE_CO_HANDLER
	e.publishTask(t, cs.named, "t-lead", "310106-cgj", lead, eventsv1.TaskState_TASK_STATE_DISPATCHED, at)
	e.publishTask(t, cs.named, "t-co", "310106-fgj", co, eventsv1.TaskState_TASK_STATE_DISPATCHED, at)
	e.publishTask(t, cs.named, "t-co", "310106-fgj", co, eventsv1.TaskState_TASK_STATE_ACKNOWLEDGED, at.Add(time.Minute))
	// A department whose task was completed, and one that rejected its
	// task; the completion arrives before its dispatch (out of order).
	e.publishTask(t, cs.named, "t-done", "310106-scj", co, eventsv1.TaskState_TASK_STATE_COMPLETED, at.Add(2*time.Minute))
	e.publishTask(t, cs.named, "t-done", "310106-scj", co, eventsv1.TaskState_TASK_STATE_DISPATCHED, at)
	e.publishTask(t, cs.named, "t-rej", "310106-jyj", lead, eventsv1.TaskState_TASK_STATE_DISPATCHED, at)
	e.publishTask(t, cs.named, "t-rej", "310106-jyj", lead, eventsv1.TaskState_TASK_STATE_REJECTED, at.Add(time.Minute))
	// The anonymous caller's case has an open task too: it does not help.
	e.publishTask(t, cs.anonymous, "t-anon", "310106-cgj", lead, eventsv1.TaskState_TASK_STATE_DISPATCHED, at)
	e.waitOpenTasks(t, 3)

	named := &intakev1.Contact{Name: "王小明", Phone: "13812345678", Address: "静安区共和新路1234弄5号201室"}
	anonymous := &intakev1.Contact{Name: "李四", Phone: "13987654321", Anonymous: true, Address: "静安区共和新路1234弄7号"}
	const (
		ok        = codes.OK
		denied    = codes.PermissionDenied
		missing   = "00000000-0000-7000-8000-000000000000"
		badNumber = "GF-2026"
	)
	tests := []struct {
		who       string
		ref       *intakev1.ReadContactRequest
		want      codes.Code
		contact   *intakev1.Contact
		grant     string
		whyDenied string
	}{
		{"hotline", byID(cs.named), ok, named, "hotline", ""},
		{"hotline", byOrderNo("C-ANON"), ok, anonymous, "hotline", ""},
		{"dispatcher:310106022", byID(cs.named), ok, named, "street_dispatcher", ""},
		{"dispatcher:310106021", byID(cs.named), denied, nil, "", "another street's dispatcher"},
		{"dispatcher:310106022", byID(cs.anonymous), denied, nil, "", "an anonymous caller: the hotline only"},
		{"department:310106-cgj", byID(cs.named), ok, named, "lead_department", ""},
		{"department:310106-fgj", byID(cs.named), ok, named, "co_handler_department", ""},
		{"department:310106-scj", byID(cs.named), denied, nil, "", "its task is completed"},
		{"department:310106-jyj", byID(cs.named), denied, nil, "", "its task was rejected"},
		{"department:310106-jtj", byID(cs.named), denied, nil, "", "no task on the case"},
		{"department:310106-cgj", byID(cs.anonymous), denied, nil, "", "an anonymous caller, open task or not"},
		{"district:310106", byID(cs.named), denied, nil, "", "districts are not among the exceptions"},
		{"secretary:310106022001", byID(cs.named), denied, nil, "", "secretaries are not"},
		{"patrol:w-0017", byID(cs.named), denied, nil, "", "patrol workers are not"},
		{"system:feedback", byID(cs.named), denied, nil, "", "services are not"},
		{"admin", byID(cs.named), ok, named, "admin", ""},
		{"admin", byID(cs.anonymous), denied, nil, "", "an anonymous caller: not even admin"},
		// A case that does not exist: the same refusal, so nothing is learnt.
		{"dispatcher:310106022", byID(missing), denied, nil, "", "no such case"},
		{"department:310106-cgj", byOrderNo("C-NONE"), denied, nil, "", "no such case"},
		{"hotline", byID(missing), denied, nil, "", "no such case"},
		{"admin", byID(missing), codes.NotFound, nil, "", "admin alone learns a case is missing"},
		{"admin", byID(cs.patrol), codes.FailedPrecondition, nil, "", "a patrol report has no caller"},
		{"hotline", byID(cs.patrol), denied, nil, "", "not a hotline case"},
		{"dispatcher:310106022", &intakev1.ReadContactRequest{Key: &intakev1.ReadContactRequest_CaseNumber{CaseNumber: badNumber}},
			codes.InvalidArgument, nil, "", "a malformed case number"},
		{"dispatcher:310106022", &intakev1.ReadContactRequest{}, codes.InvalidArgument, nil, "", "no case named"},
	}
	var reads []string
	for _, tt := range tests {
		name := tt.who + " " + tt.whyDenied
		c, ctx := e.asPerson(t, mustPrincipal(t, tt.who, "p-1", "值班员"))
		resp, err := c.ReadContact(ctx, tt.ref)
		if got := status.Code(err); got != tt.want {
			t.Errorf("%s: ReadContact(%v) = %v (%v), want %v", name, tt.ref, got, err, tt.want)
			continue
		}
		if tt.want != ok {
			if resp != nil {
				t.Errorf("%s: refused but answered %v", name, resp)
			}
			continue
		}
		got := proto.Clone(resp.GetContact()).(*intakev1.Contact)
		got.NormalisedAddress = nil
		if diff := cmp.Diff(tt.contact, got, protocmp.Transform()); diff != "" {
			t.Errorf("%s: contact mismatch (-want +got):\n%s", name, diff)
		}
		if resp.GetContact().GetNormalisedAddress().GetNumber() == 0 {
			t.Errorf("%s: the normalised address lost its house number: %v", name, resp.GetContact().GetNormalisedAddress())
		}
		reads = append(reads, tt.who+" "+tt.grant+" "+resp.GetCaseId())
	}

	// Every read, and only the reads, is a case.contact_read on the stream,
	// naming the reader (with the person) and the grant, and no contact.
	var audited []string
	for _, env := range e.events(t, "grid.case.contact_read.>", len(reads)) {
		r := env.GetCaseContactRead()
		if env.GetActor().GetPerson().GetId() != "p-1" || r.GetReader().GetPerson().GetName() != "值班员" ||
			r.GetReadAt() == nil || r.GetCaseNumber() == "" || env.GetCaseId() != r.GetCaseId() {
			t.Errorf("case.contact_read %v", env)
		}
		reader := r.GetReader().GetRole()
		if r.GetReader().GetSubject() != "" {
			reader += ":" + r.GetReader().GetSubject()
		}
		audited = append(audited, reader+" "+r.GetGrant()+" "+r.GetCaseId())
		if b, _ := proto.Marshal(env); strings.Contains(string(b), "13812345678") || strings.Contains(string(b), "王小明") {
			t.Errorf("case.contact_read carries the contact: %v", env)
		}
	}
	if diff := cmp.Diff(reads, audited); diff != "" {
		t.Errorf("reads vs case.contact_read events mismatch (-reads +events):\n%s", diff)
	}
}

// TestReadsAreMasked is the masking table of the read RPCs: every reader —
// the hotline and admin included — gets the masked contact from
// GetSubmission and ListSubmissions; an anonymous caller's name and phone
// are absent and the address stops at the lane. (Departments read no
// submissions at all: pkg/policy.)
func TestReadsAreMasked(t *testing.T) {
	e := setup(t)
	cs := e.contactCases(t)
	type view struct{ Name, Phone, Address, Content, Raw string }
	want := map[string]view{
		cs.named: {"王**", "138****5678", "静安区共和新路1234弄5号201室", "楼下烧烤噪声，请回电138****5678", "静安区共和新路1234弄5号201室"},
		cs.anonymous: {"", "", "静安区共和新路1234弄", "共和新路1234弄门口烧烤摊每晚营业到凌晨，噪声扰民。",
			"静安区共和新路1234弄"},
	}
	for _, who := range []string{"hotline", "admin", "dispatcher:310106022", "district:310106"} {
		c, ctx := e.as(t, who)
		for id, w := range want {
			resp, err := c.GetSubmission(ctx, &intakev1.GetSubmissionRequest{Key: &intakev1.GetSubmissionRequest_CaseId{CaseId: id}})
			if err != nil {
				t.Fatalf("%s: GetSubmission: %v", who, err)
			}
			s := resp.GetSubmission()
			wo := s.GetWorkOrder()
			got := view{wo.GetCallerName(), wo.GetCallerPhone(), wo.GetAddress(), wo.GetContent(), s.GetAddress().GetRaw()}
			if diff := cmp.Diff(w, got); diff != "" {
				t.Errorf("%s: GetSubmission(%s) mismatch (-want +got):\n%s", who, id, diff)
			}
			if wo.GetAnonymous() && (s.GetAddress().GetNumber() != 0 || s.GetAddress().GetKey() != "310106|共和新路|1234||" &&
				!strings.HasSuffix(s.GetAddress().GetKey(), "||")) {
				t.Errorf("%s: anonymous address %v", who, s.GetAddress())
			}
		}
		list, err := c.ListSubmissions(ctx, &intakev1.ListSubmissionsRequest{})
		if err != nil {
			t.Fatalf("%s: ListSubmissions: %v", who, err)
		}
		for _, s := range list.GetSubmissions() {
			if w, ok := want[s.GetCaseId()]; ok && (s.GetWorkOrder().GetCallerName() != w.Name || s.GetWorkOrder().GetCallerPhone() != w.Phone) {
				t.Errorf("%s: ListSubmissions shows caller %q %q, want %q %q", who, s.GetWorkOrder().GetCallerName(),
					s.GetWorkOrder().GetCallerPhone(), w.Name, w.Phone)
			}
		}
	}
	// Reads of masked data are not audited.
	if n := e.count(t, "grid.case.contact_read.>"); n != 0 {
		t.Errorf("%d case.contact_read events after masked reads, want 0", n)
	}
}

func byID(id string) *intakev1.ReadContactRequest {
	return &intakev1.ReadContactRequest{Key: &intakev1.ReadContactRequest_CaseId{CaseId: id}}
}

func byOrderNo(no string) *intakev1.ReadContactRequest {
	return &intakev1.ReadContactRequest{Key: &intakev1.ReadContactRequest_HotlineOrderNo{HotlineOrderNo: no}}
}

func mustPrincipal(t *testing.T, s, personID, personName string) auth.Principal {
	t.Helper()
	p, err := auth.ParsePrincipal(s)
	if err != nil {
		t.Fatal(err)
	}
	if p.Role != auth.RoleSystem {
		p.Person = auth.Person{ID: personID, Name: personName}
	}
	return p
}

// events reads the first n events on subject from the start of GRID.
func (e *env) events(t *testing.T, subject string, n int) []*eventsv1.Envelope {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	cons, err := e.js.OrderedConsumer(ctx, natsjs.StreamGrid, jetstream.OrderedConsumerConfig{FilterSubjects: []string{subject}})
	if err != nil {
		t.Fatal(err)
	}
	var out []*eventsv1.Envelope
	for len(out) < n {
		msg, err := cons.Next(jetstream.FetchContext(ctx))
		if err != nil {
			t.Fatalf("%d of %d events on %s: %v", len(out), n, subject, err)
		}
		var env eventsv1.Envelope
		if err := proto.Unmarshal(msg.Data(), &env); err != nil {
			t.Fatal(err)
		}
		out = append(out, &env)
	}
	return out
}

// count is how many messages GRID holds on subject, once the outbox has
// had a moment to publish.
func (e *env) count(t *testing.T, subject string) uint64 {
	t.Helper()
	time.Sleep(500 * time.Millisecond)
	st, err := e.js.Stream(context.Background(), natsjs.StreamGrid)
	if err != nil {
		t.Fatal(err)
	}
	info, err := st.Info(context.Background(), jetstream.WithSubjectFilter(subject))
	if err != nil {
		t.Fatal(err)
	}
	var n uint64
	for _, c := range info.State.Subjects {
		n += c
	}
	return n
}

// TestReadContactAfterRetention: once retention erased a contact, a reader
// who may read it learns it is gone (FAILED_PRECONDITION), and nothing is
// audited, since nothing was read.
func TestReadContactAfterRetention(t *testing.T) {
	e := setup(t)
	cs := e.contactCases(t)
	if _, err := e.pool.Exec(context.Background(), `UPDATE submissions SET contact_erased_at = now() WHERE case_id = $1`, cs.named); err != nil {
		t.Fatal(err)
	}
	for _, who := range []string{"hotline", "dispatcher:310106022", "admin"} {
		c, ctx := e.as(t, who)
		if _, err := c.ReadContact(ctx, byID(cs.named)); status.Code(err) != codes.FailedPrecondition ||
			!strings.Contains(status.Convert(err).Message(), "erased") {
			t.Errorf("%s: ReadContact of an erased contact = %v, want FAILED_PRECONDITION", who, err)
		}
	}
	c, ctx := e.as(t, "dispatcher:310106021")
	if _, err := c.ReadContact(ctx, byID(cs.named)); status.Code(err) != codes.PermissionDenied {
		t.Errorf("another street's dispatcher: %v, want PERMISSION_DENIED (it may not even learn that)", err)
	}
	if n := e.count(t, "grid.case.contact_read.>"); n != 0 {
		t.Errorf("%d case.contact_read events, want 0", n)
	}
}
