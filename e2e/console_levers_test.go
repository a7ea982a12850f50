package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"path/filepath"
	"regexp"
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

// consoleUser is a browser signed in to the console as one account.
type consoleUser struct {
	t      *testing.T
	base   string
	client *http.Client
	csrf   string
}

var csrfRE = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

// addConsoleUser adds an account with gridctl and signs it in.
func addConsoleUser(t *testing.T, s *stack, id, principal string) *consoleUser {
	t.Helper()
	out, err := s.gridctl(t, "--addr", s.addrs["console"], "user", "add", id, "--name", "测试"+id, "--principal", principal)
	if err != nil {
		t.Fatalf("user add %s: %v", id, err)
	}
	jar, _ := cookiejar.New(nil)
	u := &consoleUser{t: t, base: "http://" + s.addrs["console"], client: &http.Client{Jar: jar, Timeout: 30 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
	_, form := u.get("/signin")
	m := csrfRE.FindStringSubmatch(form)
	if m == nil {
		t.Fatalf("sign-in form:\n%s", form)
	}
	if code, page := u.post("/signin", url.Values{"csrf": {m[1]}, "name": {id}, "password": {strings.TrimSpace(out)}}); code != http.StatusSeeOther {
		t.Fatalf("sign in %s: %d\n%s", id, code, page)
	}
	return u
}

func (u *consoleUser) do(req *http.Request) (int, string) {
	u.t.Helper()
	resp, err := u.client.Do(req)
	if err != nil {
		u.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if m := csrfRE.FindStringSubmatch(string(b)); m != nil {
		u.csrf = m[1]
	}
	if resp.StatusCode == http.StatusSeeOther {
		return resp.StatusCode, resp.Header.Get("Location")
	}
	return resp.StatusCode, string(b)
}

func (u *consoleUser) get(path string) (int, string) {
	u.t.Helper()
	req, _ := http.NewRequest(http.MethodGet, u.base+path, nil)
	return u.do(req)
}

func (u *consoleUser) post(path string, form url.Values) (int, string) {
	u.t.Helper()
	req, _ := http.NewRequest(http.MethodPost, u.base+path, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return u.do(req)
}

// lever posts one lever's form on a case, with the session's CSRF token
// (read from the levers page first).
func (u *consoleUser) lever(caseID, name string, fields map[string]string) (int, string) {
	u.t.Helper()
	if code, page := u.get("/cases/" + caseID + "/levers"); code != http.StatusOK {
		u.t.Fatalf("levers page of %s: %d\n%s", caseID, code, page)
	}
	form := url.Values{"csrf": {u.csrf}}
	for k, v := range fields {
		form.Set(k, v)
	}
	return u.post("/cases/"+caseID+"/levers/"+name, form)
}

// wantLever pulls a lever and expects it done: 303 back to the page, which
// says so.
func (u *consoleUser) wantLever(caseID, name string, fields map[string]string) {
	u.t.Helper()
	code, loc := u.lever(caseID, name, fields)
	if code != http.StatusSeeOther || !strings.Contains(loc, "done="+name) {
		u.t.Fatalf("lever %s on %s: %d, want 303 to done=%s:\n%s", name, caseID, code, name, loc)
	}
	if code, page := u.get(loc); code != http.StatusOK || !strings.Contains(page, "已完成：") {
		u.t.Fatalf("after lever %s: %d\n%s", name, code, page)
	}
}

// wantRefused pulls a lever and expects the status and, in the page, the
// error beside the named field (or, with field "", the text).
func (u *consoleUser) wantRefused(caseID, name string, fields map[string]string, code int, field, text string) string {
	u.t.Helper()
	got, page := u.lever(caseID, name, fields)
	if got != code {
		u.t.Fatalf("lever %s on %s: %d, want %d:\n%s", name, caseID, got, code, page)
	}
	if field != "" && !strings.Contains(page, `id="`+name+`-`+field+`-error"`) {
		u.t.Fatalf("lever %s: no error beside %s:\n%s", name, field, leverSection(page, name))
	}
	if text != "" && !strings.Contains(page, text) {
		u.t.Fatalf("lever %s: page lacks %q:\n%s", name, text, leverSection(page, name))
	}
	return page
}

// leverSection cuts one form out of the page, for failure messages.
func leverSection(page, name string) string {
	i := strings.Index(page, `id="lever-`+name+`"`)
	if i < 0 {
		return page
	}
	j := strings.Index(page[i:], "</form>")
	if j < 0 {
		return page[i:]
	}
	return page[i : i+j]
}

// TestConsoleLevers pulls every lever of the console — the dispatcher's
// and the department's — against the real stack, as the people who may: each once as it should go and once refused
// (a field the service names, a state it forbids, or a role the policy
// refuses); then reads the boards and the wall over the same cases, and
// checks every page's refusal for roles that may not open it and that the
// complaint's script shows as text.
func TestConsoleLevers(t *testing.T) {
	s := startStack(t, "intake", "classify", "dispatch", "feedback")
	s.env = append(s.env, "FEEDBACK_GRPC_ADDR="+s.addrs["feedback"], "DISPATCH_GRPC_ADDR="+s.addrs["dispatch"],
		"CLASSIFY_GRPC_ADDR="+s.addrs["classify"])
	s.start(t, "console", filepath.Join(s.bin, "console"))
	s.waitReady(t, "console")

	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	admin := dispatchClient(t, s, auth.Principal{Role: auth.RoleAdmin})
	fbAdmin := feedbackv1.NewFeedbackServiceClient(s.dial(t, "feedback", auth.Principal{Role: auth.RoleAdmin}))
	squad, bureau := zhijiang+"-cgzd", jingan+"-cgj"

	hotline := intakev1.NewIntakeServiceClient(s.dial(t, "intake", auth.Principal{Role: auth.RoleHotline}))
	submit := func(no string, house int, title string) (id, number string) {
		wo := authzNoise(no, house)
		if title != "" {
			wo.Title = title
		}
		resp, err := hotline.SubmitWorkOrder(ctx, &intakev1.SubmitWorkOrderRequest{WorkOrder: wo})
		if err != nil {
			t.Fatalf("submit %s: %v", no, err)
		}
		id, number = resp.GetSubmission().GetCaseId(), resp.GetSubmission().GetCaseNumber()
		classified(t, s, id, number, zhijiang, "06022", typesv1.Urgency_URGENCY_NORMAL, true, "")
		return id, number
	}
	run := fmt.Sprint(time.Now().UnixNano() % 1e9)
	const script = `<script>alert("lever")</script>烧烤摊油烟扰民`
	caseA, numberA := submit("LV-A-"+run, 61, script)
	caseB, _ := submit("LV-B-"+run, 62, "")
	caseC, _ := submit("LV-C-"+run, 63, "")
	leadA := fbLeadTask(t, ctx, admin, caseA, 0)
	leadB := fbLeadTask(t, ctx, admin, caseB, 0)
	leadC := fbLeadTask(t, ctx, admin, caseC, 0)
	for _, tk := range []*dispatchv1.Task{leadA, leadB, leadC} {
		if tk.GetDepartmentCode() != squad {
			t.Fatalf("case %s went to %s, want %s", tk.GetCaseId(), tk.GetDepartmentCode(), squad)
		}
	}
	fbCaseState(t, ctx, fbAdmin, caseA, feedbackv1.CaseState_CASE_STATE_DISPATCHED)

	zj := addConsoleUser(t, s, "zj-lv", "dispatcher:"+zhijiang)
	lf := addConsoleUser(t, s, "lf-lv", "dispatcher:"+linfen)
	clerk := addConsoleUser(t, s, "cgj-lv", "department:"+bureau)
	squadClerk := addConsoleUser(t, s, "cgzd-lv", "department:"+squad)
	sec := addConsoleUser(t, s, "sec-lv", "secretary:"+zhijiang+"001")
	hot := addConsoleUser(t, s, "hot-lv", "hotline")

	// The levers page: the case by number, its title as text, its task,
	// the dispatcher's forms and not the department's.
	code, page := zj.get("/cases/" + numberA + "/levers")
	if code != http.StatusOK {
		t.Fatalf("levers page: %d\n%s", code, page)
	}
	if strings.Contains(page, "<script>alert") || !strings.Contains(page, "&lt;script&gt;alert(&#34;lever&#34;)&lt;/script&gt;") {
		t.Errorf("the complaint's script is not shown as text on the levers page")
	}
	for _, want := range []string{leadA.GetTaskId(), squad, `id="lever-supervise"`, `id="lever-reassign"`, `id="lever-cancel"`, `id="lever-callback"`} {
		if !strings.Contains(page, want) {
			t.Errorf("levers page lacks %q", want)
		}
	}
	if strings.Contains(page, `id="lever-forward"`) {
		t.Error("a dispatcher is offered the department's forward")
	}
	// Another street's dispatcher reads nothing of the case.
	if code, page := lf.get("/cases/" + caseA + "/levers"); code != http.StatusForbidden || !strings.Contains(page, "无权") {
		t.Errorf("another street's dispatcher on the levers page: %d, want 403 saying so", code)
	}

	// 督办: refused without a task, done on the lead task.
	zj.wantRefused(caseA, "supervise", map[string]string{"task_id": ""}, http.StatusBadRequest, "task_id", "")
	zj.wantLever(caseA, "supervise", map[string]string{"task_id": leadA.GetTaskId(), "note": "请加快处置"})
	if _, page := zj.get("/cases/" + caseA + "/levers"); !strings.Contains(page, "督办") {
		t.Error("the supervised flag is not on the task")
	}
	// Another street's dispatcher's post is refused by the service.
	lf.get("/cases/" + caseA + "/levers")
	if code, _ := lf.post("/cases/"+caseA+"/levers/supervise", url.Values{"csrf": {lf.csrf}, "task_id": {leadA.GetTaskId()}}); code != http.StatusForbidden {
		t.Errorf("supervise by another street's dispatcher: %d, want 403", code)
	}
	// No CSRF token, no write.
	if code, _ := zj.post("/cases/"+caseA+"/levers/supervise", url.Values{"task_id": {leadA.GetTaskId()}}); code != http.StatusForbidden {
		t.Errorf("a lever without the CSRF token: %d, want 403", code)
	}

	// 改派: to a department without the power, refused (dispatch answers
	// FAILED_PRECONDITION naming the power, shown above the form); to an
	// unknown code, refused beside the field; to the district's bureau, done.
	zj.wantRefused(caseA, "reassign", map[string]string{"department_code": zhijiang + "-fgb"}, http.StatusConflict, "", "lacks power")
	zj.wantRefused(caseA, "reassign", map[string]string{"department_code": "not a code"}, http.StatusBadRequest, "department_code", "")
	zj.wantLever(caseA, "reassign", map[string]string{"department_code": bureau, "note": "由区城管局处置"})
	bTask := fbLeadTask(t, ctx, admin, caseA, 0)
	if bTask.GetDepartmentCode() != bureau {
		t.Fatalf("after reassign the lead is %s, want %s", bTask.GetDepartmentCode(), bureau)
	}

	// 转派: the department's lever; refused to the dispatcher by the policy,
	// refused to the bureau before it signs for the task, then done to its
	// street squad.
	if code, page := zj.post("/cases/"+caseA+"/levers/forward", url.Values{"csrf": {zj.csrf}, "task_id": {bTask.GetTaskId()}, "department_code": {squad}}); code != http.StatusForbidden || !strings.Contains(page, "无权操作") {
		t.Errorf("forward by a dispatcher: %d, want 403 said plainly", code)
	}
	// Feedback learns of the bureau's task from the stream: until then the
	// bureau may not read the case.
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(300 * time.Millisecond) {
		if code, _ := clerk.get("/cases/" + caseA + "/levers"); code == http.StatusOK {
			break
		}
	}
	if code, page := clerk.get("/cases/" + caseA + "/levers"); code != http.StatusOK || !strings.Contains(page, `id="lever-forward"`) ||
		!strings.Contains(page, `id="lever-acknowledge"`) || strings.Contains(page, `id="lever-supervise"`) {
		t.Fatalf("the bureau's levers page: %d (want the department's forms only)\n%s", code, page)
	}
	// 签收 by the bureau's clerk; a second one is refused by the state.
	clerk.wantRefused(caseA, "forward", map[string]string{"task_id": bTask.GetTaskId(), "department_code": squad}, http.StatusConflict, "", "当前状态不允许")
	clerk.wantLever(caseA, "acknowledge", map[string]string{"task_id": bTask.GetTaskId(), "note": "已签收"})
	clerk.wantRefused(caseA, "acknowledge", map[string]string{"task_id": bTask.GetTaskId()}, http.StatusConflict, "", "当前状态不允许")
	clerk.wantRefused(caseA, "forward", map[string]string{"task_id": bTask.GetTaskId(), "department_code": ""}, http.StatusBadRequest, "department_code", "")
	clerk.wantRefused(caseA, "forward", map[string]string{"task_id": bTask.GetTaskId(), "department_code": linfen + "-pcs"}, http.StatusConflict, "", "is not a street office or team")
	clerk.wantLever(caseA, "forward", map[string]string{"task_id": bTask.GetTaskId(), "department_code": squad, "note": "转芷江西路中队"})
	var fwd *dispatchv1.Task
	for _, tk := range tasksOf(t, ctx, admin, caseA, 3, 30*time.Second) {
		if tk.GetDepartmentCode() == squad && tk.GetState() == eventsv1.TaskState_TASK_STATE_DISPATCHED {
			fwd = tk
		}
	}
	if fwd == nil {
		t.Fatal("no task dispatched to the squad after the forward")
	}

	// The squad's clerk signs for the forwarded task, reports progress and
	// asks for time (each refused once); the decision is refused without
	// one, then granted.
	waitLevers(t, squadClerk, caseA)
	squadClerk.wantLever(caseA, "acknowledge", map[string]string{"task_id": fwd.GetTaskId()})
	squadClerk.wantRefused(caseA, "progress", map[string]string{"task_id": fwd.GetTaskId(), "text": ""}, http.StatusBadRequest, "text", "")
	squadClerk.wantLever(caseA, "progress", map[string]string{"task_id": fwd.GetTaskId(), "text": "已到场劝离", "on_site": "on"})
	due := fwd.GetDeadlines().GetComplete().GetDue().AsTime().Add(48 * time.Hour).In(shanghaiLoc()).Format("2006-01-02T15:04")
	squadClerk.wantRefused(caseA, "request-extension", map[string]string{"task_id": fwd.GetTaskId(), "reason": "需联合执法"}, http.StatusBadRequest, "new_due", "")
	squadClerk.wantLever(caseA, "request-extension", map[string]string{"task_id": fwd.GetTaskId(), "new_due": due, "reason": "需联合执法"})
	zj.wantRefused(caseA, "decide-extension", map[string]string{"task_id": fwd.GetTaskId()}, http.StatusBadRequest, "decision", "")
	zj.wantRefused(caseA, "decide-extension", map[string]string{"task_id": fwd.GetTaskId(), "decision": "grant", "new_due": "明天"}, http.StatusBadRequest, "new_due", "")
	zj.wantLever(caseA, "decide-extension", map[string]string{"task_id": fwd.GetTaskId(), "decision": "grant", "note": "同意"})

	// 挂账 and 解除挂账 on case A.
	yesterday := time.Now().In(shanghaiLoc()).AddDate(0, 0, -1).Format("2006-01-02")
	nextWeek := time.Now().In(shanghaiLoc()).AddDate(0, 0, 7).Format("2006-01-02")
	zj.wantRefused(caseA, "park", map[string]string{"reason": "等待拆违计划", "review_date": yesterday}, http.StatusBadRequest, "review_date", "")
	zj.wantLever(caseA, "park", map[string]string{"reason": "等待拆违计划", "review_date": nextWeek})
	zj.wantLever(caseA, "unpark", map[string]string{"note": "计划已定"})
	zj.wantRefused(caseA, "unpark", map[string]string{"note": "再次解除"}, http.StatusConflict, "", "当前状态不允许")

	// 不合理诉求.
	zj.wantRefused(caseA, "exclude", map[string]string{"reason": ""}, http.StatusBadRequest, "reason", "")
	zj.wantLever(caseA, "exclude", map[string]string{"reason": "重复恶意投诉"})

	// 重新分类 on case C: an unknown item refused beside the field; 无证掘路,
	// whose completions wait for review.
	zj.wantRefused(caseC, "reclassify", map[string]string{"item_code": "99999"}, http.StatusBadRequest, "item_code", "")
	zj.wantLever(caseC, "reclassify", map[string]string{"item_code": "08003", "note": "实为无证掘路"})
	// Dispatch re-decides with the new item: the district's construction
	// commission, which holds the power, takes the lead.
	var leadC2 *dispatchv1.Task
	for deadline := time.Now().Add(45 * time.Second); leadC2 == nil; time.Sleep(300 * time.Millisecond) {
		resp, err := admin.ListTasks(ctx, &dispatchv1.ListTasksRequest{CaseId: caseC})
		if err != nil {
			t.Fatal(err)
		}
		for _, tk := range resp.GetTasks() {
			if tk.GetDepartmentCode() == jingan+"-zjw" && tk.GetRole() == eventsv1.TaskRole_TASK_ROLE_LEAD && tk.GetState() == eventsv1.TaskState_TASK_STATE_DISPATCHED {
				leadC2 = tk
			}
		}
		if leadC2 == nil && time.Now().After(deadline) {
			t.Fatalf("case C was not re-routed to %s-zjw after the reclassification: %v", jingan, resp.GetTasks())
		}
	}
	// 办结 by the commission's clerk: refused without a result, then done.
	zjwClerk := addConsoleUser(t, s, "zjw-lv", "department:"+leadC2.GetDepartmentCode())
	waitLevers(t, zjwClerk, caseC)
	zjwClerk.wantLever(caseC, "acknowledge", map[string]string{"task_id": leadC2.GetTaskId()})
	zjwClerk.wantRefused(caseC, "complete", map[string]string{"task_id": leadC2.GetTaskId(), "result": ""}, http.StatusBadRequest, "result", "")
	zjwClerk.wantLever(caseC, "complete", map[string]string{"task_id": leadC2.GetTaskId(), "result": "已责令停工并恢复路面", "evidence": "s3://evidence/lv-c.jpg"})
	if done, err := admin.GetTask(ctx, &dispatchv1.GetTaskRequest{TaskId: leadC2.GetTaskId()}); err != nil || done.GetTask().GetReview() != eventsv1.ReviewState_REVIEW_STATE_PENDING {
		t.Fatalf("completion of 无证掘路 does not wait for review: %v %v", done.GetTask(), err)
	}
	// 办结审核: returning needs a note; approving resolves the case.
	zj.wantRefused(caseC, "review-completion", map[string]string{"task_id": leadC2.GetTaskId(), "decision": "return"}, http.StatusBadRequest, "note", "")
	zj.wantLever(caseC, "review-completion", map[string]string{"task_id": leadC2.GetTaskId(), "decision": "approve"})

	// 回访 on case C once replied; refused on case B, not yet resolved.
	fbCaseState(t, ctx, fbAdmin, caseC, feedbackv1.CaseState_CASE_STATE_REPLIED)
	zj.wantRefused(caseB, "callback", map[string]string{"reached": "on", "solved": "on", "satisfaction": "satisfied"}, http.StatusConflict, "", "当前状态不允许")
	zj.wantLever(caseC, "callback", map[string]string{"reached": "on", "contacted_by_unit": "on", "solved": "on", "satisfaction": "satisfied", "note": "市民满意"})

	// 仲裁 on case B: the squad and then the bureau return it.
	// 退单 by the squad's clerk: "other" needs a note.
	squadClerk.wantRefused(caseB, "reject", map[string]string{"task_id": leadB.GetTaskId(), "reason": "other"}, http.StatusBadRequest, "note", "")
	squadClerk.wantLever(caseB, "reject", map[string]string{"task_id": leadB.GetTaskId(), "reason": "not_my_duty"})
	zj.wantRefused(caseB, "arbitrate", map[string]string{"department_code": squad}, http.StatusConflict, "", "当前状态不允许")
	zj.wantLever(caseB, "reassign", map[string]string{"department_code": bureau})
	bLead := fbLeadTask(t, ctx, admin, caseB, 0)
	waitLevers(t, clerk, caseB)
	clerk.wantLever(caseB, "reject", map[string]string{"task_id": bLead.GetTaskId(), "reason": "other", "note": `<b>不归我们</b>`})
	// The escalation board: case A's supervised task, case B in
	// arbitration with the bureau's note as text.
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(300 * time.Millisecond) {
		code, page = zj.get("/boards/escalations")
		if code == http.StatusOK && strings.Contains(page, caseB) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("escalation board without case B in arbitration: %d\n%s", code, page)
		}
	}
	if !strings.Contains(page, "&lt;b&gt;不归我们&lt;/b&gt;") || strings.Contains(page, "<b>不归我们") {
		t.Error("a rejection note is not shown as text on the escalation board")
	}
	if !strings.Contains(page, "督办（") || !strings.Contains(page, "GRID_DLQ") {
		t.Errorf("escalation board lacks the supervised list or the dead letters' note:\n%s", page)
	}
	// Dead letters (issue 18): read over the console's NATS user, and the
	// dead webhook deliveries from dispatch, both as tables, not notes.
	if strings.Contains(page, "控制台未连接 NATS") || strings.Contains(page, "死信队列暂时无法读取") ||
		!strings.Contains(page, "<th>消费者</th><th>死信数</th>") || !strings.Contains(page, "<th>部门</th><th>事件</th>") {
		t.Errorf("escalation board lacks the dead letters' or the dead deliveries' table:\n%s", page)
	}
	zj.wantRefused(caseB, "arbitrate", map[string]string{"department_code": ""}, http.StatusBadRequest, "department_code", "")
	zj.wantLever(caseB, "arbitrate", map[string]string{"department_code": squad, "note": "属城管职责"})

	// 核查 on a patrol case awaiting its re-check; refused on a hotline case.
	worker := intakev1.NewIntakeServiceClient(s.dial(t, "intake", auth.Principal{Role: auth.RolePatrol, Subject: "w-0031"}))
	lat, lng := geo.WGS84ToGCJ02(31.2540, 121.4520)
	pr, err := worker.SubmitPatrolReport(ctx, &intakev1.SubmitPatrolReportRequest{Report: &intakev1.PatrolReport{
		RequestId: "lv-p-" + run, CatalogueCode: "03001", Description: "垃圾箱破损，垃圾散落在人行道上",
		Location: &typesv1.LatLng{Lat: lat, Lng: lng, Datum: typesv1.Datum_DATUM_GCJ02}}})
	if err != nil {
		t.Fatal(err)
	}
	caseP := pr.GetSubmission().GetCaseId()
	classified(t, s, caseP, pr.GetSubmission().GetCaseNumber(), zhijiang, "03001", typesv1.Urgency_URGENCY_NORMAL, true, "")
	fbWork(t, ctx, s, fbLeadTask(t, ctx, admin, caseP, 0), zhijiang, "lv-p-"+run, "已更换垃圾箱")
	fbCaseState(t, ctx, fbAdmin, caseP, feedbackv1.CaseState_CASE_STATE_AWAITING_RECHECK)
	zj.wantRefused(caseB, "recheck", map[string]string{"passed": "on"}, http.StatusConflict, "", "当前状态不允许")
	zj.wantLever(caseP, "recheck", map[string]string{"passed": "on", "photos": "s3://recheck/lv.jpg", "note": "已复核"})

	// 取消案件 on case B.
	zj.wantRefused(caseB, "cancel", map[string]string{"reason": ""}, http.StatusBadRequest, "reason", "")
	zj.wantLever(caseB, "cancel", map[string]string{"reason": "市民已自行解决"})

	// The boards and the wall, over the street.
	if code, page := zj.get("/boards/scores"); code != http.StatusOK || !strings.Contains(page, squad) || !strings.Contains(page, "静安区城管执法局芷江西路街道中队") || strings.Contains(page, linfen+"-cgzd") {
		t.Errorf("scoreboard: %d, want the street's departments only:\n%s", code, page)
	}
	if code, page := zj.get("/boards/scores?from=2026-13-01"); code != http.StatusBadRequest || !strings.Contains(page, "from：") {
		t.Errorf("scoreboard with a bad date: %d, want 400 naming from", code)
	}
	if code, page := zj.get("/boards/pareto"); code != http.StatusOK || !strings.Contains(page, `id="chart-data"`) || !strings.Contains(page, `"kind":"pareto"`) {
		t.Errorf("pareto: %d\n%s", code, page)
	}
	if code, page := zj.get("/boards/hotspots"); code != http.StatusOK {
		t.Errorf("hotspots: %d\n%s", code, page)
	}
	if code, page := zj.get("/wall"); code != http.StatusOK || !strings.Contains(page, `"type":"FeatureCollection"`) || !strings.Contains(page, zhijiang+"001") {
		t.Errorf("wall: %d, want the street's grids as GeoJSON", code)
	}
	code, body := zj.get("/wall/data")
	var wall struct {
		Today struct {
			Received int `json:"received"`
		} `json:"today"`
		Trend     []json.RawMessage `json:"trend"`
		OpenCases int               `json:"open_cases"`
		Markers   []struct {
			Grid  string     `json:"grid"`
			Value [3]float64 `json:"value"`
		} `json:"markers"`
	}
	t.Logf("wall data: %s", body)
	if err := json.Unmarshal([]byte(body), &wall); code != http.StatusOK || err != nil {
		t.Fatalf("wall data: %d %v\n%s", code, err, body)
	}
	// Today's five cases less case A, excluded from every figure.
	if wall.Today.Received < 3 || len(wall.Trend) != 7 || wall.OpenCases < 1 {
		t.Errorf("wall data: %s, want today's cases, 7 days of trend and case A open", body)
	}
	for _, m := range wall.Markers {
		if !strings.HasPrefix(m.Grid, zhijiang) || m.Value[0] < 121 || m.Value[0] > 122 || m.Value[1] < 31 || m.Value[1] > 32 {
			t.Errorf("a marker outside the street: %+v", m)
		}
	}
	if resp, err := http.Get("http://" + s.addrs["console"] + "/boards/assets/echarts.min.js"); err != nil || resp.StatusCode != http.StatusOK {
		t.Errorf("ECharts is not served by the console: %v", err)
	} else {
		resp.Body.Close()
	}

	// Every page's refusal for roles that may not open it.
	for _, c := range []struct {
		name string
		who  *consoleUser
		path string
	}{
		{"secretary", sec, "/cases/" + caseA + "/levers"}, {"hotline", hot, "/cases/" + caseA + "/levers"},
		{"department", clerk, "/boards/escalations"}, {"department", clerk, "/boards/scores"}, {"department", clerk, "/boards/pareto"},
		{"department", clerk, "/boards/hotspots"}, {"department", clerk, "/wall"}, {"department", clerk, "/wall/data"},
		{"secretary", sec, "/boards/escalations"}, {"hotline", hot, "/boards/scores"}, {"hotline", hot, "/wall"},
	} {
		if code, _ := c.who.get(c.path); code != http.StatusForbidden {
			t.Errorf("the %s opened %s: %d, want 403", c.name, c.path, code)
		}
	}
	if code, _ := sec.post("/cases/"+caseA+"/levers/cancel", url.Values{"csrf": {sec.csrf}, "reason": {"x"}}); code != http.StatusForbidden {
		t.Errorf("a secretary pulled a lever: %d, want 403", code)
	}
}

// waitLevers waits until the account may read the case: feedback learns of
// a department's task from the stream, a moment after dispatch made it.
func waitLevers(t *testing.T, u *consoleUser, caseID string) {
	t.Helper()
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(300 * time.Millisecond) {
		code, page := u.get("/cases/" + caseID + "/levers")
		if code == http.StatusOK {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("the levers page of %s: %d\n%s", caseID, code, page)
		}
	}
}

func shanghaiLoc() *time.Location {
	loc, err := time.LoadLocation("Asia/Shanghai")
	if err != nil {
		return time.FixedZone("CST", 8*3600)
	}
	return loc
}
