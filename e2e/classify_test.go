package e2e

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/gridflow/gridflow/pkg/auth"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	classifyv1 "github.com/gridflow/gridflow/proto/gen/go/gridflow/classify/v1"
	eventsv1 "github.com/gridflow/gridflow/proto/gen/go/gridflow/events/v1"
	intakev1 "github.com/gridflow/gridflow/proto/gen/go/gridflow/intake/v1"
	typesv1 "github.com/gridflow/gridflow/proto/gen/go/gridflow/types/v1"
)

// clClassified decodes the case.classified events among msgs, by case id,
// in stream order.
func clClassified(t *testing.T, data [][]byte) map[string][]*eventsv1.CaseClassified {
	t.Helper()
	out := map[string][]*eventsv1.CaseClassified{}
	for _, b := range data {
		var env eventsv1.Envelope
		if err := proto.Unmarshal(b, &env); err != nil {
			t.Fatal(err)
		}
		if c := env.GetCaseClassified(); c != nil {
			out[c.GetCaseId()] = append(out[c.GetCaseId()], c)
		}
	}
	return out
}

func (s *stack) clEventData(t *testing.T, subject string, want int) [][]byte {
	t.Helper()
	var out [][]byte
	for _, m := range s.events(t, subject, want, time.Minute) {
		out = append(out, m.Data())
	}
	return out
}

// TestClassifyWorkOrderAndBurst: a submitted work order comes out of
// classify classified by the default model; five neighbours reporting one
// noodle stall's smoke, each writing the address their own way, come out as
// one incident whose primary case gets a second version with the urgency
// raised, the four others not dispatchable.
func TestClassifyWorkOrderAndBurst(t *testing.T) {
	s := startStack(t, "intake", "classify")
	hotline := intakev1.NewIntakeServiceClient(s.dial(t, "intake", auth.Principal{Role: auth.RoleHotline}))
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()

	wo := workOrder("E2E-CL-0001") // night construction noise at 共和新路1234弄5号
	resp, err := hotline.SubmitWorkOrder(ctx, &intakev1.SubmitWorkOrderRequest{WorkOrder: wo})
	if err != nil {
		t.Fatal(err)
	}
	first := resp.GetSubmission()
	got := clClassified(t, s.clEventData(t, "grid.case.classified.310106.310106022", 1))[first.GetCaseId()]
	if len(got) != 1 {
		t.Fatalf("case.classified for %s: %d events", first.GetCaseNumber(), len(got))
	}
	c := got[0]
	if c.GetItemCode() != "08001" || c.GetClassificationVersion() != 1 || !c.GetDispatchable() || c.GetModelVersion() == "" ||
		c.GetMethod() != eventsv1.ClassificationMethod_CLASSIFICATION_METHOD_MODEL || c.GetConfidence() < 0.3 ||
		c.GetCaseNumber() != first.GetCaseNumber() || c.GetIncidentId() == "" {
		t.Errorf("case.classified = %v; want 08001 施工扰民 by the model, version 1, dispatchable", c)
	}

	reports := []struct{ title, content, addr string }{
		{"饭店油烟扰民", "楼下兰州拉面馆的油烟直接排到居民窗口，油烟味很大，窗户都不能开。", "上海市静安区共和新路1234号兰州拉面"},
		{"油烟污染", "兰州拉面店没有装油烟净化器，油烟全排到楼上住户家里。", "共和新路１２３４号兰州拉面馆门口"},
		{"拉面馆油烟", "兰州拉面的排烟管对着居民楼，每天中午晚上油烟呛人。", "静安区共和新路一千二百三十四号"},
		{"油烟扰民", "楼下拉面馆油烟太大，家里晾的衣服都是油烟味。", "共和新路1234号旁边的兰州拉面"},
		{"油烟污染", "兰州拉面店没有装油烟净化器，每天油烟排到楼上住户家里。", "闸北区共和新路1234号兰州拉面店"},
	}
	var ids []string
	for i, r := range reports {
		w := workOrder(fmt.Sprintf("E2E-CL-1%03d", i))
		w.Title, w.Content, w.Address = r.title, r.content, r.addr
		w.ReceivedAt = timestamppb.New(time.Now().Add(-time.Duration(10-i) * time.Minute))
		resp, err := hotline.SubmitWorkOrder(ctx, &intakev1.SubmitWorkOrderRequest{WorkOrder: w})
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, resp.GetSubmission().GetCaseId())
	}
	// 1 + 5 first versions + the primary's second.
	byCase := clClassified(t, s.clEventData(t, "grid.case.classified.310106.310106022", 7))
	incident, primary := "", ""
	for i, id := range ids {
		vs := byCase[id]
		if len(vs) == 0 {
			t.Fatalf("report %d (%s) was not classified (sent to review?)", i, id)
		}
		v1 := vs[0]
		if v1.GetItemCode() != "06021" {
			t.Errorf("report %d filed under %s %s, want 06021 油烟污染", i, v1.GetItemCode(), v1.GetItemName())
		}
		if incident == "" {
			incident = v1.GetIncidentId()
		}
		if v1.GetIncidentId() != incident || incident == "" {
			t.Errorf("report %d in incident %q, want %q", i, v1.GetIncidentId(), incident)
		}
		if v1.GetDispatchable() {
			if primary != "" {
				t.Errorf("two dispatchable reports: %s and %s", primary, id)
			}
			primary = id
		}
	}
	if primary != ids[0] {
		t.Fatalf("primary = %q, want the first report %s", primary, ids[0])
	}
	pv := byCase[primary]
	if len(pv) != 2 || pv[1].GetClassificationVersion() != 2 || pv[1].GetUrgency() != typesv1.Urgency_URGENCY_URGENT ||
		pv[1].GetIncidentReports() != 5 || !pv[1].GetDispatchable() || !containsString(pv[1].GetLabels(), "重复投诉") {
		t.Errorf("primary versions = %v; want version 2 urgent, 5 reports, labelled 重复投诉", pv)
	}
	if g := s.events(t, "grid.incident.grouped.310106.310106022", 4, time.Minute); len(g) != 4 {
		t.Errorf("incident.grouped = %d, want 4", len(g))
	}

	// The dispatcher sees one incident of five reports.
	cl := classifyv1.NewClassifyServiceClient(s.dial(t, "classify", auth.Principal{Role: auth.RoleDispatcher, Subject: "310106022"}))
	inc, err := cl.GetIncident(ctx, &classifyv1.GetIncidentRequest{IncidentId: incident})
	if err != nil {
		t.Fatal(err)
	}
	if i := inc.GetIncident(); i.GetReports() != 5 || !i.GetUrgencyRaised() || i.GetPrimaryCaseId() != primary || !i.GetOpen() {
		t.Errorf("incident = %v", i)
	}
	out, err := s.gridctl(t, "--addr", s.addrs["classify"], "incident", "list")
	if err != nil || !strings.Contains(out, incident) || !strings.Contains(out, "5 reports") {
		t.Errorf("gridctl incident list = %q, %v", out, err)
	}
}

// TestClassifyReviewQueue: a case the model cannot place waits for a
// dispatcher, who files it; the decision is exported as training data.
func TestClassifyReviewQueue(t *testing.T) {
	s := startStack(t, "intake", "classify")
	hotline := intakev1.NewIntakeServiceClient(s.dial(t, "intake", auth.Principal{Role: auth.RoleHotline}))
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	wo := workOrder("E2E-CL-REVIEW")
	wo.Title, wo.Content = "建议", "希望在小区里多装几张长椅，方便老人休息。"
	resp, err := hotline.SubmitWorkOrder(ctx, &intakev1.SubmitWorkOrderRequest{WorkOrder: wo})
	if err != nil {
		t.Fatal(err)
	}
	caseID := resp.GetSubmission().GetCaseId()
	msgs := s.events(t, "grid.case.review_needed.310106.310106022", 1, time.Minute)
	var env eventsv1.Envelope
	if err := proto.Unmarshal(msgs[0].Data(), &env); err != nil {
		t.Fatal(err)
	}
	rn := env.GetCaseReviewNeeded()
	if rn.GetCaseId() != caseID || len(rn.GetChoices()) == 0 || rn.GetFallbackAt() == nil {
		t.Fatalf("review_needed = %v", rn)
	}
	if _, err := s.gridctl(t, "--addr", s.addrs["classify"], "review", "resolve", caseID, "H09001", "--note", "养老服务设施"); err != nil {
		t.Fatal(err)
	}
	byCase := clClassified(t, s.clEventData(t, "grid.case.classified.310106.310106022", 1))
	if vs := byCase[caseID]; len(vs) != 1 || vs[0].GetItemCode() != "H09001" ||
		vs[0].GetMethod() != eventsv1.ClassificationMethod_CLASSIFICATION_METHOD_REVIEW {
		t.Errorf("after review: %v", vs)
	}
	out, err := s.gridctl(t, "--addr", s.addrs["classify"], "export", "corrections")
	if err != nil || !strings.Contains(out, `"label":"H09001"`) || !strings.Contains(out, "多装几张长椅") {
		t.Errorf("export corrections = %q, %v", out, err)
	}
}

func containsString(xs []string, x string) bool {
	for _, y := range xs {
		if y == x {
			return true
		}
	}
	return false
}
