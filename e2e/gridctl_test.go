package e2e

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/gridflow/gridflow/pkg/auth"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"

	classifyv1 "github.com/gridflow/gridflow/proto/gen/go/gridflow/classify/v1"
	dispatchv1 "github.com/gridflow/gridflow/proto/gen/go/gridflow/dispatch/v1"
	eventsv1 "github.com/gridflow/gridflow/proto/gen/go/gridflow/events/v1"
	feedbackv1 "github.com/gridflow/gridflow/proto/gen/go/gridflow/feedback/v1"
	intakev1 "github.com/gridflow/gridflow/proto/gen/go/gridflow/intake/v1"
	typesv1 "github.com/gridflow/gridflow/proto/gen/go/gridflow/types/v1"
)

// gridctlJSON runs gridctl with --json and reads its output into m.
func (s *stack) gridctlJSON(t *testing.T, m proto.Message, args ...string) {
	t.Helper()
	out, err := s.gridctl(t, append([]string{"--json"}, args...)...)
	if err != nil {
		t.Fatal(err)
	}
	if err := protojson.Unmarshal([]byte(out), m); err != nil {
		t.Fatalf("gridctl --json %v printed no %T: %v\n%s", args, m, err, out)
	}
}

// gridctlFails runs gridctl, expecting it to fail with every one of want
// in what it says.
func (s *stack) gridctlFails(t *testing.T, want []string, args ...string) {
	t.Helper()
	out, err := s.gridctl(t, args...)
	if err == nil {
		t.Fatalf("gridctl %v succeeded:\n%s", args, out)
	}
	for _, w := range want {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("gridctl %v: %v\nwant %q in it", args, err, w)
		}
	}
}

// pointGridctl writes the context file gridctl reads in the stack's run
// directory (s.gridctl sets GRIDFLOW_RUN_DIR to it), so that commands find
// this stack without --addr, as they find one `make up` started.
func (s *stack) pointGridctl(t *testing.T) {
	t.Helper()
	var b strings.Builder
	for _, svc := range []string{"intake", "classify", "dispatch", "feedback"} {
		fmt.Fprintf(&b, "%s_GRPC_ADDR=%s\n", strings.ToUpper(svc), s.addrs[svc])
	}
	fmt.Fprintf(&b, "GRIDFLOW_NATS_URL=%s\nGRIDFLOW_KEY_DIR=%s\n", s.natsURL, s.keyDir)
	if err := os.WriteFile(filepath.Join(s.dir, "context.env"), []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
}

func rows(out string) []string {
	var r []string
	for l := range strings.Lines(out) {
		r = append(r, strings.Join(strings.Fields(l), " "))
	}
	return r
}

// The gridctl commands the README does not walk through, against the stack:
// the task list's filters and --json, a department's refusal, the dispatch
// queue and arbitration as tables and JSON, the services' refusals as
// gridctl shows them (code, message, one line per field; the existing
// resource of a reused request id), and the catalogue and classification
// reads.
func TestGridctlCommands(t *testing.T) {
	s := startStack(t, "intake", "classify", "dispatch", "feedback")
	s.pointGridctl(t)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	order := fmt.Sprintf("GRIDCTL-%d", time.Now().UnixNano())
	in := intakev1.NewIntakeServiceClient(s.dial(t, "intake", auth.Principal{Role: auth.RoleHotline}))
	sub, err := in.SubmitWorkOrder(ctx, &intakev1.SubmitWorkOrderRequest{WorkOrder: dispatchWorkOrder(order, "露天烧烤",
		"芷江西路晚上有人露天烧烤，油烟很大", zhijiang, typesv1.Urgency_URGENCY_NORMAL)})
	if err != nil {
		t.Fatal(err)
	}
	caseID, number := sub.GetSubmission().GetCaseId(), sub.GetSubmission().GetCaseNumber()
	classified(t, s, caseID, number, zhijiang, "06022", typesv1.Urgency_URGENCY_NORMAL, true, "")
	admin := dispatchClient(t, s, auth.Principal{Role: auth.RoleAdmin})
	task := tasksOf(t, ctx, admin, caseID, 1, time.Minute)[0]
	taskID, dept := task.GetTaskId(), task.GetDepartmentCode()
	as := "department:" + dept

	t.Run("task list", func(t *testing.T) {
		for _, ref := range []string{caseID, number, order} {
			var resp dispatchv1.ListTasksResponse
			s.gridctlJSON(t, &resp, "dispatch", "task", "list", "--case", ref, "--state", "dispatched")
			if len(resp.GetTasks()) != 1 || resp.GetTasks()[0].GetTaskId() != taskID {
				t.Errorf("task list --case %s --json = %v, want task %s", ref, resp.GetTasks(), taskID)
			}
		}
		out, err := s.gridctl(t, "dispatch", "task", "list", "--case", number, "--state", "acknowledged,completed")
		if r := rows(out); err != nil || len(r) != 1 || !strings.HasPrefix(r[0], "TASK CASE DEPARTMENT") {
			t.Errorf("task list of no task = %v\n%s\nwant the header only", err, out)
		}
		// A dispatcher of the other street sees none of it, and a
		// department never another's tasks.
		out, err = s.gridctl(t, "dispatch", "task", "list", "--case", number, "--as", "dispatcher:"+linfen)
		if err != nil || len(rows(out)) != 1 {
			t.Errorf("task list as the other street = %v\n%s", err, out)
		}
		s.gridctlFails(t, []string{"InvalidArgument", "department_code: a department lists only its own tasks"},
			"dispatch", "task", "list", "--department", dept, "--as", "department:"+linfen+"-pcs")
		var shown dispatchv1.Task
		s.gridctlJSON(t, &shown, "dispatch", "task", "show", taskID)
		if shown.GetCaseId() != caseID || shown.GetDepartmentCode() != dept {
			t.Errorf("task show = %v", &shown)
		}
	})

	t.Run("case and classification", func(t *testing.T) {
		var c feedbackv1.Case
		s.gridctlJSON(t, &c, "case", "wait", order, "--state", "dispatched,in_progress")
		if c.GetCaseId() != caseID || c.GetHotlineOrderNo() != order {
			t.Errorf("case wait --json = %v", &c)
		}
		var cl classifyv1.GetClassificationResponse
		s.gridctlJSON(t, &cl, "classify", "show", number)
		if len(cl.GetVersions()) == 0 || cl.GetVersions()[0].GetItemCode() != "06022" {
			t.Errorf("classify show --json = %v", &cl)
		}
		out, err := s.gridctl(t, "catalogue", "list", "--tree", "urban")
		if err != nil || !strings.Contains(strings.Join(rows(out), "\n"), "06022 露天烧烤") || strings.Contains(out, "H01000") {
			t.Errorf("catalogue list --tree urban = %v\n%s", err, out)
		}
		for _, key := range []string{"06022", "露天烧烤"} {
			var it classifyv1.CatalogueItem
			s.gridctlJSON(t, &it, "catalogue", "show", key)
			if it.GetCode() != "06022" {
				t.Errorf("catalogue show %s = %v", key, &it)
			}
		}
		s.gridctlFails(t, []string{"NotFound"}, "catalogue", "show", "99999")
	})

	t.Run("refusals", func(t *testing.T) {
		s.gridctlFails(t, []string{"PermissionDenied"}, "dispatch", "task", "ack", taskID, "--as", "department:"+linfen+"-pcs")
		s.gridctlFails(t, []string{"InvalidArgument", "\n  result: "}, "dispatch", "task", "complete", taskID, "--result", " ", "--as", as)
		s.gridctlFails(t, []string{"FailedPrecondition", "dispatched"}, "dispatch", "task", "complete", taskID, "--result", "已处理", "--as", as)
		s.gridctlFails(t, []string{"Unauthenticated"}, "--token", "not-a-token", "dispatch", "task", "list")
		s.gridctlFails(t, []string{"NotFound", "GF-20260101-999999"}, "case", "show", "GF-20260101-999999")
		s.gridctlFails(t, []string{"after 1s, not closed"}, "case", "wait", number, "--state", "closed", "--wait", "1s")
	})

	t.Run("reference history", func(t *testing.T) {
		// Every service records its loads: a reload on SIGHUP (nothing
		// changed on disk) is recorded after the start, newest first.
		svcs := []string{"intake", "classify", "dispatch", "feedback"}
		for _, svc := range svcs {
			if err := s.procs[svc].Process.Signal(syscall.SIGHUP); err != nil {
				t.Fatal(err)
			}
		}
		reloaded := func(out string) bool {
			for _, svc := range svcs {
				if !strings.Contains(strings.Join(rows(out), "\n"), " "+svc+" SIGHUP unchanged ") {
					return false
				}
			}
			return true
		}
		var out string
		for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(200 * time.Millisecond) {
			out, err = s.gridctl(t, "reference", "history", "--as", "dispatcher:"+zhijiang)
			if err != nil {
				t.Fatalf("reference history = %v\n%s", err, out)
			}
			if reloaded(out) || time.Now().After(deadline) {
				break
			}
		}
		r := rows(out)
		if len(r) < 9 || r[0] != "TIME SERVICE BY OUTCOME DIGEST PREVIOUS INSTANCE ERROR" || !reloaded(out) ||
			!strings.Contains(r[len(r)-1], " start started sha256:") {
			t.Errorf("reference history =\n%s\nwant each service's SIGHUP reload above the starts", out)
		}
		out, err = s.gridctl(t, "reference", "history", "--service", "classify")
		if one := strings.Join(rows(out), "\n"); err != nil || strings.Contains(one, " dispatch ") || !strings.Contains(one, " classify start started sha256:") {
			t.Errorf("reference history --service classify = %v\n%s", err, out)
		}
		s.gridctlFails(t, []string{"PermissionDenied"}, "reference", "history", "--as", as)
	})

	t.Run("request ids", func(t *testing.T) {
		var acked dispatchv1.Task
		s.gridctlJSON(t, &acked, "dispatch", "task", "ack", taskID, "--as", as, "--request-id", "gridctl-e2e-ack", "--note", "马上到")
		if acked.GetState() != eventsv1.TaskState_TASK_STATE_ACKNOWLEDGED {
			t.Fatalf("ack --json = %v", &acked)
		}
		// The same request again: the first result, as a table line.
		out, err := s.gridctl(t, "dispatch", "task", "ack", taskID, "--as", as, "--request-id", "gridctl-e2e-ack", "--note", "马上到")
		if err != nil || !strings.Contains(out, "task "+taskID+" "+dept+": acknowledged (complete by ") {
			t.Errorf("repeated ack = %v\n%s", err, out)
		}
		s.gridctlFails(t, []string{"AlreadyExists", "\n  existing: "}, "dispatch", "task", "ack", taskID, "--as", as,
			"--request-id", "gridctl-e2e-ack", "--note", "another note")
	})

	t.Run("queue and arbitration", func(t *testing.T) {
		out, err := s.gridctl(t, "dispatch", "task", "reject", taskID, "--reason", "not_my_duty", "--note", "不属本单位职责", "--as", as)
		if err != nil || strings.TrimSpace(out) != "task "+taskID+" rejected: queued" {
			t.Fatalf("reject = %v\n%s", err, out)
		}
		out, err = s.gridctl(t, "dispatch", "queue", "--as", "dispatcher:"+zhijiang)
		if err != nil || !strings.Contains(strings.Join(rows(out), "\n"), caseID+" "+number+" rejected ") {
			t.Errorf("queue = %v\n%s\nwant the case, rejected", err, out)
		}
		var queue dispatchv1.ListDispatchQueueResponse
		s.gridctlJSON(t, &queue, "dispatch", "queue", "--as", "district:"+jingan)
		found := false
		for _, e := range queue.GetEntries() {
			found = found || (e.GetCaseId() == caseID && e.GetReason() == dispatchv1.QueueReason_QUEUE_REASON_REJECTED)
		}
		if !found {
			t.Errorf("queue --json = %v, want the case", queue.GetEntries())
		}
		out, err = s.gridctl(t, "dispatch", "queue", "--as", "dispatcher:"+linfen)
		if err != nil || strings.Contains(out, caseID) {
			t.Errorf("the other street's queue = %v\n%s", err, out)
		}

		// Given to another unit holding the item's power (城管执法局 holds
		// city_management), which returns it too: arbitration.
		other := zhijiang + "-cgzd"
		if other == dept {
			other = jingan + "-cgj"
		}
		steer := dispatchClient(t, s, auth.Principal{Role: auth.RoleDispatcher, Subject: zhijiang})
		re, err := steer.Reassign(ctx, &dispatchv1.ReassignRequest{RequestId: "gridctl-e2e-reassign", CaseId: caseID, DepartmentCode: other})
		if err != nil {
			t.Fatal(err)
		}
		out, err = s.gridctl(t, "dispatch", "task", "reject", re.GetTask().GetTaskId(), "--reason", "unclear_ownership", "--as", "department:"+other)
		if err != nil || strings.TrimSpace(out) != "task "+re.GetTask().GetTaskId()+" rejected: arbitration" {
			t.Fatalf("second reject = %v\n%s", err, out)
		}
		out, err = s.gridctl(t, "dispatch", "queue", "--arbitration", "--as", "district:"+jingan)
		want := caseID + " " + number + " 06022 "
		if r := strings.Join(rows(out), "\n"); err != nil || !strings.Contains(r, want) ||
			!strings.Contains(r, dept+" (not_my_duty), "+other+" (unclear_ownership)") {
			t.Errorf("queue --arbitration = %v\n%s\nwant %q and both rejections", err, out, want)
		}
		var arb dispatchv1.ListArbitrationResponse
		s.gridctlJSON(t, &arb, "dispatch", "queue", "--arbitration")
		if len(arb.GetArbitrations()) != 1 || len(arb.GetArbitrations()[0].GetRejections()) != 2 {
			t.Errorf("queue --arbitration --json = %v", arb.GetArbitrations())
		}
	})

}
