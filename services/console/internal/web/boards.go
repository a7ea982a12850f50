package web

// The boards: what a street's or district's operations centre watches
// rather than reads. Every figure comes from the services, called as the
// signed-in person, so each board shows exactly the principal's reach:
//
//   - escalations: open tasks that are overdue, supervised (督办) or
//     escalated (dispatch ListTasks), cases waiting for arbitration
//     (ListArbitration), and dead letters per durable;
//   - scores: every department of the area in one table (feedback
//     GetMetrics, scope department, one call per department the reference
//     data names inside the principal's area — the same prefix rule feedback
//     applies, so no row is refused);
//   - pareto and hotspots (GetPareto, GetHotspots) over the area;
//   - the wall (大屏): today's counts, the SLA lights of open cases, a
//     seven-day trend, and a map of the area's grids drawn from the
//     reference polygons with a marker per open case, coloured by its SLA
//     light. The markers follow the live queue's server-sent events
//     (wall_live.go); the counts and the trend are polled from GET
//     /wall/data every 30 s.
//
// Charts are Apache ECharts (assets/), served by the console itself; the
// chart pages' content security policy admits scripts from the console
// only, and their data rides in a <script type="application/json"> block
// that html/template escapes.

import (
	"context"
	"embed"
	"encoding/json"
	"fmt"
	"io/fs"
	"mime"
	"net/http"
	"path"
	"slices"
	"time"

	"github.com/gridflow/gridflow/pkg/auth"
	"github.com/gridflow/gridflow/pkg/policy"
	"github.com/gridflow/gridflow/pkg/reference"
	dispatchv1 "github.com/gridflow/gridflow/proto/gen/go/gridflow/dispatch/v1"
	eventsv1 "github.com/gridflow/gridflow/proto/gen/go/gridflow/events/v1"
	feedbackv1 "github.com/gridflow/gridflow/proto/gen/go/gridflow/feedback/v1"
	"github.com/gridflow/gridflow/services/console/internal/accounts"
	"github.com/gridflow/gridflow/services/console/internal/live"
	"google.golang.org/protobuf/types/known/timestamppb"
)

//go:embed assets/echarts.min.js assets/boards.js
var boardsAssetFS embed.FS

// ReferenceSource returns the reference set in force.
type ReferenceSource func() *reference.Set

// DeadLetterCount is how many dead letters one durable left in GRID_DLQ.
type DeadLetterCount struct {
	Durable string
	Count   int
}

// chartCSP is the chart pages' policy: the default one, plus scripts from
// the console itself (ECharts and boards.js), nothing inline.
const chartCSP = "default-src 'none'; script-src 'self'; style-src 'unsafe-inline'; img-src 'self' data:; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"

// boardsRoutes registers the boards, the wall and their assets.
func (s *Server) boardsRoutes() {
	s.open("GET /boards/assets/{name}", s.asset)
	s.page("GET /boards/escalations", s.escalationsPage)
	s.page("GET /boards/scores", s.scoresPage)
	s.page("GET /boards/pareto", s.paretoPage)
	s.page("GET /boards/hotspots", s.hotspotsPage)
	s.page("GET /wall", s.wallPage)
	s.page("GET /wall/data", s.wallData)
}

func (s *Server) asset(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("name")
	b, err := fs.ReadFile(boardsAssetFS, "assets/"+path.Base(name))
	if err != nil {
		http.NotFound(w, r)
		return
	}
	w.Header().Set("Content-Type", mime.TypeByExtension(path.Ext(name)))
	// The release is pinned and the file name does not change with it:
	// an hour's cache, not forever.
	w.Header().Set("Cache-Control", "public, max-age=3600")
	_, _ = w.Write(b)
}

// boardView is what every board page shares.
type boardView struct {
	Title     string
	Account   accounts.Account
	Principal string
	CSRF      string
	Area      string // the principal's area, "" for the city
	AreaName  string
	Error     string
	From, To  string // the period shown, YYYY-MM-DD in Shanghai
	FieldErr  string // a refused from/to
}

func (s *Server) board(r *http.Request, title string) (boardView, auth.Principal) {
	sess := sessionOf(r.Context())
	acting := sess.Account.Acting()
	v := boardView{Title: title, Account: sess.Account, Principal: sess.Account.Principal.String(), CSRF: sess.CSRF,
		Area: policy.ScopeOf(acting).Area()}
	v.AreaName = "全市"
	if v.Area != "" {
		v.AreaName = v.Area
		if set := s.reference(); set != nil {
			if a, ok := set.Area(v.Area); ok {
				v.AreaName = a.Name
			}
		}
	}
	return v, acting
}

func (s *Server) reference() *reference.Set {
	if s.opts.Boards.Reference == nil {
		return nil
	}
	return s.opts.Boards.Reference()
}

// period reads from/to (dates in Shanghai, to inclusive) with a default
// span ending today; a bad value is the field's error.
func (v *boardView) period(r *http.Request, defaultDays int) (*feedbackv1.Period, bool) {
	now := time.Now().In(shanghai)
	today := time.Date(now.Year(), now.Month(), now.Day(), 0, 0, 0, 0, shanghai)
	from, to := today.AddDate(0, 0, -(defaultDays-1)), today
	parse := func(field, s string, into *time.Time) bool {
		if s == "" {
			return true
		}
		t, err := time.ParseInLocation("2006-01-02", s, shanghai)
		if err != nil {
			v.FieldErr = field + "：应为 年-月-日，如 " + today.Format("2006-01-02")
			return false
		}
		*into = t
		return true
	}
	q := r.URL.Query()
	if !parse("from", q.Get("from"), &from) || !parse("to", q.Get("to"), &to) {
		return nil, false
	}
	if to.Before(from) {
		v.FieldErr = "to：结束日期早于开始日期"
		return nil, false
	}
	v.From, v.To = from.Format("2006-01-02"), to.Format("2006-01-02")
	return &feedbackv1.Period{Start: timestamppb.New(from), End: timestamppb.New(to.AddDate(0, 0, 1))}, true
}

// failed renders a board with a service's refusal, plainly.
func (s *Server) failed(w http.ResponseWriter, r *http.Request, page string, v any, err error, setErr func(string)) {
	msg, code := plainError(err)
	setErr(msg)
	s.log.WarnContext(r.Context(), "board call failed", "page", page, "err", err)
	s.render(w, r, code, page, v)
}

// --- escalations ---

type escalationRow struct {
	CaseID, Case, Task, Department, Role, State, Flags, Due string
}

type arbitrationRow struct {
	CaseID, Case, Item, Opened, Due string
	Rejections                      []string
}

type escalationsView struct {
	boardView
	Overdue, Supervised, Escalated []escalationRow
	Arbitration                    []arbitrationRow
	DeadLetters                    []DeadLetterCount
	DeadLetterNote                 string
	Truncated                      bool
	// Dead webhook deliveries (issue 18).
	DeadDeliveries []deadDeliveryRow
	DeliveryNote   string
	DeliveriesMore bool
}

var openTaskStates = []eventsv1.TaskState{eventsv1.TaskState_TASK_STATE_DISPATCHED, eventsv1.TaskState_TASK_STATE_ACKNOWLEDGED,
	eventsv1.TaskState_TASK_STATE_EXTENSION_REQUESTED}

// escalationPages bounds the open tasks the board reads (500 a page).
const escalationPages = 4

func (s *Server) escalationsPage(w http.ResponseWriter, r *http.Request) {
	bv, acting := s.board(r, "督办看板")
	v := escalationsView{boardView: bv}
	const page = "escalations.html"
	if s.opts.Boards.Dispatch == nil {
		v.Error = "控制台未配置调度服务（DISPATCH_GRPC_ADDR）。"
		s.render(w, r, http.StatusServiceUnavailable, page, v)
		return
	}
	ctx, cancel, ok := s.pageContext(w, r, acting, page, &v, &v.Error)
	defer cancel()
	if !ok {
		return
	}
	token := ""
	for range escalationPages {
		resp, err := s.opts.Boards.Dispatch.ListTasks(ctx, &dispatchv1.ListTasksRequest{States: openTaskStates, PageSize: 500, PageToken: token})
		if err != nil {
			s.failed(w, r, page, &v, err, func(m string) { v.Error = m })
			return
		}
		for _, t := range resp.GetTasks() {
			row := escalationRow{CaseID: t.GetCaseId(), Case: t.GetCaseNumber(), Task: t.GetTaskId(), Department: t.GetDepartmentCode(),
				Role: taskRoleNames[t.GetRole()], State: taskStateNames[t.GetState()], Flags: flagsOf(t),
				Due: localTime(t.GetDeadlines().GetComplete().GetDue())}
			if t.GetOverdue() {
				v.Overdue = append(v.Overdue, row)
			}
			if t.GetSupervised() {
				v.Supervised = append(v.Supervised, row)
			}
			if t.GetEscalated() {
				v.Escalated = append(v.Escalated, row)
			}
		}
		if token = resp.GetNextPageToken(); token == "" {
			break
		}
	}
	v.Truncated = token != ""
	arb, err := s.opts.Boards.Dispatch.ListArbitration(ctx, &dispatchv1.ListArbitrationRequest{PageSize: 200})
	if err != nil {
		s.failed(w, r, page, &v, err, func(m string) { v.Error = m })
		return
	}
	for _, a := range arb.GetArbitrations() {
		row := arbitrationRow{CaseID: a.GetCaseId(), Case: a.GetCaseNumber(), Item: a.GetItemCode(), Opened: localTime(a.GetOpenedAt()),
			Due: localTime(a.GetDeadlines().GetComplete().GetDue())}
		for _, rj := range a.GetRejections() {
			row.Rejections = append(row.Rejections, fmt.Sprintf("%s：%s %s", rj.GetDepartmentCode(), rejectNames[rj.GetReason()], rj.GetNote()))
		}
		v.Arbitration = append(v.Arbitration, row)
	}
	if s.opts.Boards.DeadLetters == nil {
		v.DeadLetterNote = "控制台未连接 NATS，无法读取死信队列（GRID_DLQ）；请用 gridctl dlq list 查看。"
	} else if dl, err := s.opts.Boards.DeadLetters(r.Context(), acting); err != nil {
		s.log.WarnContext(r.Context(), "dead letters unreadable", "err", err)
		v.DeadLetterNote = "死信队列暂时无法读取。"
	} else {
		v.DeadLetters = dl
	}
	s.deadDeliveries(ctx, r, acting, &v)
	s.render(w, r, http.StatusOK, page, v)
}

// --- the escalation board's dead webhook deliveries (issue 18) ---

// deadDeliveryRow is a webhook delivery dispatch gave up on.
type deadDeliveryRow struct {
	Department, Event, CaseID, LastError, At string
	Attempts                                 int32
}

// deadDeliveryLimit bounds the dead deliveries the board shows, newest
// first.
const deadDeliveryLimit = 100

var listWebhookDeliveries = policy.Method(policy.WebhookService, "ListWebhookDeliveries")

// deadDeliveries fills the board's dead webhook deliveries, as dispatch
// lists them for the person: a dispatcher's are its area's tasks'. A
// refusal or an outage is said in their place; the rest of the board
// stands.
func (s *Server) deadDeliveries(ctx context.Context, r *http.Request, acting auth.Principal, v *escalationsView) {
	if s.opts.Boards.Webhooks == nil {
		v.DeliveryNote = "控制台未配置调度服务的推送接口（DISPATCH_GRPC_ADDR）。"
		return
	}
	if _, err := policy.Check(acting, listWebhookDeliveries); err != nil {
		v.DeliveryNote = "您的身份无权查看推送失败记录。"
		return
	}
	resp, err := s.opts.Boards.Webhooks.ListWebhookDeliveries(ctx, &dispatchv1.ListWebhookDeliveriesRequest{
		States: []dispatchv1.WebhookDeliveryState{dispatchv1.WebhookDeliveryState_WEBHOOK_DELIVERY_STATE_DEAD}, PageSize: deadDeliveryLimit})
	if err != nil {
		msg, _ := plainError(err)
		s.log.WarnContext(r.Context(), "dead webhook deliveries unreadable", "err", err)
		v.DeliveryNote = "推送失败记录暂时无法读取：" + msg
		return
	}
	for _, d := range resp.GetDeliveries() {
		v.DeadDeliveries = append(v.DeadDeliveries, deadDeliveryRow{Department: d.GetDepartmentCode(), Event: d.GetEventType(),
			CaseID: d.GetCaseId(), LastError: d.GetLastError(), At: localTime(d.GetUpdatedAt()), Attempts: d.GetAttempts()})
	}
	v.DeliveriesMore = resp.GetNextPageToken() != ""
}

var rejectNames = map[eventsv1.RejectReason]string{
	eventsv1.RejectReason_REJECT_REASON_NOT_MY_AREA: "非本辖区", eventsv1.RejectReason_REJECT_REASON_NOT_MY_DUTY: "非本部门职责",
	eventsv1.RejectReason_REJECT_REASON_UNCLEAR_OWNERSHIP: "权属不清", eventsv1.RejectReason_REJECT_REASON_OTHER: "其他",
}

// --- scores ---

type scoreRow struct {
	Code, Name                                                   string
	Cases                                                        int32
	Response, Resolution, Satisfaction, OnTime, Composite, Score string
	Grade                                                        string
	score                                                        float64
}

type scoresView struct {
	boardView
	Rows []scoreRow
}

func pct(x float64) string { return fmt.Sprintf("%.1f%%", x*100) }

func (s *Server) scoresPage(w http.ResponseWriter, r *http.Request) {
	bv, acting := s.board(r, "部门考核")
	v := scoresView{boardView: bv}
	const page = "scores.html"
	p, ok := v.period(r, 30)
	if !ok {
		s.render(w, r, http.StatusBadRequest, page, v)
		return
	}
	set := s.reference()
	if set == nil {
		v.Error = "控制台未加载参考数据，无法列出部门。"
		s.render(w, r, http.StatusServiceUnavailable, page, v)
		return
	}
	ctx, cancel, ok := s.pageContext(w, r, acting, page, &v, &v.Error)
	defer cancel()
	if !ok {
		return
	}
	scope := policy.ScopeOf(acting)
	for _, d := range set.Departments() {
		if !scope.AllowsArea(d.Code) {
			continue
		}
		resp, err := s.feedback.GetMetrics(ctx, &feedbackv1.GetMetricsRequest{Scope: feedbackv1.Scope_SCOPE_DEPARTMENT, Code: d.Code, Period: p})
		if err != nil {
			s.failed(w, r, page, &v, err, func(m string) { v.Error = d.Code + "：" + m })
			return
		}
		m := resp.GetMetrics()
		v.Rows = append(v.Rows, scoreRow{Code: d.Code, Name: d.Name, Cases: m.GetCases(), Response: pct(m.GetResponseRate()),
			Resolution: pct(m.GetResolutionRate()), Satisfaction: pct(m.GetSatisfactionRate()), OnTime: pct(m.GetOnTimeRate()),
			Composite: fmt.Sprintf("%.1f", m.GetComposite()), Score: fmt.Sprintf("%.1f", m.GetScore()), Grade: m.GetGrade(), score: m.GetScore()})
	}
	slices.SortStableFunc(v.Rows, func(a, b scoreRow) int {
		switch {
		case a.score > b.score:
			return -1
		case a.score < b.score:
			return 1
		}
		return 0
	})
	s.render(w, r, http.StatusOK, page, v)
}

// --- pareto ---

type paretoRow struct {
	Code, Name        string
	Count             int32
	Share, Cumulative string
	VitalFew          bool
}

// paretoChart is the chart's data, JSON in the page.
type paretoChart struct {
	Kind       string    `json:"kind"`
	Names      []string  `json:"names"`
	Counts     []int32   `json:"counts"`
	Cumulative []float64 `json:"cumulative"`
}

type paretoView struct {
	boardView
	Total int32
	Rows  []paretoRow
	Chart paretoChart
}

func (s *Server) paretoPage(w http.ResponseWriter, r *http.Request) {
	bv, acting := s.board(r, "帕累托分析")
	v := paretoView{boardView: bv, Chart: paretoChart{Kind: "pareto"}}
	const page = "pareto.html"
	w.Header().Set("Content-Security-Policy", chartCSP)
	p, ok := v.period(r, 30)
	if !ok {
		s.render(w, r, http.StatusBadRequest, page, v)
		return
	}
	ctx, cancel, ok := s.pageContext(w, r, acting, page, &v, &v.Error)
	defer cancel()
	if !ok {
		return
	}
	resp, err := s.feedback.GetPareto(ctx, &feedbackv1.GetParetoRequest{AreaCode: v.Area, Period: p})
	if err != nil {
		s.failed(w, r, page, &v, err, func(m string) { v.Error = m })
		return
	}
	v.Total = resp.GetTotal()
	for _, row := range resp.GetRows() {
		name := row.GetItemName()
		if name == "" {
			name = row.GetItemCode()
		}
		v.Rows = append(v.Rows, paretoRow{Code: row.GetItemCode(), Name: name, Count: row.GetCount(), Share: pct(row.GetShare()),
			Cumulative: pct(row.GetCumulative()), VitalFew: row.GetVitalFew()})
		v.Chart.Names = append(v.Chart.Names, name)
		v.Chart.Counts = append(v.Chart.Counts, row.GetCount())
		v.Chart.Cumulative = append(v.Chart.Cumulative, row.GetCumulative()*100)
	}
	s.render(w, r, http.StatusOK, page, v)
}

// --- hotspots ---

type hotspotRow struct {
	Kind, Key, Baseline, Score string
	Current                    int32
	Cases                      []string
}

type hotspotsView struct {
	boardView
	Rows []hotspotRow
}

var hotspotKinds = map[string]string{"place": "地点", "source": "源头"}

func (s *Server) hotspotsPage(w http.ResponseWriter, r *http.Request) {
	bv, acting := s.board(r, "热点")
	v := hotspotsView{boardView: bv}
	const page = "hotspots.html"
	p, ok := v.period(r, 7)
	if !ok {
		s.render(w, r, http.StatusBadRequest, page, v)
		return
	}
	ctx, cancel, ok := s.pageContext(w, r, acting, page, &v, &v.Error)
	defer cancel()
	if !ok {
		return
	}
	resp, err := s.feedback.GetHotspots(ctx, &feedbackv1.GetHotspotsRequest{AreaCode: v.Area, Period: p})
	if err != nil {
		s.failed(w, r, page, &v, err, func(m string) { v.Error = m })
		return
	}
	for _, h := range resp.GetHotspots() {
		kind := hotspotKinds[h.GetKind()]
		if kind == "" {
			kind = h.GetKind()
		}
		v.Rows = append(v.Rows, hotspotRow{Kind: kind, Key: h.GetKey(), Current: h.GetCurrent(), Baseline: fmt.Sprintf("%.1f", h.GetBaseline()),
			Score: fmt.Sprintf("%.1f", h.GetScore()), Cases: h.GetCaseIds()})
	}
	s.render(w, r, http.StatusOK, page, v)
}

// --- the wall ---

// wallMap is the area's grids as GeoJSON (WGS-84 lng/lat), for ECharts'
// registerMap, with each grid's street for its colour.
type wallMap struct {
	Type     string        `json:"type"`
	Features []wallFeature `json:"features"`
}

type wallFeature struct {
	Type       string         `json:"type"`
	Properties map[string]any `json:"properties"`
	Geometry   wallGeometry   `json:"geometry"`
}

type wallGeometry struct {
	Type        string         `json:"type"`
	Coordinates [][][2]float64 `json:"coordinates"`
}

type wallPageData struct {
	Kind    string            `json:"kind"`
	Map     wallMap           `json:"map"`
	Streets map[string]string `json:"streets"` // code → name
}

type wallView struct {
	boardView
	Data wallPageData
}

// WallData is GET /wall/data's answer, polled by the wall.
type WallData struct {
	Generated string       `json:"generated"`
	Today     WallToday    `json:"today"`
	SLA       WallSLA      `json:"sla"`
	Trend     []WallDay    `json:"trend"`
	Markers   []WallMarker `json:"markers"`
	// Cases are the open cases' own markers, which the page draws and the
	// live events then move, recolour and remove (wall_live.go).
	Cases []WallCase `json:"cases"`
	// OpenCases is how many open cases the lights and markers count; Capped
	// when there were more than the wall reads.
	OpenCases int  `json:"open_cases"`
	Capped    bool `json:"capped"`
	NoGrid    int  `json:"no_grid"`
}

// WallToday are today's counts (Asia/Shanghai).
type WallToday struct {
	Received    int32 `json:"received"`
	Handled     int32 `json:"handled"`
	Closed      int32 `json:"closed"`
	OverdueOpen int32 `json:"overdue_open"`
}

// WallSLA counts open cases by light: green below 80 % of the completion
// limit, yellow to 100 %, red past it.
type WallSLA struct {
	Green  int `json:"green"`
	Yellow int `json:"yellow"`
	Red    int `json:"red"`
}

// WallDay is one day of the trend.
type WallDay struct {
	Day   string `json:"day"`
	Cases int32  `json:"cases"`
}

// WallMarker is a grid with open cases: [lng, lat, count] at the grid's
// centre.
type WallMarker struct {
	Grid  string     `json:"grid"`
	Name  string     `json:"name"`
	Value [3]float64 `json:"value"`
}

func (s *Server) wallPage(w http.ResponseWriter, r *http.Request) {
	bv, _ := s.board(r, "大屏")
	v := wallView{boardView: bv, Data: wallPageData{Kind: "wall", Map: wallMap{Type: "FeatureCollection"}, Streets: map[string]string{}}}
	w.Header().Set("Content-Security-Policy", chartCSP)
	if set := s.reference(); set != nil {
		for _, a := range set.Areas(reference.LevelGrid) {
			if v.Area != "" && !hasPrefix(a.Code, v.Area) {
				continue
			}
			g, ok := set.Grid(a.Code)
			if !ok || len(g.Polygon) < 3 {
				continue
			}
			ring := make([][2]float64, 0, len(g.Polygon)+1)
			for _, p := range g.Polygon {
				ring = append(ring, [2]float64{p.Lng, p.Lat})
			}
			ring = append(ring, ring[0])
			v.Data.Map.Features = append(v.Data.Map.Features, wallFeature{Type: "Feature",
				Properties: map[string]any{"name": a.Name, "code": a.Code, "street": a.Street},
				Geometry:   wallGeometry{Type: "Polygon", Coordinates: [][][2]float64{ring}}})
			if st, ok := set.Area(a.Street); ok {
				v.Data.Streets[st.Code] = st.Name
			}
		}
	}
	s.render(w, r, http.StatusOK, "wall.html", v)
}

func hasPrefix(s, p string) bool { return len(s) >= len(p) && s[:len(p)] == p }

// wallCasePages bounds the open cases the wall reads for its lights and
// markers.
const wallCasePages = 10

var openCaseStates = []feedbackv1.CaseState{feedbackv1.CaseState_CASE_STATE_DISPATCHED, feedbackv1.CaseState_CASE_STATE_IN_PROGRESS}

func (s *Server) wallData(w http.ResponseWriter, r *http.Request) {
	bv, acting := s.board(r, "大屏")
	writeJSON := func(code int, v any) {
		w.Header().Set("Content-Type", "application/json; charset=utf-8")
		w.WriteHeader(code)
		_ = json.NewEncoder(w).Encode(v)
	}
	ctx, cancel := s.callContext(r.Context(), acting)
	defer cancel()
	if ctx == nil {
		writeJSON(http.StatusInternalServerError, map[string]string{"error": "无法签发调用凭证"})
		return
	}
	d, err := s.wall(ctx, bv.Area, time.Now())
	if err != nil {
		msg, code := plainError(err)
		s.log.WarnContext(r.Context(), "wall data failed", "err", err)
		writeJSON(code, map[string]string{"error": msg})
		return
	}
	writeJSON(http.StatusOK, d)
}

func (s *Server) wall(ctx context.Context, area string, now time.Time) (WallData, error) {
	local := now.In(shanghai)
	today := time.Date(local.Year(), local.Month(), local.Day(), 0, 0, 0, 0, shanghai)
	d := WallData{Generated: local.Format("15:04:05")}
	scope, code := feedbackv1.Scope_SCOPE_CITY, ""
	switch len(area) {
	case 9:
		scope, code = feedbackv1.Scope_SCOPE_STREET, area
	case 6:
		scope, code = feedbackv1.Scope_SCOPE_DISTRICT, area
	}
	metrics := func(from, to time.Time) (*feedbackv1.Metrics, error) {
		resp, err := s.feedback.GetMetrics(ctx, &feedbackv1.GetMetricsRequest{Scope: scope, Code: code,
			Period: &feedbackv1.Period{Start: timestamppb.New(from), End: timestamppb.New(to)}})
		return resp.GetMetrics(), err
	}
	m, err := metrics(today, today.AddDate(0, 0, 1))
	if err != nil {
		return d, err
	}
	d.Today = WallToday{Received: m.GetCases(), Handled: m.GetHandled(), Closed: m.GetClosed(), OverdueOpen: m.GetOverdueOpen()}
	for i := 6; i >= 0; i-- {
		day := today.AddDate(0, 0, -i)
		m, err := metrics(day, day.AddDate(0, 0, 1))
		if err != nil {
			return d, err
		}
		d.Trend = append(d.Trend, WallDay{Day: day.Format("01-02"), Cases: m.GetCases()})
	}
	perGrid := map[string]int{}
	set := s.reference()
	var rows []*live.Row
	token := ""
	for range wallCasePages {
		resp, err := s.feedback.ListCases(ctx, &feedbackv1.ListCasesRequest{States: openCaseStates, AreaCode: area, PageSize: 500, PageToken: token})
		if err != nil {
			return d, err
		}
		for _, c := range resp.GetCases() {
			d.OpenCases++
			switch light(c.GetReceivedAt(), c.GetCompleteDue(), now) {
			case "green":
				d.SLA.Green++
			case "yellow":
				d.SLA.Yellow++
			case "red":
				d.SLA.Red++
			}
			if g := c.GetArea().GetGridCode(); len(g) == 15 {
				perGrid[g]++
			} else {
				d.NoGrid++
			}
			row := rowOf(c)
			rows = append(rows, row)
			if hub := s.opts.Live.Hub; hub != nil {
				row.Lat, row.Lng, row.Located = hub.Place(row.CaseID)
			}
			if wc, ok := wallCaseOf(set, row, now); ok {
				d.Cases = append(d.Cases, wc)
			}
		}
		if token = resp.GetNextPageToken(); token == "" {
			break
		}
	}
	d.Capped = token != ""
	// What the wall read tells the live hub the facts later events lack, as
	// the live queue's page load does.
	if hub := s.opts.Live.Hub; hub != nil {
		hub.Learn(rows)
	}
	if set != nil {
		for g, n := range perGrid {
			grid, ok := set.Grid(g)
			if !ok || len(grid.Polygon) == 0 {
				d.NoGrid += n
				continue
			}
			var lat, lng float64
			for _, p := range grid.Polygon {
				lat, lng = lat+p.Lat, lng+p.Lng
			}
			k := float64(len(grid.Polygon))
			d.Markers = append(d.Markers, WallMarker{Grid: g, Name: grid.Name, Value: [3]float64{lng / k, lat / k, float64(n)}})
		}
		slices.SortFunc(d.Markers, func(a, b WallMarker) int {
			if a.Grid < b.Grid {
				return -1
			}
			return 1
		})
	}
	return d, nil
}

// light is a case's SLA light from its received time and completion due:
// green below 80 % of the span, yellow to 100 %, red past it; "" without
// a due time. The span starts at receipt — the case view carries no
// dispatch time — which lights a case slightly early, never late.
func light(received, due *timestamppb.Timestamp, now time.Time) string {
	if due == nil || received == nil {
		return ""
	}
	start, end := received.AsTime(), due.AsTime()
	switch {
	case !now.Before(end):
		return "red"
	case end.Sub(start) <= 0 || now.Sub(start)*5 >= end.Sub(start)*4:
		return "yellow"
	}
	return "green"
}
