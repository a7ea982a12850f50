package web

import (
	"bytes"
	"embed"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"time"

	"github.com/gridflow/gridflow/pkg/policy"
	classifyv1 "github.com/gridflow/gridflow/proto/gen/go/gridflow/classify/v1"
	dispatchv1 "github.com/gridflow/gridflow/proto/gen/go/gridflow/dispatch/v1"
	feedbackv1 "github.com/gridflow/gridflow/proto/gen/go/gridflow/feedback/v1"
	typesv1 "github.com/gridflow/gridflow/proto/gen/go/gridflow/types/v1"
	"github.com/gridflow/gridflow/services/console/internal/accounts"
	"github.com/gridflow/gridflow/services/console/internal/live"
)

// LiveOptions are what the live queue, the review queue and the case page
// read besides feedback.
type LiveOptions struct {
	Classify classifyv1.ClassifyServiceClient
	Dispatch dispatchv1.DispatchServiceClient
	// Hub feeds the live queue's server-sent events; nil: the page loads,
	// its stream answers 503.
	Hub *live.Hub
	// SessionRecheck is how often an open live stream checks that its
	// session still lives (signed out, disabled, expired: the stream ends).
	SessionRecheck time.Duration
}

//go:embed assets/live.js
var assetFS embed.FS

var liveJS = func() []byte {
	b, err := assetFS.ReadFile("assets/live.js")
	if err != nil {
		panic(err)
	}
	return b
}()

// scriptCSP is the console's content security policy with the console's
// own scripts and its event stream allowed: the live queue's few lines of
// JavaScript, embedded in the binary; still no inline script, so a script
// tag in citizen text (escaped anyway) could not run.
const scriptCSP = "default-src 'none'; script-src 'self'; connect-src 'self'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"

// liveRoutes registers the live queue, the review queue and the case page.
func (s *Server) liveRoutes() {
	if s.opts.Live.SessionRecheck == 0 {
		s.opts.Live.SessionRecheck = 30 * time.Second
	}
	s.page("GET /live", s.livePage)
	s.page("GET /live/events", s.liveEvents)
	s.page("GET /live/live.js", s.liveScript)
	s.page("GET /review", s.reviewPage)
	s.page("POST /review/{case_id}", s.resolveReview)
	s.page("GET /cases/{ref}", s.casePage)
}

func (s *Server) liveScript(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "text/javascript; charset=utf-8")
	w.Header().Set("Cache-Control", "private, max-age=300")
	_, _ = w.Write(liveJS)
}

// fieldError is one refused input: the field and the reason, shown beside
// the field.
type fieldError struct{ Field, Reason string }

// filterForm is the live queue's filters as typed.
type filterForm struct {
	Street, Community, Grid, Department, Item, Source, State string
}

var (
	digits    = func(n int) *regexp.Regexp { return regexp.MustCompile(fmt.Sprintf(`^[0-9]{%d}$`, n)) }
	street9   = digits(9)
	community = digits(12)
	grid15    = digits(15)
	deptCode  = regexp.MustCompile(`^[0-9A-Za-z][0-9A-Za-z_-]{0,63}$`)
	itemCode  = regexp.MustCompile(`^([0-9]{2}|[0-9]{5}|H[0-9]{5})$`)
)

var sourceKeys = map[string]typesv1.Source{"hotline": typesv1.Source_SOURCE_HOTLINE, "patrol": typesv1.Source_SOURCE_PATROL,
	"secretary": typesv1.Source_SOURCE_SECRETARY}

// stateKeys are the states a filter names, by their lower-case names.
var stateKeys = func() map[string]feedbackv1.CaseState {
	m := map[string]feedbackv1.CaseState{}
	for v, name := range feedbackv1.CaseState_name {
		if v != 0 {
			m[strings.ToLower(strings.TrimPrefix(name, "CASE_STATE_"))] = feedbackv1.CaseState(v)
		}
	}
	return m
}()

func stateKey(s feedbackv1.CaseState) string {
	return strings.ToLower(strings.TrimPrefix(s.String(), "CASE_STATE_"))
}

// parseFilter reads the filters of a query; each refused one is a field
// error naming the field and why.
func parseFilter(q url.Values) (filterForm, live.ScreenFilter, []fieldError) {
	f := filterForm{Street: strings.TrimSpace(q.Get("street")), Community: strings.TrimSpace(q.Get("community")),
		Grid: strings.TrimSpace(q.Get("grid")), Department: strings.TrimSpace(q.Get("department")),
		Item: strings.TrimSpace(q.Get("item")), Source: q.Get("source"), State: q.Get("state")}
	var sf live.ScreenFilter
	var errs []fieldError
	check := func(field, v string, re *regexp.Regexp, reason string) string {
		if v != "" && !re.MatchString(v) {
			errs = append(errs, fieldError{field, reason})
			return ""
		}
		return v
	}
	sf.Street = check("street", f.Street, street9, "街道代码应为9位数字")
	sf.Community = check("community", f.Community, community, "社区代码应为12位数字")
	sf.Grid = check("grid", f.Grid, grid15, "网格代码应为15位数字")
	sf.Department = check("department", f.Department, deptCode, "部门代码只能包含字母、数字、-和_，最长64个字符")
	sf.Item = check("item", f.Item, itemCode, "事项代码应为2位大类、5位事项或H加5位数字")
	if f.Source != "" {
		src, ok := sourceKeys[f.Source]
		if !ok {
			errs = append(errs, fieldError{"source", "来源应为 hotline、patrol 或 secretary"})
		}
		sf.Source = src
	}
	if f.State != "" {
		st, ok := stateKeys[f.State]
		if !ok {
			errs = append(errs, fieldError{"state", "未知的案件状态"})
		} else {
			sf.States = []feedbackv1.CaseState{st}
		}
	}
	// Codes nest: a grid lies in its community, which lies in its street.
	if len(errs) == 0 {
		switch {
		case sf.Grid != "" && sf.Community != "" && !strings.HasPrefix(sf.Grid, sf.Community):
			errs = append(errs, fieldError{"grid", "网格不在所选社区内"})
		case sf.Community != "" && sf.Street != "" && !strings.HasPrefix(sf.Community, sf.Street):
			errs = append(errs, fieldError{"community", "社区不在所选街道内"})
		case sf.Grid != "" && sf.Street != "" && !strings.HasPrefix(sf.Grid, sf.Street):
			errs = append(errs, fieldError{"grid", "网格不在所选街道内"})
		}
	}
	return f, sf, errs
}

// listRequest is feedback's ListCases for a screen's filters: the most
// precise area named.
func listRequest(sf live.ScreenFilter, size int32) *feedbackv1.ListCasesRequest {
	req := &feedbackv1.ListCasesRequest{PageSize: size, DepartmentCode: sf.Department, ItemCode: sf.Item,
		Source: sf.Source, States: sf.States}
	// An urban class (two digits) is asked for as "<class>000", the form
	// feedback's list reads as a class (a prefix of its items) — as the
	// hotline's "Hxx000" — where "06" alone would match no case.
	if len(sf.Item) == 2 {
		req.ItemCode = sf.Item + "000"
	}
	for _, a := range []string{sf.Grid, sf.Community, sf.Street} {
		if a != "" {
			req.AreaCode = a
			break
		}
	}
	return req
}

// rowOf is a feedback case as a live row.
func rowOf(c *feedbackv1.Case) *live.Row {
	a := c.GetArea()
	r := &live.Row{CaseID: c.GetCaseId(), CaseNumber: c.GetCaseNumber(), Title: c.GetTitle(), State: c.GetState(),
		Source: c.GetSource(), ItemCode: c.GetItemCode(), ItemName: c.GetItemName(), Lead: c.GetLeadDepartmentCode(),
		Area: live.Area{District: known(a.GetDistrictCode()), Street: known(a.GetStreetCode()),
			Community: known(a.GetCommunityCode()), Grid: known(a.GetGridCode())},
		Event: "", EventAt: c.GetUpdatedAt().AsTime()}
	if c.GetReceivedAt() != nil {
		r.StartedAt = c.GetReceivedAt().AsTime()
	}
	if c.GetCompleteDue() != nil {
		r.Due = c.GetCompleteDue().AsTime()
	}
	for _, t := range c.GetTasks() {
		role := "协办"
		if t.GetRole() == "lead" {
			role = "牵头"
		}
		r.Tasks = append(r.Tasks, live.Task{ID: t.GetTaskId(), Department: t.GetDepartmentCode(), Role: role,
			State: feedbackTaskStates[t.GetState()], Overdue: t.GetOverdue()})
	}
	return r
}

func known(code string) string {
	if code == "0" {
		return ""
	}
	return code
}

var feedbackTaskStates = map[string]string{"dispatched": "已派发", "acknowledged": "已签收", "rejected": "已退单",
	"forwarded": "已转派", "extension_requested": "申请延期", "completed": "已办结", "withdrawn": "已撤回"}

var eventNames = map[string]string{
	"case.received": "新案件", "case.answered": "即时答复", "case.followed_up": "热线追加", "case.contact_read": "查看联系方式",
	"case.review_needed": "待人工分类", "case.classified": "已分类", "incident.grouped": "归并", "incident.linked": "归因",
	"task.dispatched": "派单", "task.acknowledged": "签收", "task.rejected": "退单", "task.forwarded": "转派",
	"task.extension_requested": "申请延期", "task.extension_decided": "延期审批", "task.progress_reported": "阶段性答复",
	"task.completed": "办结", "task.completion_approved": "办结通过", "task.completion_returned": "办结退回",
	"task.withdrawn": "撤回任务", "task.warned": "临期预警", "task.overdue": "超期", "task.urged": "催办",
	"task.supervised": "督办", "task.escalated": "升级", "task.deadline_changed": "时限变更",
	"case.cancelled": "作废", "case.parked": "挂账", "case.unparked": "解除挂账", "case.excluded": "不纳入考核",
	"case.arbitration_opened": "提请仲裁", "case.arbitrated": "仲裁", "case.resolved": "已办结", "case.replied": "已答复",
	"case.callback_recorded": "回访", "case.rechecked": "核查", "case.reopened": "重新办理", "case.closed": "结案",
	"case.withdrawn": "撤单",
}

var lightNames = map[live.Light]string{live.Green: "正常", live.Yellow: "临期", live.Red: "超期", live.NoLight: "未计时"}

// rowView is a row as the template shows it.
type rowView struct {
	CaseID, Ref, Number, Title, State, StateKey, Source, Item string
	Street, Community, Grid, Lead                             string
	Tasks                                                     []live.Task
	Due, Event, EventAt                                       string
	Light, LightName                                          string
	StartMS, DueMS                                            int64
	Running                                                   bool
}

func viewOf(r *live.Row, now time.Time) rowView {
	v := rowView{CaseID: r.CaseID, Ref: r.CaseNumber, Number: r.CaseNumber, Title: r.Title, State: stateNames[r.State],
		StateKey: stateKey(r.State), Source: sourceNames[r.Source], Item: r.ItemName,
		Street: r.Area.Street, Community: r.Area.Community, Grid: r.Area.Grid, Lead: r.Lead, Tasks: r.Tasks,
		Event: eventNames[r.Event], Running: live.Running(r.State)}
	if v.Ref == "" {
		v.Ref, v.Number = r.CaseID, "（编号待定）"
	}
	if v.Item == "" && r.ItemCode != "" {
		v.Item = r.ItemCode
	}
	if !r.EventAt.IsZero() && r.EventAt.Unix() > 0 {
		v.EventAt = r.EventAt.In(shanghai).Format("01-02 15:04:05")
	}
	if !r.Due.IsZero() {
		v.Due = r.Due.In(shanghai).Format("01-02 15:04")
		v.DueMS = r.Due.UnixMilli()
	}
	if !r.StartedAt.IsZero() {
		v.StartMS = r.StartedAt.UnixMilli()
	}
	l := r.Light(now)
	v.Light, v.LightName = string(l), lightNames[l]
	return v
}

// RenderRow renders a row for the live queue's screens: the hub's
// Renderer. The row is the same for every scope that may see it; the hub
// calls it once per such scope.
func RenderRow(_ policy.Scope, r *live.Row) ([]byte, error) {
	var b bytes.Buffer
	if err := pages.ExecuteTemplate(&b, "live_row", viewOf(r, time.Now())); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

type liveView struct {
	Title     string
	Account   accounts.Account
	Principal string
	Scope     string
	CSRF      string
	Error     string
	Fields    map[string]string
	Filter    filterForm
	Query     string
	Rows      []rowView
	Counts    map[string]int
	States    []stateOption
	Next      string
}

type stateOption struct{ Key, Name string }

var stateOptions = func() []stateOption {
	var out []stateOption
	for v := feedbackv1.CaseState(1); int(v) < len(feedbackv1.CaseState_name); v++ {
		out = append(out, stateOption{stateKey(v), stateNames[v]})
	}
	return out
}()

// livePageSize is one screen of the live queue.
const livePageSize = 100

// livePage is the live queue: feedback's cases within the account's scope
// and the filters, newest first, then kept current by /live/events.
func (s *Server) livePage(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Security-Policy", scriptCSP)
	sess := sessionOf(r.Context())
	acting := sess.Account.Acting()
	v := liveView{Title: "实时队列", Account: sess.Account, Principal: sess.Account.Principal.String(), CSRF: sess.CSRF,
		States: stateOptions, Counts: map[string]int{}, Fields: map[string]string{}}
	scope, err := policy.Check(acting, listCases)
	if err != nil {
		v.Error = "您的身份（" + v.Principal + "）无权查看案件。"
		s.render(w, r, http.StatusForbidden, "live.html", v)
		return
	}
	v.Scope = scope.String()
	form, sf, errs := parseFilter(r.URL.Query())
	v.Filter = form
	if len(errs) > 0 {
		for _, e := range errs {
			v.Fields[e.Field] = e.Reason
		}
		v.Error = "筛选条件有误，请修改标红的字段。"
		s.render(w, r, http.StatusBadRequest, "live.html", v)
		return
	}
	v.Query = r.URL.RawQuery
	ctx, cancel, ok := s.pageContext(w, r, acting, "live.html", &v, &v.Error)
	defer cancel()
	if !ok {
		return
	}
	req := listRequest(sf, livePageSize)
	req.PageToken = r.URL.Query().Get("page_token")
	resp, err := s.feedback.ListCases(ctx, req)
	if err != nil {
		code, msg := s.callError(r, "ListCases", err, v.Fields)
		v.Error = msg
		s.render(w, r, code, "live.html", v)
		return
	}
	now := time.Now()
	rows := make([]*live.Row, 0, len(resp.GetCases()))
	for _, c := range resp.GetCases() {
		row := rowOf(c)
		rows = append(rows, row)
		rv := viewOf(row, now)
		v.Rows = append(v.Rows, rv)
		v.Counts[rv.Light]++
	}
	v.Counts["total"] = len(v.Rows)
	v.Next = resp.GetNextPageToken()
	if hub := s.opts.Live.Hub; hub != nil {
		hub.Learn(rows)
	}
	s.render(w, r, http.StatusOK, "live.html", v)
}

// liveEvents is the live queue's server-sent events: every row the
// account's scope and the screen's filters admit, from now on.
func (s *Server) liveEvents(w http.ResponseWriter, r *http.Request) {
	sess := sessionOf(r.Context())
	scope, err := policy.Check(sess.Account.Acting(), listCases)
	if err != nil {
		http.Error(w, "无权查看案件", http.StatusForbidden)
		return
	}
	_, sf, errs := parseFilter(r.URL.Query())
	if len(errs) > 0 {
		http.Error(w, "筛选条件有误："+errs[0].Field+"："+errs[0].Reason, http.StatusBadRequest)
		return
	}
	// The wall's map (view=wall) takes markers from the same hub.
	wall := false
	switch v := r.URL.Query().Get("view"); v {
	case "":
	case "wall":
		wall = true
	default:
		http.Error(w, "view：只能是 wall 或不填", http.StatusBadRequest)
		return
	}
	hub := s.opts.Live.Hub
	flusher, ok := w.(http.Flusher)
	if hub == nil || !ok {
		http.Error(w, "实时推送未启用", http.StatusServiceUnavailable)
		return
	}
	h := w.Header()
	h.Set("Content-Type", "text/event-stream; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Accel-Buffering", "no") // a proxy in front must not hold the rows back
	var screen *live.Screen
	if wall {
		screen = hub.OpenWall(scope)
	} else {
		screen = hub.Open(scope, sf)
	}
	defer hub.Close(screen)
	w.WriteHeader(http.StatusOK)
	_, _ = fmt.Fprint(w, "retry: 3000\n: 已连接\n\n")
	flusher.Flush()

	keepalive := time.NewTicker(20 * time.Second)
	defer keepalive.Stop()
	recheck := time.NewTicker(s.opts.Live.SessionRecheck)
	defer recheck.Stop()
	cookie, _ := r.Cookie(SessionCookie)
	for {
		select {
		case <-r.Context().Done():
			return
		case <-keepalive.C:
			if _, err := fmt.Fprint(w, ": keepalive\n\n"); err != nil {
				return
			}
			flusher.Flush()
		case <-recheck.C:
			// The session may have ended (sign-out, a disabled account, its
			// expiry): the stream ends with it, and the browser's reconnect
			// is refused.
			if cookie == nil {
				return
			}
			if _, err := s.accounts.Session(r.Context(), cookie.Value); err != nil {
				_, _ = fmt.Fprint(w, "event: ended\ndata: 会话已结束\n\n")
				flusher.Flush()
				return
			}
		case m, ok := <-screen.C:
			if !ok {
				return // dropped for falling behind, or the console stops: the browser reconnects
			}
			if err := writeEvent(w, m); err != nil {
				return
			}
			// Write what is already waiting before flushing once.
			for more := true; more; {
				select {
				case m, ok := <-screen.C:
					if !ok {
						flusher.Flush()
						return
					}
					if err := writeEvent(w, m); err != nil {
						return
					}
				default:
					more = false
				}
			}
			flusher.Flush()
		}
	}
}

// writeEvent writes one row as a server-sent event: "row" with the row's
// HTML, or "remove" with the case id when the row no longer passes the
// screen's filters.
func writeEvent(w http.ResponseWriter, m live.Message) error {
	var b bytes.Buffer
	fmt.Fprintf(&b, "id: %d\n", m.Sequence)
	if m.Remove {
		fmt.Fprintf(&b, "event: remove\ndata: case-%s\n\n", m.CaseID)
	} else {
		event := "row"
		if m.Warning { // early warning (issue 20)
			event = "warning"
		}
		if m.Marker { // the wall's map (wall_live.go)
			event = "marker"
		}
		b.WriteString("event: " + event + "\n")
		for _, line := range bytes.Split(bytes.TrimSpace(m.HTML), []byte("\n")) {
			b.WriteString("data: ")
			b.Write(line)
			b.WriteByte('\n')
		}
		b.WriteByte('\n')
	}
	_, err := w.Write(b.Bytes())
	return err
}
