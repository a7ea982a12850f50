package web

import (
	"context"
	"fmt"
	"net/http"
	"regexp"
	"strings"
	"sync"
	"time"

	"github.com/gridflow/gridflow/pkg/policy"
	classifyv1 "github.com/gridflow/gridflow/proto/gen/go/gridflow/classify/v1"
	dispatchv1 "github.com/gridflow/gridflow/proto/gen/go/gridflow/dispatch/v1"
	eventsv1 "github.com/gridflow/gridflow/proto/gen/go/gridflow/events/v1"
	feedbackv1 "github.com/gridflow/gridflow/proto/gen/go/gridflow/feedback/v1"
	"github.com/gridflow/gridflow/services/console/internal/accounts"
	"github.com/gridflow/gridflow/services/console/internal/live"
)

var (
	getCase           = policy.Method(policy.FeedbackService, "GetCase")
	caseNumberPattern = regexp.MustCompile(`^GF-[0-9]{8}-[0-9]{6,}$`)
	uuidPattern       = regexp.MustCompile(`^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$`)
	orderPattern      = regexp.MustCompile(`^[0-9A-Za-z][0-9A-Za-z_-]{0,63}$`)
)

type timelineView struct {
	At, Type, Actor, Summary, Rule, Model, Department string
}

type classificationView struct {
	Version                                        uint32
	Item, Confidence, Model, Method, Reason, Actor string
	At                                             string
	Unreviewed                                     bool
}

type incidentView struct {
	ID, Item, Primary, Place, SourcePlace string
	Reports                               uint32
	Others                                []string
	Linked                                []string
	Open                                  bool
}

type deadlineView struct{ Name, Due, Limit, Source string }

type taskView struct {
	ID, Department, Role, State, Rule, Reason, Dispatched, Acknowledged string
	Flags                                                               []string
	Deadlines                                                           []deadlineView
	Light, LightName                                                    string
	Progress                                                            []string
	Result                                                              string
	Evidence                                                            []string
	Rejection                                                           string
}

type routeStepView struct {
	Rule, Why string
	Line      int32
	Fired     bool
}

type replyView struct {
	Round       uint32
	Text, At    string
	UnitResults []string
}

// casePageView is the case page; the levers block (the dispatcher's
// action forms) reads CaseID, CSRF, Tasks and Case from it.
type casePageView struct {
	Title     string
	Account   accounts.Account
	Principal string
	CSRF      string
	Error     string
	Ref       string

	Case       *feedbackv1.Case
	CaseID     string
	Number     string
	State      string
	Source     string
	Light      string
	LightName  string
	Received   string
	Due        string
	CaseTitle  string
	Content    string
	Address    string
	Photos     []string
	Area       string
	Lead       string
	Reason     string
	Timeline   []timelineView
	Classes    []classificationView
	Review     *reviewView
	Incident   *incidentView
	Tasks      []taskView
	RawTasks   []*dispatchv1.Task
	Route      []routeStepView
	RouteLead  string
	Replies    []replyView
	Callbacks  []timelineView
	Sections   map[string]string // section → why it could not be read
	Generated  string
	Dispatcher bool
	// Levers: the action forms the person may use on this case (levers.go),
	// nil when it may use none or they could not be read.
	Levers *LeversView

	// Places (issue 20): the history of the case's place (此地历史,
	// places.go); nil when it has none or places are not configured.
	PlaceHistory *placeHistoryView
	// SourcePlace (issue 20, sourceplace.go): the source place coordinating
	// the case, nil when there is none.
	SourcePlace *sourcePlaceView
}

// caseRef reads a case reference: a case number, a case id or a hotline
// order number, by its form.
func caseRef(ref string) (field string, ok bool) {
	switch {
	case caseNumberPattern.MatchString(ref):
		return "case_number", true
	case uuidPattern.MatchString(ref):
		return "case_id", true
	case orderPattern.MatchString(ref):
		return "hotline_order_no", true
	}
	return "", false
}

// casePage is one case: feedback's state and timeline, classify's
// classification and incident, dispatch's routing and tasks with their
// clocks, the reply, callbacks, and the references of photos and
// evidence. Each part is read as the person; a part that cannot be read
// says why in its place, and the rest still shows.
func (s *Server) casePage(w http.ResponseWriter, r *http.Request) {
	sess := sessionOf(r.Context())
	acting := sess.Account.Acting()
	ref := r.PathValue("ref")
	v := casePageView{Title: "案件 " + ref, Account: sess.Account, Principal: sess.Account.Principal.String(), CSRF: sess.CSRF,
		Ref: ref, Sections: map[string]string{}, Generated: time.Now().In(shanghai).Format("2006-01-02 15:04:05")}
	if _, err := policy.Check(acting, getCase); err != nil {
		v.Error = "您的身份（" + v.Principal + "）无权查看案件。"
		s.render(w, r, http.StatusForbidden, "case.html", v)
		return
	}
	field, ok := caseRef(ref)
	if !ok {
		v.Error = "案件编号有误：应为案件编号（GF-日期-序号）、案件ID或热线工单号"
		s.render(w, r, http.StatusBadRequest, "case.html", v)
		return
	}
	ctx, cancel, ok := s.pageContext(w, r, acting, "case.html", &v, &v.Error)
	defer cancel()
	if !ok {
		return
	}
	req := &feedbackv1.GetCaseRequest{}
	switch field {
	case "case_id":
		req.CaseId = ref
	case "case_number":
		req.CaseNumber = ref
	default:
		req.HotlineOrderNo = ref
	}
	resp, err := s.feedback.GetCase(ctx, req)
	if err != nil {
		code, msg := s.callError(r, "GetCase", err, nil)
		v.Error = msg
		s.render(w, r, code, "case.html", v)
		return
	}
	c := resp.GetCase()
	v.Case, v.CaseID, v.Number, v.CaseTitle = c, c.GetCaseId(), c.GetCaseNumber(), c.GetTitle()
	v.Title = "案件 " + c.GetCaseNumber()
	v.State, v.Source, v.Lead, v.Reason = stateNames[c.GetState()], sourceNames[c.GetSource()], c.GetLeadDepartmentCode(), c.GetStateReason()
	v.Received, v.Due = localTime(c.GetReceivedAt()), localTime(c.GetCompleteDue())
	a := c.GetArea()
	v.Area = strings.Join(nonEmpty(known(a.GetDistrictCode()), known(a.GetStreetCode()), known(a.GetCommunityCode()), known(a.GetGridCode())), " / ")
	row := rowOf(c)
	l := row.Light(time.Now())
	v.Light, v.LightName = string(l), lightNames[l]
	_, err = policy.Check(acting, policy.Method(policy.DispatchService, "Reassign"))
	v.Dispatcher = err == nil

	var wg sync.WaitGroup
	var mu sync.Mutex
	fail := func(section, rpc string, err error) {
		_, msg := s.callError(r, rpc, err, nil)
		mu.Lock()
		v.Sections[section] = msg
		mu.Unlock()
	}
	run := func(f func()) { wg.Add(1); go func() { defer wg.Done(); f() }() }
	run(func() { s.caseTimeline(ctx, c.GetCaseId(), &v, &mu, fail) })
	run(func() { s.caseClassification(ctx, c, &v, &mu, fail) })
	run(func() { s.caseTasks(ctx, c.GetCaseId(), &v, &mu, fail) })
	run(func() { s.caseRoute(ctx, c.GetCaseId(), &v, &mu, fail) })
	run(func() { s.caseReplies(ctx, c.GetCaseId(), &v, &mu, fail) })
	run(func() { s.casePlaceHistory(ctx, c.GetCaseId(), &v, &mu, fail) }) // places (issue 20)
	// Source place coordination (issue 20).
	run(func() { s.caseSourcePlace(ctx, acting, c.GetCaseId(), &v, &mu, fail) })
	run(func() {
		if lv, code := s.LeversFor(r.Context(), sess, c.GetCaseId()); code == http.StatusOK && len(lv.Levers) > 0 {
			mu.Lock()
			v.Levers = &lv
			mu.Unlock()
		}
	})
	wg.Wait()
	s.render(w, r, http.StatusOK, "case.html", v)
}

func nonEmpty(ss ...string) []string {
	var out []string
	for _, s := range ss {
		if s != "" {
			out = append(out, s)
		}
	}
	return out
}

func principalText(role, subject, personID, personName string) string {
	s := role
	if subject != "" {
		s += ":" + subject
	}
	if personID != "" || personName != "" {
		s += "（" + strings.TrimSpace(personName+" "+personID) + "）"
	}
	return s
}

func (s *Server) caseTimeline(ctx context.Context, caseID string, v *casePageView, mu *sync.Mutex, fail func(string, string, error)) {
	resp, err := s.feedback.GetCaseTimeline(ctx, &feedbackv1.GetCaseTimelineRequest{CaseId: caseID})
	if err != nil {
		fail("timeline", "GetCaseTimeline", err)
		return
	}
	var entries, callbacks []timelineView
	for _, e := range resp.GetEntries() {
		a := e.GetActor()
		t := timelineView{At: e.GetOccurredAt().AsTime().In(shanghai).Format("01-02 15:04:05"), Type: eventLabel(e.GetType()),
			Actor:   principalText(a.GetRole(), a.GetSubject(), a.GetPerson().GetId(), a.GetPerson().GetName()),
			Summary: e.GetSummary(), Rule: e.GetRule(), Model: e.GetModelVersion(), Department: e.GetDepartmentCode()}
		entries = append(entries, t)
		if e.GetType() == "case.callback_recorded" || e.GetType() == "case.rechecked" {
			callbacks = append(callbacks, t)
		}
	}
	mu.Lock()
	v.Timeline, v.Callbacks = entries, callbacks
	mu.Unlock()
}

func eventLabel(t string) string {
	if n, ok := eventNames[t]; ok {
		return n + "（" + t + "）"
	}
	return t
}

func (s *Server) caseClassification(ctx context.Context, c *feedbackv1.Case, v *casePageView, mu *sync.Mutex, fail func(string, string, error)) {
	resp, err := s.opts.Live.Classify.GetClassification(ctx, &classifyv1.GetClassificationRequest{CaseId: c.GetCaseId()})
	if err != nil {
		fail("classification", "GetClassification", err)
	} else {
		var cv []classificationView
		for _, k := range resp.GetVersions() {
			a := k.GetActor()
			cv = append(cv, classificationView{Version: k.GetVersion(), Item: strings.TrimSpace(k.GetItemCode() + " " + k.GetItemName()),
				Confidence: percent(k.GetConfidence()), Model: k.GetModelVersion(), Method: methodName(k.GetMethod()),
				Reason: k.GetReason(), Unreviewed: k.GetUnreviewed(), At: localTime(k.GetClassifiedAt()),
				Actor: principalText(a.GetRole(), a.GetSubject(), a.GetPerson().GetId(), a.GetPerson().GetName())})
		}
		var rv *reviewView
		if r := resp.GetReview(); r != nil && r.GetCaseId() != "" {
			rv = &reviewView{Model: r.GetModelVersion(), Queued: localTime(r.GetQueuedAt()), Fallback: localTime(r.GetFallbackAt()),
				TimedOut: r.GetState() == classifyv1.ReviewState_REVIEW_STATE_TIMED_OUT}
			for _, ch := range r.GetChoices() {
				rv.Choices = append(rv.Choices, choiceView{Code: ch.GetItemCode(), Name: ch.GetItemName(), Confidence: percent(ch.GetConfidence())})
			}
			if r.GetState() == classifyv1.ReviewState_REVIEW_STATE_RESOLVED {
				p := r.GetResolvedBy()
				rv.Current = "已由 " + principalText(p.GetRole(), p.GetSubject(), p.GetPerson().GetId(), p.GetPerson().GetName()) + " 于 " + localTime(r.GetResolvedAt()) + " 处理"
			}
		}
		mu.Lock()
		v.Classes, v.Review = cv, rv
		mu.Unlock()
	}
	if c.GetIncidentId() == "" {
		return
	}
	ir, err := s.opts.Live.Classify.GetIncident(ctx, &classifyv1.GetIncidentRequest{IncidentId: c.GetIncidentId()})
	if err != nil {
		fail("incident", "GetIncident", err)
		return
	}
	in := ir.GetIncident()
	iv := &incidentView{ID: in.GetIncidentId(), Item: strings.TrimSpace(in.GetItemCode() + " " + in.GetItemName()),
		Primary: in.GetPrimaryCaseId(), Reports: in.GetReports(), Place: in.GetPlaceKey(), Open: in.GetOpen(),
		SourcePlace: in.GetSourcePlaceId(), Linked: in.GetLinkedIncidentIds()}
	for _, id := range in.GetCaseIds() {
		if id != c.GetCaseId() {
			iv.Others = append(iv.Others, id)
		}
	}
	mu.Lock()
	v.Incident = iv
	mu.Unlock()
}

func methodName(m eventsv1.ClassificationMethod) string {
	return strings.ToLower(strings.TrimPrefix(m.String(), "CLASSIFICATION_METHOD_"))
}

var dispatchTaskStates = map[eventsv1.TaskState]string{
	eventsv1.TaskState_TASK_STATE_DISPATCHED: "已派发", eventsv1.TaskState_TASK_STATE_ACKNOWLEDGED: "已签收",
	eventsv1.TaskState_TASK_STATE_REJECTED: "已退单", eventsv1.TaskState_TASK_STATE_FORWARDED: "已转派",
	eventsv1.TaskState_TASK_STATE_EXTENSION_REQUESTED: "申请延期", eventsv1.TaskState_TASK_STATE_COMPLETED: "已办结",
	eventsv1.TaskState_TASK_STATE_WITHDRAWN: "已撤回",
}

func deadlineOf(name string, d *eventsv1.Deadline) (deadlineView, bool) {
	if d == nil || d.GetDue() == nil {
		return deadlineView{}, false
	}
	return deadlineView{Name: name, Due: localTime(d.GetDue()), Limit: d.GetLimit(), Source: d.GetSource()}, true
}

func (s *Server) caseTasks(ctx context.Context, caseID string, v *casePageView, mu *sync.Mutex, fail func(string, string, error)) {
	resp, err := s.opts.Live.Dispatch.ListTasks(ctx, &dispatchv1.ListTasksRequest{CaseId: caseID, PageSize: 100})
	if err != nil {
		fail("tasks", "ListTasks", err)
		return
	}
	now := time.Now()
	var tasks []taskView
	var lead *dispatchv1.Task
	for _, t := range resp.GetTasks() {
		tv := taskView{ID: t.GetTaskId(), Department: t.GetDepartmentCode(), State: dispatchTaskStates[t.GetState()],
			Rule: t.GetRule(), Reason: strings.ToLower(strings.TrimPrefix(t.GetDispatchReason().String(), "DISPATCH_REASON_")),
			Dispatched: localTime(t.GetDispatchedAt()), Acknowledged: localTime(t.GetAcknowledgedAt())}
		if t.GetRole() == eventsv1.TaskRole_TASK_ROLE_LEAD {
			tv.Role = "牵头"
			if open(t.GetState()) {
				lead = t
			}
		} else {
			tv.Role = "协办"
		}
		for _, f := range []struct {
			on   bool
			name string
		}{{t.GetWarned(), "临期预警"}, {t.GetOverdue(), "超期"}, {t.GetSupervised(), "督办"}, {t.GetEscalated(), "已升级"}, {t.GetWhistle(), "吹哨报到"}} {
			if f.on {
				tv.Flags = append(tv.Flags, f.name)
			}
		}
		d := t.GetDeadlines()
		for _, x := range []struct {
			name string
			d    *eventsv1.Deadline
		}{{"签收", d.GetAck()}, {"到场", d.GetOnSite()}, {"办结", d.GetComplete()}} {
			if dv, ok := deadlineOf(x.name, x.d); ok {
				tv.Deadlines = append(tv.Deadlines, dv)
			}
		}
		l := live.NoLight
		if open(t.GetState()) && d.GetStartedAt() != nil && d.GetComplete().GetDue() != nil {
			l = live.LightAt(d.GetStartedAt().AsTime(), d.GetComplete().GetDue().AsTime(), now)
		}
		tv.Light, tv.LightName = string(l), lightNames[l]
		for _, p := range t.GetProgress() {
			tv.Progress = append(tv.Progress, localTime(p.GetReportedAt())+" "+p.GetText())
		}
		if cp := t.GetCompletion(); cp != nil {
			tv.Result, tv.Evidence = cp.GetResult(), cp.GetEvidence()
		}
		if rj := t.GetRejection(); rj != nil && rj.GetRejectedAt() != nil {
			tv.Rejection = strings.TrimSpace(strings.ToLower(strings.TrimPrefix(rj.GetReason().String(), "REJECT_REASON_")) + " " + rj.GetNote() + " " + rj.GetAreaCode())
		}
		tasks = append(tasks, tv)
	}
	mu.Lock()
	v.Tasks, v.RawTasks = tasks, resp.GetTasks()
	mu.Unlock()
	if lead == nil && len(resp.GetTasks()) > 0 {
		lead = resp.GetTasks()[0]
	}
	if lead == nil {
		return
	}
	// The case as the unit reads it: the citizen's text, the address as
	// given and the attachments' references — masked as dispatch keeps them.
	tr, err := s.opts.Live.Dispatch.GetTask(ctx, &dispatchv1.GetTaskRequest{TaskId: lead.GetTaskId()})
	if err != nil {
		fail("detail", "GetTask", err)
		return
	}
	cd := tr.GetTask().GetCase()
	var photos []string
	for _, a := range cd.GetAttachments() {
		photos = append(photos, strings.TrimSpace(a.GetName()+" "+a.GetUri()))
	}
	mu.Lock()
	v.Content, v.Address, v.Photos = cd.GetContent(), cd.GetAddress(), photos
	mu.Unlock()
}

func open(s eventsv1.TaskState) bool {
	switch s {
	case eventsv1.TaskState_TASK_STATE_REJECTED, eventsv1.TaskState_TASK_STATE_FORWARDED, eventsv1.TaskState_TASK_STATE_WITHDRAWN:
		return false
	}
	return true
}

func (s *Server) caseRoute(ctx context.Context, caseID string, v *casePageView, mu *sync.Mutex, fail func(string, string, error)) {
	resp, err := s.opts.Live.Dispatch.SimulateRoute(ctx, &dispatchv1.SimulateRouteRequest{Subject: &dispatchv1.SimulateRouteRequest_CaseId{CaseId: caseID}})
	if err != nil {
		fail("route", "SimulateRoute", err)
		return
	}
	var steps []routeStepView
	for _, p := range resp.GetPath() {
		steps = append(steps, routeStepView{Rule: p.GetRule(), Why: p.GetWhy(), Line: p.GetLine(), Fired: p.GetFired()})
	}
	lead := ""
	if l := resp.GetLead(); l != nil {
		lead = fmt.Sprintf("%s %s（规则 %s）", l.GetDepartmentCode(), l.GetDepartmentName(), l.GetRule())
	}
	mu.Lock()
	v.Route, v.RouteLead = steps, lead
	mu.Unlock()
}

func (s *Server) caseReplies(ctx context.Context, caseID string, v *casePageView, mu *sync.Mutex, fail func(string, string, error)) {
	resp, err := s.feedback.ListReplies(ctx, &feedbackv1.ListRepliesRequest{CaseId: caseID, PageSize: 20})
	if err != nil {
		fail("replies", "ListReplies", err)
		return
	}
	var out []replyView
	for _, rp := range resp.GetReplies() {
		rv := replyView{Round: rp.GetRound(), Text: rp.GetText(), At: localTime(rp.GetRepliedAt())}
		for _, res := range rp.GetResults() {
			rv.UnitResults = append(rv.UnitResults, res.GetDepartmentCode()+"："+res.GetResult())
		}
		out = append(out, rv)
	}
	mu.Lock()
	v.Replies = out
	mu.Unlock()
}
