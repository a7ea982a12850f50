package e2e

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/gridflow/gridflow/pkg/auth"
	"github.com/gridflow/gridflow/pkg/geo"
	dispatchv1 "github.com/gridflow/gridflow/proto/gen/go/gridflow/dispatch/v1"
	eventsv1 "github.com/gridflow/gridflow/proto/gen/go/gridflow/events/v1"
	feedbackv1 "github.com/gridflow/gridflow/proto/gen/go/gridflow/feedback/v1"
	intakev1 "github.com/gridflow/gridflow/proto/gen/go/gridflow/intake/v1"
	typesv1 "github.com/gridflow/gridflow/proto/gen/go/gridflow/types/v1"
)

// TestGridctlLevers runs gridctl's dispatcher and department actions
// against the real stack, as the principals who may (--as), with table and
// --json output: supervise, progress, reassign, forward, park, unpark,
// exclude, review, arbitrate, cancel, recheck, and the figures; and a
// refusal from the service shown with its code.
func TestGridctlLevers(t *testing.T) {
	s := startStack(t, "intake", "classify", "dispatch", "feedback")
	// Commands that take a case number look it up in feedback: each
	// service at its own address, not one --addr.
	t.Setenv("DISPATCH_GRPC_ADDR", s.addrs["dispatch"])
	t.Setenv("FEEDBACK_GRPC_ADDR", s.addrs["feedback"])
	t.Setenv("CLASSIFY_GRPC_ADDR", s.addrs["classify"])
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	admin := dispatchClient(t, s, auth.Principal{Role: auth.RoleAdmin})
	fbAdmin := feedbackv1.NewFeedbackServiceClient(s.dial(t, "feedback", auth.Principal{Role: auth.RoleAdmin}))
	squad, bureau := zhijiang+"-cgzd", jingan+"-cgj"
	zj := "dispatcher:" + zhijiang
	run := func(args ...string) string {
		t.Helper()
		out, err := s.gridctl(t, args...)
		if err != nil {
			t.Fatal(err)
		}
		return out
	}
	want := func(out string, parts ...string) {
		t.Helper()
		for _, p := range parts {
			if !strings.Contains(out, p) {
				t.Fatalf("output lacks %q:\n%s", p, out)
			}
		}
	}

	hotline := intakev1.NewIntakeServiceClient(s.dial(t, "intake", auth.Principal{Role: auth.RoleHotline}))
	stamp := time.Now().Format("150405.000")
	submit := func(no string, house int) (string, string) {
		resp, err := hotline.SubmitWorkOrder(ctx, &intakev1.SubmitWorkOrderRequest{WorkOrder: authzNoise(no+stamp, house)})
		if err != nil {
			t.Fatal(err)
		}
		id, number := resp.GetSubmission().GetCaseId(), resp.GetSubmission().GetCaseNumber()
		classified(t, s, id, number, zhijiang, "06022", typesv1.Urgency_URGENCY_NORMAL, true, "")
		return id, number
	}
	caseA, numberA := submit("GL-A-", 71)
	caseB, _ := submit("GL-B-", 72)
	caseC, _ := submit("GL-C-", 73)
	leadA := fbLeadTask(t, ctx, admin, caseA, 0)
	leadB := fbLeadTask(t, ctx, admin, caseB, 0)
	fbLeadTask(t, ctx, admin, caseC, 0)
	fbCaseState(t, ctx, fbAdmin, caseA, feedbackv1.CaseState_CASE_STATE_DISPATCHED)

	// 督办 and 阶段性答复 on case A's task.
	want(run("dispatch", "task", "supervise", leadA.GetTaskId(), "--as", zj, "--note", "请加快"), "task "+leadA.GetTaskId(), squad)
	run("dispatch", "task", "ack", leadA.GetTaskId(), "--as", "department:"+squad)
	out := run("--json", "dispatch", "task", "progress", leadA.GetTaskId(), "--as", "department:"+squad, "--text", "已到场劝离", "--on-site")
	var task struct {
		Supervised     bool `json:"supervised"`
		OnSiteReported bool `json:"onSiteReported"`
	}
	if err := json.Unmarshal([]byte(out), &task); err != nil || !task.Supervised || !task.OnSiteReported {
		t.Fatalf("progress --json: %v\n%s", err, out)
	}

	// 挂账 by case number, 解除挂账 with --json, 不合理诉求.
	week := time.Now().In(shanghaiLoc()).AddDate(0, 0, 7).Format("2006-01-02")
	want(run("dispatch", "case", "park", numberA, "--as", zj, "--reason", "等待整治计划", "--review-date", week), "parked until review on "+week)
	out = run("--json", "dispatch", "case", "unpark", caseA, "--as", zj)
	want(out, `"status": "CASE_STATUS_ROUTED"`)
	want(run("dispatch", "case", "exclude", caseA, "--as", zj, "--reason", "重复投诉"), "excluded from assessment")

	// 改派 refused for a unit without the power, then to the bureau, which
	// forwards it to its street squad.
	if _, err := s.gridctl(t, "dispatch", "case", "reassign", caseA, "--as", zj, "--to", zhijiang+"-fgb"); err == nil ||
		!strings.Contains(err.Error(), "FailedPrecondition") || !strings.Contains(err.Error(), "lacks power") {
		t.Fatalf("reassign to a unit without the power: %v", err)
	}
	out = run("dispatch", "case", "reassign", caseA, "--as", zj, "--to", bureau, "--note", "区局处置")
	want(out, bureau, "dispatched")
	bTask := strings.Fields(out)[1]
	run("dispatch", "task", "ack", bTask, "--as", "department:"+bureau)
	want(run("dispatch", "task", "forward", bTask, "--as", "department:"+bureau, "--to", squad), "task "+bTask+" forwarded → task ", "for "+squad)

	// 办结审核: case C reclassified to 无证掘路, whose completion waits for
	// review; refused before it is completed, then approved.
	run("classify", "reclassify", caseC, "08003") // as admin: classify's commands take --token, not --as
	var leadC *dispatchv1.Task
	for deadline := time.Now().Add(45 * time.Second); leadC == nil; time.Sleep(300 * time.Millisecond) {
		resp, err := admin.ListTasks(ctx, &dispatchv1.ListTasksRequest{CaseId: caseC})
		if err != nil {
			t.Fatal(err)
		}
		for _, tk := range resp.GetTasks() {
			if tk.GetDepartmentCode() == jingan+"-zjw" && tk.GetRole() == eventsv1.TaskRole_TASK_ROLE_LEAD && tk.GetState() == eventsv1.TaskState_TASK_STATE_DISPATCHED {
				leadC = tk
			}
		}
		if leadC == nil && time.Now().After(deadline) {
			t.Fatalf("case C was not re-routed: %v", resp.GetTasks())
		}
	}
	if _, err := s.gridctl(t, "dispatch", "task", "review", leadC.GetTaskId(), "--as", zj, "--approve"); err == nil || !strings.Contains(err.Error(), "FailedPrecondition") {
		t.Fatalf("review before completion: %v", err)
	}
	unitC := "department:" + leadC.GetDepartmentCode()
	run("dispatch", "task", "ack", leadC.GetTaskId(), "--as", unitC)
	run("dispatch", "task", "complete", leadC.GetTaskId(), "--as", unitC, "--result", "已责令恢复路面")
	if _, err := s.gridctl(t, "dispatch", "task", "review", leadC.GetTaskId(), "--as", zj, "--return"); err == nil || !strings.Contains(err.Error(), "InvalidArgument") || !strings.Contains(err.Error(), "note") {
		t.Fatalf("return without a note: %v, want INVALID_ARGUMENT naming note", err)
	}
	want(run("dispatch", "task", "review", leadC.GetTaskId(), "--as", zj, "--approve"), "task "+leadC.GetTaskId(), "completed")

	// 仲裁 on case B after two returns, then 取消.
	run("dispatch", "task", "reject", leadB.GetTaskId(), "--as", "department:"+squad, "--reason", "not_my_duty")
	out = run("dispatch", "case", "reassign", caseB, "--as", zj, "--to", bureau)
	run("dispatch", "task", "reject", strings.Fields(out)[1], "--as", "department:"+bureau, "--reason", "other", "--note", "不归我们")
	want(run("dispatch", "queue", "--arbitration", "--as", zj), caseB)
	want(run("dispatch", "case", "arbitrate", caseB, "--as", zj, "--to", squad, "--note", "属城管"), squad)
	want(run("--json", "dispatch", "case", "cancel", caseB, "--as", zj, "--reason", "市民撤诉"), `"status": "CASE_STATUS_CANCELLED"`)

	// 核查 of a patrol case.
	worker := intakev1.NewIntakeServiceClient(s.dial(t, "intake", auth.Principal{Role: auth.RolePatrol, Subject: "w-0031"}))
	lat, lng := geo.WGS84ToGCJ02(31.2540, 121.4520)
	pr, err := worker.SubmitPatrolReport(ctx, &intakev1.SubmitPatrolReportRequest{Report: &intakev1.PatrolReport{
		RequestId: "gl-p-" + stamp, CatalogueCode: "03001", Description: "垃圾箱破损",
		Location: &typesv1.LatLng{Lat: lat, Lng: lng, Datum: typesv1.Datum_DATUM_GCJ02}}})
	if err != nil {
		t.Fatal(err)
	}
	caseP := pr.GetSubmission().GetCaseId()
	classified(t, s, caseP, pr.GetSubmission().GetCaseNumber(), zhijiang, "03001", typesv1.Urgency_URGENCY_NORMAL, true, "")
	fbWork(t, ctx, s, fbLeadTask(t, ctx, admin, caseP, 0), zhijiang, "gl-p-"+stamp, "已更换")
	fbCaseState(t, ctx, fbAdmin, caseP, feedbackv1.CaseState_CASE_STATE_AWAITING_RECHECK)
	want(run("recheck", "record", "--case", pr.GetSubmission().GetCaseNumber(), "--passed", "--as", zj, "--photo", "s3://recheck/gl.jpg"), "recheck ", "closed")

	// The figures behind the boards.
	want(run("figures", "pareto", "--as", zj), "ITEM", "total")
	want(run("--json", "figures", "pareto", "--as", zj), `"total"`)
	want(run("figures", "hotspots", "--as", zj), "KIND")
	if _, err := s.gridctl(t, "figures", "pareto", "--as", zj, "--area", linfen); err == nil || !strings.Contains(err.Error(), "PermissionDenied") {
		t.Fatalf("another street's Pareto: %v, want PERMISSION_DENIED", err)
	}
}
