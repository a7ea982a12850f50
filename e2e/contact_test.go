package e2e

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/gridflow/gridflow/pkg/auth"
	"github.com/nats-io/nats.go/jetstream"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	feedbackv1 "github.com/gridflow/gridflow/proto/gen/go/gridflow/feedback/v1"
	intakev1 "github.com/gridflow/gridflow/proto/gen/go/gridflow/intake/v1"
	typesv1 "github.com/gridflow/gridflow/proto/gen/go/gridflow/types/v1"
)

// TestContactRead is the caller's contact across the stack as processes,
// with the stack's NATS users: the stream carries it masked; the lead
// department reads it in full once intake has learnt of its open task
// (from dispatch's task events, consumer intake-tasks); another street's
// dispatcher is refused; gridctl case contact reads it as admin; each read
// lands in feedback's timeline with its reader; and the stream scrub, as
// the streams user, finds nothing clear to remove.
func TestContactRead(t *testing.T) {
	s := startStack(t, "intake", "classify", "dispatch", "feedback")
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	hotline := intakev1.NewIntakeServiceClient(s.dial(t, "intake", auth.Principal{Role: auth.RoleHotline}))
	admin := dispatchClient(t, s, auth.Principal{Role: auth.RoleAdmin})
	fb := feedbackv1.NewFeedbackServiceClient(s.dial(t, "feedback", auth.Principal{Role: auth.RoleAdmin}))

	wo := dispatchWorkOrder("E2E-CONTACT-1", "商铺音响噪声扰民", "楼下商铺每天开着大音响招揽生意，噪声扰民，请回电13812345678。", zhijiang,
		typesv1.Urgency_URGENCY_NORMAL)
	wo.CallerName, wo.CallerPhone, wo.Address = "王小明", "13812345678", "上海市静安区共和新路1001号"
	resp, err := hotline.SubmitWorkOrder(ctx, &intakev1.SubmitWorkOrderRequest{WorkOrder: wo})
	if err != nil {
		t.Fatal(err)
	}
	caseID, number := resp.GetSubmission().GetCaseId(), resp.GetSubmission().GetCaseNumber()
	if w := resp.GetSubmission().GetWorkOrder(); w.GetCallerName() != "王**" || w.GetCallerPhone() != "138****5678" {
		t.Errorf("SubmitWorkOrder answered the caller %q %q, want it masked", w.GetCallerName(), w.GetCallerPhone())
	}
	classified(t, s, caseID, number, zhijiang, "H04001", typesv1.Urgency_URGENCY_NORMAL, true, "")
	task := fbLeadTask(t, ctx, admin, caseID, 0)

	// The lead department reads the contact once intake knows its task.
	reader := auth.Principal{Role: auth.RoleDepartment, Subject: task.GetDepartmentCode(), Person: auth.Person{ID: "cg-12", Name: "张伟"}}
	dept := intakev1.NewIntakeServiceClient(s.dial(t, "intake", reader))
	req := &intakev1.ReadContactRequest{Key: &intakev1.ReadContactRequest_CaseNumber{CaseNumber: number}}
	var contact *intakev1.ReadContactResponse
	for deadline := time.Now().Add(30 * time.Second); ; {
		contact, err = dept.ReadContact(ctx, req)
		if err == nil || status.Code(err) != codes.PermissionDenied || time.Now().After(deadline) {
			break
		}
		time.Sleep(200 * time.Millisecond)
	}
	if err != nil {
		t.Fatalf("the lead department's ReadContact: %v", err)
	}
	if c := contact.GetContact(); c.GetName() != "王小明" || c.GetPhone() != "13812345678" || c.GetAddress() != "上海市静安区共和新路1001号" {
		t.Errorf("contact = %v", c)
	}
	other := intakev1.NewIntakeServiceClient(s.dial(t, "intake", auth.Principal{Role: auth.RoleDispatcher, Subject: linfen}))
	if _, err := other.ReadContact(ctx, req); status.Code(err) != codes.PermissionDenied {
		t.Errorf("another street's dispatcher: %v, want PERMISSION_DENIED", err)
	}
	out, err := s.gridctl(t, "--addr", s.addrs["intake"], "case", "contact", number)
	if err != nil || !strings.Contains(out, "13812345678") || !strings.Contains(out, "王小明") {
		t.Errorf("gridctl case contact: %v\n%s", err, out)
	}

	// Both reads are in the case's timeline, with their readers.
	var reads []string
	for deadline := time.Now().Add(30 * time.Second); len(reads) < 2; {
		tl, err := fb.GetCaseTimeline(ctx, &feedbackv1.GetCaseTimelineRequest{CaseId: caseID})
		if err != nil && status.Code(err) != codes.NotFound {
			t.Fatal(err)
		}
		reads = nil
		for _, e := range tl.GetEntries() {
			if e.GetType() == "case.contact_read" {
				reads = append(reads, e.GetActor().GetRole()+":"+e.GetActor().GetSubject()+" "+e.GetActor().GetPerson().GetName())
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("timeline has contact reads %v, want the department's and admin's", reads)
		}
		time.Sleep(200 * time.Millisecond)
	}
	if want := "department:" + task.GetDepartmentCode() + " 张伟"; reads[0] != want || reads[1] != "admin: " {
		t.Errorf("contact reads in the timeline %v, want [%s admin: ]", reads, want)
	}

	// Nothing on the stream holds the clear contact: read it raw.
	js := s.jetStream(t)
	cons, err := js.OrderedConsumer(ctx, "GRID", jetstream.OrderedConsumerConfig{FilterSubjects: []string{"grid.>"}})
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for {
		m, err := cons.Next(jetstream.FetchMaxWait(time.Second))
		if err != nil {
			break
		}
		n++
		if strings.Contains(string(m.Data()), "13812345678") || strings.Contains(string(m.Data()), "王小明") {
			t.Errorf("%s holds the clear contact", m.Subject())
		}
	}
	if n == 0 {
		t.Error("read nothing from GRID")
	}
	out, err = s.gridctl(t, "nats", "scrub-contacts", "--wait", "10s")
	if err != nil || !strings.Contains(out, "0 with a clear contact") {
		t.Errorf("gridctl nats scrub-contacts: %v\n%s", err, out)
	}
}
