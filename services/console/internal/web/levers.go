package web

// The levers: every dispatcher action of the APIs on a case as a form, and
// every department's task action (签收, 退单, 延期, 阶段性答复, 办结, 转派). Each form posts to
// POST /cases/{id}/levers/{lever}; the console checks the access policy
// before it calls (a role the table does not let pull a lever is told so
// plainly, and never sees the form), then calls the service as the
// signed-in person. What the service refuses comes back beside the field
// it names: an INVALID_ARGUMENT's BadRequest field violations are matched
// to the form's fields by the request's field names, which the forms use
// as their own; whatever names no field of the form is shown above it.
//
// The forms are the template "levers" (templates/levers.html), which the
// case page includes; GET /cases/{id}/levers renders them alone.

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/gridflow/gridflow/pkg/auth"
	"github.com/gridflow/gridflow/pkg/caseref"
	"github.com/gridflow/gridflow/pkg/policy"
	classifyv1 "github.com/gridflow/gridflow/proto/gen/go/gridflow/classify/v1"
	dispatchv1 "github.com/gridflow/gridflow/proto/gen/go/gridflow/dispatch/v1"
	eventsv1 "github.com/gridflow/gridflow/proto/gen/go/gridflow/events/v1"
	feedbackv1 "github.com/gridflow/gridflow/proto/gen/go/gridflow/feedback/v1"
	typesv1 "github.com/gridflow/gridflow/proto/gen/go/gridflow/types/v1"
	"github.com/gridflow/gridflow/services/console/internal/accounts"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/timestamppb"
)

// Boards are what the levers and boards call beyond feedback: dispatch,
// classify, the reference data (departments and grid polygons) and the
// dead letters' counts. A nil client makes its pages say the service is
// not configured rather than fail.
type Boards struct {
	Dispatch dispatchv1.DispatchServiceClient
	Classify classifyv1.ClassifyServiceClient
	// Reference returns the reference set in force.
	Reference ReferenceSource
	// DeadLetters counts GRID_DLQ's messages per durable that the
	// principal may see (services/console/internal/deadletters); nil when
	// the console has no NATS connection (the board says so).
	DeadLetters func(ctx context.Context, p auth.Principal) ([]DeadLetterCount, error)
	// Webhooks lists dispatch's dead webhook deliveries for the escalation
	// board (issue 18's dead letters; nil: the board says it is not
	// configured).
	Webhooks dispatchv1.WebhookServiceClient
}

// fieldKind is how a lever's field is drawn.
type fieldKind int

const (
	textField fieldKind = iota
	areaField
	taskField   // a select of the case's tasks
	selectField // a select of fixed options
	dateField
	datetimeField
	checkField
)

type option struct{ Value, Label string }

type leverField struct {
	name, label string
	kind        fieldKind
	options     []option
	required    bool
}

// lever is one action: its form and its call.
type lever struct {
	name, title, hint string
	method            string // pkg/policy's full method name
	fields            []leverField
	call              func(ctx context.Context, b Boards, s *Server, caseID string, f url.Values, requestID string) error
}

var (
	taskPick   = leverField{name: "task_id", label: "任务", kind: taskField, required: true}
	noteField  = leverField{name: "note", label: "说明", kind: areaField}
	deptField  = leverField{name: "department_code", label: "部门编码", kind: textField, required: true}
	reasonText = leverField{name: "reason", label: "原因", kind: areaField, required: true}
)

// levers, in the order the page shows them.
var levers = []lever{
	{name: "reassign", title: "改派", hint: "撤回所选任务（不选：牵头任务；待派案件：新牵头单位），改派给另一部门；时限沿用案件原时限。",
		method: policy.Method(policy.DispatchService, "Reassign"),
		fields: []leverField{{name: "task_id", label: "任务（可不选）", kind: taskField}, deptField, noteField},
		call: func(ctx context.Context, b Boards, _ *Server, caseID string, f url.Values, rid string) error {
			_, err := b.Dispatch.Reassign(ctx, &dispatchv1.ReassignRequest{RequestId: rid, CaseId: caseID,
				TaskId: f.Get("task_id"), DepartmentCode: f.Get("department_code"), Note: f.Get("note")})
			return err
		}},
	{name: "supervise", title: "督办", method: policy.Method(policy.DispatchService, "Supervise"),
		fields: []leverField{taskPick, noteField},
		call: func(ctx context.Context, b Boards, _ *Server, _ string, f url.Values, rid string) error {
			_, err := b.Dispatch.Supervise(ctx, &dispatchv1.SuperviseRequest{RequestId: rid, TaskId: f.Get("task_id"), Note: f.Get("note")})
			return err
		}},
	{name: "decide-extension", title: "延期审批", method: policy.Method(policy.DispatchService, "DecideExtension"),
		hint:   "同意时可另定办结时限（北京时间）；不填则按申请的时限。",
		fields: []leverField{taskPick, {name: "decision", label: "决定", kind: selectField, required: true, options: []option{{"grant", "同意延期"}, {"deny", "不同意"}}}, {name: "new_due", label: "新办结时限", kind: datetimeField}, noteField},
		call: func(ctx context.Context, b Boards, _ *Server, _ string, f url.Values, rid string) error {
			req := &dispatchv1.DecideExtensionRequest{RequestId: rid, TaskId: f.Get("task_id"), Note: f.Get("note")}
			switch f.Get("decision") {
			case "grant":
				req.Decision = dispatchv1.ExtensionDecision_EXTENSION_DECISION_GRANT
			case "deny":
				req.Decision = dispatchv1.ExtensionDecision_EXTENSION_DECISION_DENY
			}
			var err error
			if req.NewDue, err = formTime("new_due", f.Get("new_due")); err != nil {
				return err
			}
			_, err = b.Dispatch.DecideExtension(ctx, req)
			return err
		}},
	{name: "review-completion", title: "办结审核", method: policy.Method(policy.DispatchService, "ReviewCompletion"),
		fields: []leverField{taskPick, {name: "decision", label: "决定", kind: selectField, required: true, options: []option{{"approve", "通过"}, {"return", "退回重办"}}}, {name: "note", label: "说明（退回时必填）", kind: areaField}},
		call: func(ctx context.Context, b Boards, _ *Server, _ string, f url.Values, rid string) error {
			req := &dispatchv1.ReviewCompletionRequest{RequestId: rid, TaskId: f.Get("task_id"), Note: f.Get("note")}
			switch f.Get("decision") {
			case "approve":
				req.Decision = dispatchv1.ReviewDecision_REVIEW_DECISION_APPROVE
			case "return":
				req.Decision = dispatchv1.ReviewDecision_REVIEW_DECISION_RETURN
			}
			_, err := b.Dispatch.ReviewCompletion(ctx, req)
			return err
		}},
	{name: "arbitrate", title: "仲裁", hint: "两次退单后由调度员裁定责任单位。", method: policy.Method(policy.DispatchService, "Arbitrate"),
		fields: []leverField{deptField, noteField},
		call: func(ctx context.Context, b Boards, _ *Server, caseID string, f url.Values, rid string) error {
			_, err := b.Dispatch.Arbitrate(ctx, &dispatchv1.ArbitrateRequest{RequestId: rid, CaseId: caseID, DepartmentCode: f.Get("department_code"), Note: f.Get("note")})
			return err
		}},
	{name: "park", title: "挂账", hint: "暂停计时，到复核日期再处理。", method: policy.Method(policy.DispatchService, "ParkCase"),
		fields: []leverField{reasonText, {name: "review_date", label: "复核日期", kind: dateField, required: true}},
		call: func(ctx context.Context, b Boards, _ *Server, caseID string, f url.Values, rid string) error {
			_, err := b.Dispatch.ParkCase(ctx, &dispatchv1.ParkCaseRequest{RequestId: rid, CaseId: caseID, Reason: f.Get("reason"), ReviewDate: f.Get("review_date")})
			return err
		}},
	{name: "unpark", title: "解除挂账", method: policy.Method(policy.DispatchService, "UnparkCase"),
		fields: []leverField{noteField},
		call: func(ctx context.Context, b Boards, _ *Server, caseID string, f url.Values, rid string) error {
			_, err := b.Dispatch.UnparkCase(ctx, &dispatchv1.UnparkCaseRequest{RequestId: rid, CaseId: caseID, Note: f.Get("note")})
			return err
		}},
	{name: "exclude", title: "不合理诉求（不计考核）", method: policy.Method(policy.DispatchService, "ExcludeCase"),
		fields: []leverField{reasonText},
		call: func(ctx context.Context, b Boards, _ *Server, caseID string, f url.Values, rid string) error {
			_, err := b.Dispatch.ExcludeCase(ctx, &dispatchv1.ExcludeCaseRequest{RequestId: rid, CaseId: caseID, Reason: f.Get("reason")})
			return err
		}},
	{name: "cancel", title: "取消案件", hint: "撤回全部未结任务。", method: policy.Method(policy.DispatchService, "CancelCase"),
		fields: []leverField{reasonText},
		call: func(ctx context.Context, b Boards, _ *Server, caseID string, f url.Values, rid string) error {
			_, err := b.Dispatch.CancelCase(ctx, &dispatchv1.CancelCaseRequest{RequestId: rid, CaseId: caseID, Reason: f.Get("reason")})
			return err
		}},
	{name: "reclassify", title: "重新分类", method: policy.Method(policy.ClassifyService, "Reclassify"),
		fields: []leverField{{name: "item_code", label: "事项编码", kind: textField, required: true},
			{name: "urgency", label: "紧急程度", kind: selectField, options: []option{{"", "按事项默认"}, {"normal", "一般"}, {"urgent", "紧急"}, {"emergency", "特急"}}}, noteField},
		call: func(ctx context.Context, b Boards, _ *Server, caseID string, f url.Values, rid string) error {
			if b.Classify == nil {
				return errNotConfigured
			}
			_, err := b.Classify.Reclassify(ctx, &classifyv1.ReclassifyRequest{RequestId: rid, CaseId: caseID, ItemCode: f.Get("item_code"),
				Urgency: urgencyIn(f.Get("urgency")), Note: f.Get("note")})
			return err
		}},
	{name: "callback", title: "回访", method: policy.Method(policy.FeedbackService, "RecordCallback"),
		fields: []leverField{{name: "reached", label: "已联系上诉求人", kind: checkField}, {name: "contacted_by_unit", label: "承办单位曾联系", kind: checkField},
			{name: "solved", label: "问题已解决", kind: checkField},
			{name: "satisfaction", label: "满意度", kind: selectField, options: []option{{"", "（未联系上不填）"}, {"satisfied", "满意"}, {"basic", "基本满意"}, {"unsatisfied", "不满意"}}}, noteField},
		call: func(ctx context.Context, _ Boards, s *Server, caseID string, f url.Values, rid string) error {
			sat := map[string]eventsv1.Satisfaction{"satisfied": eventsv1.Satisfaction_SATISFACTION_SATISFIED,
				"basic": eventsv1.Satisfaction_SATISFACTION_BASIC, "unsatisfied": eventsv1.Satisfaction_SATISFACTION_UNSATISFIED}[f.Get("satisfaction")]
			_, err := s.feedback.RecordCallback(ctx, &feedbackv1.RecordCallbackRequest{RequestId: rid, CaseId: caseID, Reached: f.Get("reached") == "on",
				ContactedByUnit: f.Get("contacted_by_unit") == "on", Solved: f.Get("solved") == "on", Satisfaction: sat, Note: f.Get("note")})
			return err
		}},
	{name: "recheck", title: "核查", method: policy.Method(policy.FeedbackService, "RecordRecheck"),
		fields: []leverField{{name: "passed", label: "核查通过", kind: checkField}, {name: "photos", label: "照片引用（逗号分隔）", kind: textField}, noteField},
		call: func(ctx context.Context, _ Boards, s *Server, caseID string, f url.Values, rid string) error {
			_, err := s.feedback.RecordRecheck(ctx, &feedbackv1.RecordRecheckRequest{RequestId: rid, CaseId: caseID, Passed: f.Get("passed") == "on",
				Photos: splitList(f.Get("photos")), Note: f.Get("note")})
			return err
		}},
	// A department's own task actions (DESIGN.md: departments work through
	// dispatch's API or the console).
	{name: "acknowledge", title: "签收", method: policy.Method(policy.DispatchService, "AcknowledgeTask"),
		fields: []leverField{taskPick, {name: "eta", label: "预计办结时间", kind: datetimeField}, noteField},
		call: func(ctx context.Context, b Boards, _ *Server, _ string, f url.Values, rid string) error {
			eta, err := formTime("eta", f.Get("eta"))
			if err != nil {
				return err
			}
			_, err = b.Dispatch.AcknowledgeTask(ctx, &dispatchv1.AcknowledgeTaskRequest{RequestId: rid, TaskId: f.Get("task_id"), Eta: eta, Note: f.Get("note")})
			return err
		}},
	{name: "reject", title: "退单", hint: "非本辖区时请填写正确的区域编码，系统将自动改派。", method: policy.Method(policy.DispatchService, "RejectTask"),
		fields: []leverField{taskPick, {name: "reason", label: "退单原因", kind: selectField, required: true, options: []option{{"", "（请选择）"},
			{"not_my_area", "非本辖区"}, {"not_my_duty", "非本部门职责"}, {"unclear_ownership", "权属不清"}, {"other", "其他（须说明）"}}},
			{name: "area_code", label: "正确的区域编码（非本辖区）", kind: textField}, noteField},
		call: func(ctx context.Context, b Boards, _ *Server, _ string, f url.Values, rid string) error {
			reason := map[string]eventsv1.RejectReason{"not_my_area": eventsv1.RejectReason_REJECT_REASON_NOT_MY_AREA,
				"not_my_duty": eventsv1.RejectReason_REJECT_REASON_NOT_MY_DUTY, "unclear_ownership": eventsv1.RejectReason_REJECT_REASON_UNCLEAR_OWNERSHIP,
				"other": eventsv1.RejectReason_REJECT_REASON_OTHER}[f.Get("reason")]
			_, err := b.Dispatch.RejectTask(ctx, &dispatchv1.RejectTaskRequest{RequestId: rid, TaskId: f.Get("task_id"), Reason: reason,
				Note: f.Get("note"), AreaCode: f.Get("area_code")})
			return err
		}},
	{name: "request-extension", title: "申请延期", method: policy.Method(policy.DispatchService, "RequestExtension"),
		fields: []leverField{taskPick, {name: "new_due", label: "申请的办结时限", kind: datetimeField, required: true}, reasonText},
		call: func(ctx context.Context, b Boards, _ *Server, _ string, f url.Values, rid string) error {
			due, err := formTime("new_due", f.Get("new_due"))
			if err != nil {
				return err
			}
			_, err = b.Dispatch.RequestExtension(ctx, &dispatchv1.RequestExtensionRequest{RequestId: rid, TaskId: f.Get("task_id"), NewDue: due, Reason: f.Get("reason")})
			return err
		}},
	{name: "progress", title: "阶段性答复", method: policy.Method(policy.DispatchService, "ReportProgress"),
		fields: []leverField{taskPick, {name: "text", label: "进展", kind: areaField, required: true}, {name: "on_site", label: "已到场", kind: checkField}},
		call: func(ctx context.Context, b Boards, _ *Server, _ string, f url.Values, rid string) error {
			_, err := b.Dispatch.ReportProgress(ctx, &dispatchv1.ReportProgressRequest{RequestId: rid, TaskId: f.Get("task_id"), Text: f.Get("text"), OnSite: f.Get("on_site") == "on"})
			return err
		}},
	{name: "complete", title: "办结", method: policy.Method(policy.DispatchService, "CompleteTask"),
		fields: []leverField{taskPick, {name: "result", label: "处置结果", kind: areaField, required: true}, {name: "evidence", label: "证据引用（逗号分隔）", kind: textField}},
		call: func(ctx context.Context, b Boards, _ *Server, _ string, f url.Values, rid string) error {
			_, err := b.Dispatch.CompleteTask(ctx, &dispatchv1.CompleteTaskRequest{RequestId: rid, TaskId: f.Get("task_id"), Result: f.Get("result"), Evidence: splitList(f.Get("evidence"))})
			return err
		}},
	{name: "forward", title: "转派（区级部门转街道）", hint: "签收后转给本部门下属的街道站所或队伍。", method: policy.Method(policy.DispatchService, "ForwardTask"),
		fields: []leverField{taskPick, {name: "department_code", label: "下属单位编码", kind: textField, required: true}, noteField},
		call: func(ctx context.Context, b Boards, _ *Server, _ string, f url.Values, rid string) error {
			_, err := b.Dispatch.ForwardTask(ctx, &dispatchv1.ForwardTaskRequest{RequestId: rid, TaskId: f.Get("task_id"), DepartmentCode: f.Get("department_code"), Note: f.Get("note")})
			return err
		}},
}

func leverNamed(name string) (lever, bool) {
	for _, l := range levers {
		if l.name == name {
			return l, true
		}
	}
	return lever{}, false
}

var errNotConfigured = errors.New("service not configured")

// leverFieldError is a value the console could not turn into the request: the
// field and why, shown like a service's field violation.
type leverFieldError struct{ field, reason string }

func (e *leverFieldError) Error() string { return e.field + ": " + e.reason }

// formTime reads a datetime-local value in Asia/Shanghai; "" is nil.
func formTime(field, v string) (*timestamppb.Timestamp, error) {
	if v == "" {
		return nil, nil
	}
	t, err := time.ParseInLocation("2006-01-02T15:04", v, shanghai)
	if err != nil {
		return nil, &leverFieldError{field, "应为 年-月-日 时:分（北京时间）"}
	}
	return timestamppb.New(t), nil
}

func urgencyIn(v string) typesv1.Urgency {
	return map[string]typesv1.Urgency{"normal": typesv1.Urgency_URGENCY_NORMAL, "urgent": typesv1.Urgency_URGENCY_URGENT,
		"emergency": typesv1.Urgency_URGENCY_EMERGENCY}[v]
}

func splitList(v string) []string {
	var out []string
	for _, p := range strings.FieldsFunc(v, func(r rune) bool { return r == ',' || r == '，' || r == '\n' }) {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

// The views the template "levers" draws.

type fieldView struct {
	Name, Label, Value, Error string
	Kind                      string
	Required, Checked         bool
	Options                   []optionView
}

type optionView struct {
	Value, Label string
	Selected     bool
}

type leverView struct {
	Name, Title, Hint, Error string
	Fields                   []fieldView
}

type leverTaskView struct {
	ID, Department, Role, State, Flags, Due string
}

// LeversView is the data of the template "levers": the case, its tasks,
// the forms the signed-in principal may use, and the CSRF token. The case
// page builds it with Server.LeversFor.
type LeversView struct {
	Title     string
	Account   accounts.Account
	Principal string
	CSRF      string
	CaseID    string
	Case      string // the case number
	CaseTitle string // citizen text: escaped by the template
	RequestID string // one per rendering: a double submit is one action
	Tasks     []leverTaskView
	Levers    []leverView
	Done      string // the lever just pulled
	Error     string // the page's error (the case could not be read)
	Denied    []string
}

var taskStateNames = map[eventsv1.TaskState]string{
	eventsv1.TaskState_TASK_STATE_DISPATCHED: "已派单", eventsv1.TaskState_TASK_STATE_ACKNOWLEDGED: "已签收",
	eventsv1.TaskState_TASK_STATE_REJECTED: "已退单", eventsv1.TaskState_TASK_STATE_FORWARDED: "已转派",
	eventsv1.TaskState_TASK_STATE_EXTENSION_REQUESTED: "申请延期", eventsv1.TaskState_TASK_STATE_COMPLETED: "已办结",
	eventsv1.TaskState_TASK_STATE_WITHDRAWN: "已撤回",
}

var taskRoleNames = map[eventsv1.TaskRole]string{eventsv1.TaskRole_TASK_ROLE_LEAD: "牵头", eventsv1.TaskRole_TASK_ROLE_CO_HANDLER: "协办"}

func flagsOf(t *dispatchv1.Task) string {
	var f []string
	for _, x := range []struct {
		on   bool
		name string
	}{{t.GetWarned(), "预警"}, {t.GetOverdue(), "超时"}, {t.GetSupervised(), "督办"}, {t.GetEscalated(), "升级"}} {
		if x.on {
			f = append(f, x.name)
		}
	}
	return strings.Join(f, "·")
}

func newRequestID() string {
	b := make([]byte, 12)
	_, _ = rand.Read(b)
	return "console-" + hex.EncodeToString(b)
}

// leversRoutes registers the levers' page and their one write route.
func (s *Server) leversRoutes() {
	s.page("GET /cases/{id}/levers", s.leversPage)
	s.page("POST /cases/{id}/levers/{lever}", s.pullLever)
}

func (s *Server) leversPage(w http.ResponseWriter, r *http.Request) {
	sess := sessionOf(r.Context())
	v, code := s.LeversFor(r.Context(), sess, r.PathValue("id"))
	if l, ok := leverNamed(r.URL.Query().Get("done")); ok && code == http.StatusOK {
		v.Done = l.title
	}
	s.render(w, r, code, "levers.html", v)
}

// LeversFor builds the levers' view of a case (its id, number or hotline
// order number) for the session: the case read through feedback and its
// tasks through dispatch, as the person; the HTTP status to answer with.
func (s *Server) LeversFor(ctx context.Context, sess accounts.Session, ref string) (LeversView, int) {
	acting := sess.Account.Acting()
	v := LeversView{Title: "处置操作", Account: sess.Account, Principal: sess.Account.Principal.String(), CSRF: sess.CSRF,
		RequestID: newRequestID(), CaseID: ref}
	cr, err := caseref.Parse(ref)
	if err != nil {
		v.Error = "案件编号有误：" + err.Error()
		return v, http.StatusBadRequest
	}
	cctx, cancel := s.callContext(ctx, acting)
	defer cancel()
	if cctx == nil {
		v.Error = msgNoCredential
		return v, http.StatusInternalServerError
	}
	id, number, order := cr.Fields()
	c, err := s.feedback.GetCase(cctx, &feedbackv1.GetCaseRequest{CaseId: id, CaseNumber: number, HotlineOrderNo: order})
	if err != nil {
		msg, code := plainError(err)
		v.Error = "无法读取案件：" + msg
		return v, code
	}
	v.CaseID, v.Case, v.CaseTitle = c.GetCase().GetCaseId(), c.GetCase().GetCaseNumber(), c.GetCase().GetTitle()
	if s.opts.Boards.Dispatch != nil {
		if _, err := policy.Check(acting, listTasks); err == nil {
			resp, err := s.opts.Boards.Dispatch.ListTasks(cctx, &dispatchv1.ListTasksRequest{CaseId: v.CaseID, PageSize: 100})
			if err != nil {
				msg, code := plainError(err)
				v.Error = "无法读取任务：" + msg
				return v, code
			}
			for _, t := range resp.GetTasks() {
				v.Tasks = append(v.Tasks, leverTaskView{ID: t.GetTaskId(), Department: t.GetDepartmentCode(), Role: taskRoleNames[t.GetRole()],
					State: taskStateNames[t.GetState()], Flags: flagsOf(t), Due: localTime(t.GetDeadlines().GetComplete().GetDue())})
			}
		}
	}
	for _, l := range levers {
		if _, err := policy.Check(acting, l.method); err != nil {
			continue
		}
		v.Levers = append(v.Levers, v.form(l, nil))
	}
	return v, http.StatusOK
}

var listTasks = policy.Method(policy.DispatchService, "ListTasks")

// form draws a lever's form, with the values posted when redrawn after a
// refusal.
func (v *LeversView) form(l lever, posted url.Values) leverView {
	lv := leverView{Name: l.name, Title: l.title, Hint: l.hint}
	for _, f := range l.fields {
		fv := fieldView{Name: f.name, Label: f.label, Required: f.required, Value: posted.Get(f.name)}
		switch f.kind {
		case textField:
			fv.Kind = "text"
		case areaField:
			fv.Kind = "textarea"
		case dateField:
			fv.Kind = "date"
		case datetimeField:
			fv.Kind = "datetime-local"
		case checkField:
			fv.Kind, fv.Checked = "checkbox", posted.Get(f.name) == "on"
		case selectField:
			fv.Kind = "select"
			for _, o := range f.options {
				fv.Options = append(fv.Options, optionView{Value: o.Value, Label: o.Label, Selected: o.Value == fv.Value})
			}
		case taskField:
			fv.Kind = "select"
			if !f.required {
				fv.Options = append(fv.Options, optionView{Value: "", Label: "（牵头任务）", Selected: fv.Value == ""})
			}
			for _, t := range v.Tasks {
				fv.Options = append(fv.Options, optionView{Value: t.ID, Label: t.Department + " · " + t.Role + " · " + t.State,
					Selected: t.ID == fv.Value})
			}
		}
		lv.Fields = append(lv.Fields, fv)
	}
	return lv
}

// pullLever calls one lever's RPC as the person; on success it sends the
// browser back to the page (post/redirect/get), on a refusal it redraws
// the page with the error beside the field.
func (s *Server) pullLever(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
	sess := sessionOf(r.Context())
	acting := sess.Account.Acting()
	l, ok := leverNamed(r.PathValue("lever"))
	if !ok {
		http.Error(w, "没有这项操作", http.StatusNotFound)
		return
	}
	if err := r.ParseForm(); err != nil {
		http.Error(w, "表单有误", http.StatusBadRequest)
		return
	}
	v, code := s.LeversFor(r.Context(), sess, r.PathValue("id"))
	if code != http.StatusOK {
		s.render(w, r, code, "levers.html", v)
		return
	}
	if _, err := policy.Check(acting, l.method); err != nil {
		// The form is not drawn for this role; the refusal is plain.
		v.Denied = append(v.Denied, "无权操作「"+l.title+"」："+err.Error())
		s.render(w, r, http.StatusForbidden, "levers.html", v)
		return
	}
	err := s.callLever(r.Context(), acting, l, v.CaseID, r.PostForm)
	if err == nil {
		s.log.InfoContext(r.Context(), "lever pulled", "lever", l.name, "case_id", v.CaseID, "actor", acting.Actor())
		http.Redirect(w, r, "/cases/"+url.PathEscape(v.CaseID)+"/levers?done="+l.name, http.StatusSeeOther)
		return
	}
	lv := v.form(l, r.PostForm)
	code = lv.refusal(err)
	s.log.InfoContext(r.Context(), "lever refused", "lever", l.name, "case_id", v.CaseID, "actor", acting.Actor(), "status", code, "err", err)
	for i := range v.Levers {
		if v.Levers[i].Name == l.name {
			v.Levers[i] = lv
		}
	}
	s.render(w, r, code, "levers.html", v)
}

func (s *Server) callLever(ctx context.Context, acting auth.Principal, l lever, caseID string, f url.Values) error {
	cctx, cancel := s.callContext(ctx, acting)
	defer cancel()
	if cctx == nil {
		return errors.New("no credential")
	}
	if s.opts.Boards.Dispatch == nil && strings.Contains(l.method, policy.DispatchService) {
		return errNotConfigured
	}
	rid := f.Get("request_id")
	if rid == "" {
		rid = newRequestID()
	}
	return l.call(cctx, s.opts.Boards, s, caseID, f, rid)
}

// refusal puts err beside the field it names, or above the form, and
// returns the HTTP status to answer with.
func (lv *leverView) refusal(err error) int {
	var fe *leverFieldError
	if errors.As(err, &fe) {
		if !lv.setFieldError(fe.field, fe.reason) {
			lv.Error = fe.Error()
		}
		return http.StatusBadRequest
	}
	if errors.Is(err, errNotConfigured) {
		lv.Error = "控制台未配置该服务的地址，请联系管理员。"
		return http.StatusServiceUnavailable
	}
	st := status.Convert(err)
	if st.Code() == codes.InvalidArgument {
		var unplaced []string
		for _, d := range st.Details() {
			br, ok := d.(*errdetails.BadRequest)
			if !ok {
				continue
			}
			for _, fv := range br.GetFieldViolations() {
				if !lv.setFieldError(fv.GetField(), fv.GetDescription()) {
					unplaced = append(unplaced, fv.GetField()+"："+fv.GetDescription())
				}
			}
		}
		switch {
		case len(unplaced) > 0:
			lv.Error = "参数有误：" + strings.Join(unplaced, "；")
		case !lv.anyFieldError():
			lv.Error = "参数有误：" + st.Message()
		}
		return http.StatusBadRequest
	}
	msg, code := plainError(err)
	lv.Error = msg
	return code
}

// setFieldError sets the error of the form's field the violation names
// (the request's field name, or its last dotted part).
func (lv *leverView) setFieldError(field, reason string) bool {
	if i := strings.LastIndex(field, "."); i >= 0 {
		field = field[i+1:]
	}
	for i := range lv.Fields {
		if lv.Fields[i].Name == field {
			if lv.Fields[i].Error != "" {
				lv.Fields[i].Error += "；"
			}
			lv.Fields[i].Error += reason
			return true
		}
	}
	return false
}

func (lv *leverView) anyFieldError() bool {
	for _, f := range lv.Fields {
		if f.Error != "" {
			return true
		}
	}
	return false
}

// plainError says what a service answered, in Chinese for the page, with
// the service's own message where it is meant for people, and the HTTP
// status that goes with it.
func plainError(err error) (string, int) {
	st := status.Convert(err)
	switch st.Code() {
	case codes.InvalidArgument:
		return "参数有误：" + st.Message(), http.StatusBadRequest
	case codes.PermissionDenied:
		return "无权操作：" + st.Message(), http.StatusForbidden
	case codes.Unauthenticated:
		return "调用凭证无效，请重新登录。", http.StatusUnauthorized
	case codes.NotFound:
		return "未找到：" + st.Message(), http.StatusNotFound
	case codes.FailedPrecondition:
		return "当前状态不允许此操作：" + st.Message(), http.StatusConflict
	case codes.AlreadyExists:
		return "重复提交：" + st.Message(), http.StatusConflict
	case codes.ResourceExhausted:
		return "请求过多，请稍后重试。", http.StatusTooManyRequests
	case codes.Unavailable, codes.DeadlineExceeded:
		return "服务暂时不可用，请稍后重试。", http.StatusBadGateway
	}
	return "服务出错，请稍后重试。", http.StatusBadGateway
}
