package web

// Early warning (海因里希, issue 20): the warnings page. GET /warnings lists
// the warnings within the signed-in person's reach (feedback's
// WarningService, as that person), raised ones first by default; each
// raised warning carries two forms, POST /warnings/{id}/ack and POST
// /warnings/{id}/dismiss (a note required), each with the session's CSRF
// token and a request id minted with the form, so a double submit is one
// answer. Everything shown passes html/template: a place key or an item
// name is escaped like any citizen text. The live queue shows the warning
// events as they come (RenderWarning).

import (
	"bytes"
	"fmt"
	"net/http"
	"time"

	"github.com/google/uuid"

	eventsv1 "github.com/gridflow/gridflow/proto/gen/go/gridflow/events/v1"
	feedbackv1 "github.com/gridflow/gridflow/proto/gen/go/gridflow/feedback/v1"
)

func (s *Server) warningsRoutes() {
	s.page("GET /warnings", s.warningsPage)
	s.page("POST /warnings/{id}/ack", s.warningAct)
	s.page("POST /warnings/{id}/dismiss", s.warningAct)
}

var warningStateNames = map[feedbackv1.WarningState]string{
	feedbackv1.WarningState_WARNING_STATE_RAISED: "待处理", feedbackv1.WarningState_WARNING_STATE_ACKNOWLEDGED: "已确认",
	feedbackv1.WarningState_WARNING_STATE_DISMISSED: "已排除",
}

var warningKindNames = map[string]string{"place": "地点", "subject": "事项"}

type warningRow struct {
	ID, Kind, Key, Label, Street, State, Window, RaisedAt string
	Count, Level                                          uint32
	Baseline, Rise, Rule, ActedBy, ActedAt, Note          string
	Raised                                                bool
	Cases                                                 []string
	RequestID                                             string
}

type warningsView struct {
	boardView        // the boards' header: the person, the CSRF token, the area
	State     string // the filter: raised (default), acknowledged, dismissed, all
	Rows      []warningRow
	Next      string
	Notice    string
	// The failed form: its warning and the note typed, shown again.
	FailedID, FailedNote string
}

func shanghaiTS(ts interface{ AsTime() time.Time }) string {
	t := ts.AsTime()
	if t.Unix() <= 0 {
		return ""
	}
	return t.In(shanghai).Format("01-02 15:04")
}

func warningRowOf(w *feedbackv1.Warning) warningRow {
	k, r := w.GetKey(), w.GetReasons()
	row := warningRow{ID: k.GetWarningId(), Kind: warningKindNames[k.GetKind()], Key: k.GetKey(), Label: k.GetLabel(), Street: k.GetStreet(),
		State: warningStateNames[w.GetState()], Window: shanghaiTS(k.GetWindowStart()) + " – " + shanghaiTS(k.GetWindowEnd()),
		RaisedAt: shanghaiTS(w.GetRaisedAt()), Count: r.GetCount(), Level: w.GetLevel(),
		Baseline: fmt.Sprintf("%.1f", r.GetBaseline()), Rise: fmt.Sprintf("%.1f", r.GetRise()),
		Rule: fmt.Sprintf("%s：至少 %d 件、上升 %.1f 倍（再次预警需再升 %.1f 倍）", r.GetRule().GetName(), r.GetRule().GetMinCount(),
			r.GetRule().GetRise(), r.GetRule().GetFurtherStep()),
		Note: w.GetNote(), Raised: w.GetState() == feedbackv1.WarningState_WARNING_STATE_RAISED, Cases: r.GetCaseIds(),
		RequestID: uuid.NewString()}
	if p := w.GetActedBy(); p != nil {
		row.ActedBy, row.ActedAt = p.GetRole()+":"+p.GetSubject(), shanghaiTS(w.GetActedAt())
	}
	if row.Label == row.Key {
		row.Label = ""
	}
	return row
}

var warningStateFilter = map[string]feedbackv1.WarningState{
	"": feedbackv1.WarningState_WARNING_STATE_RAISED, "raised": feedbackv1.WarningState_WARNING_STATE_RAISED,
	"acknowledged": feedbackv1.WarningState_WARNING_STATE_ACKNOWLEDGED, "dismissed": feedbackv1.WarningState_WARNING_STATE_DISMISSED,
	"all": feedbackv1.WarningState_WARNING_STATE_UNSPECIFIED,
}

func (s *Server) warningsView(r *http.Request) warningsView {
	bv, _ := s.board(r, "预警")
	v := warningsView{boardView: bv, State: r.URL.Query().Get("state")}
	if v.State == "" {
		v.State = "raised"
	}
	return v
}

func (s *Server) warningsPage(w http.ResponseWriter, r *http.Request) {
	v := s.warningsView(r)
	switch r.URL.Query().Get("done") {
	case "ack":
		v.Notice = "已确认预警。"
	case "dismiss":
		v.Notice = "已排除预警：同一地点或事项在本周期内再上升一个台阶才会再次预警。"
	}
	s.renderWarnings(w, r, http.StatusOK, v)
}

// renderWarnings lists the warnings into v and renders the page.
func (s *Server) renderWarnings(w http.ResponseWriter, r *http.Request, code int, v warningsView) {
	const page = "warnings.html"
	if s.opts.Warnings == nil {
		v.Error = "预警服务未配置。"
		s.render(w, r, http.StatusServiceUnavailable, page, v)
		return
	}
	state, ok := warningStateFilter[v.State]
	if !ok {
		v.Error, v.State = "状态筛选应为 raised、acknowledged、dismissed 或 all。", "raised"
		code = http.StatusBadRequest
		state = warningStateFilter[v.State]
	}
	ctx, cancel, ok := s.pageContext(w, r, sessionOf(r.Context()).Account.Acting(), page, &v, &v.Error)
	defer cancel()
	if !ok {
		return
	}
	resp, err := s.opts.Warnings.ListWarnings(ctx, &feedbackv1.ListWarningsRequest{State: state, PageToken: r.URL.Query().Get("page_token")})
	if err != nil {
		s.failed(w, r, page, &v, err, func(m string) { v.Error = m })
		return
	}
	for _, x := range resp.GetWarnings() {
		v.Rows = append(v.Rows, warningRowOf(x))
	}
	v.Next = resp.GetNextPageToken()
	s.render(w, r, code, page, v)
}

// warningAct acknowledges or dismisses a warning as the signed-in person,
// then shows the list again (303 on success, the form's error otherwise).
func (s *Server) warningAct(w http.ResponseWriter, r *http.Request) {
	id, note, reqID := r.PathValue("id"), r.PostFormValue("note"), r.PostFormValue("request_id")
	if reqID == "" {
		reqID = uuid.NewString()
	}
	v := s.warningsView(r)
	if s.opts.Warnings == nil {
		s.renderWarnings(w, r, http.StatusServiceUnavailable, v)
		return
	}
	ctx, cancel, ok := s.pageContext(w, r, sessionOf(r.Context()).Account.Acting(), "warnings.html", &v, &v.Error)
	defer cancel()
	if !ok {
		return
	}
	dismiss := r.Pattern == "POST /warnings/{id}/dismiss"
	var err error
	if dismiss {
		_, err = s.opts.Warnings.DismissWarning(ctx, &feedbackv1.DismissWarningRequest{RequestId: reqID, WarningId: id, Note: note})
	} else {
		_, err = s.opts.Warnings.AcknowledgeWarning(ctx, &feedbackv1.AcknowledgeWarningRequest{RequestId: reqID, WarningId: id, Note: note})
	}
	if err != nil {
		msg, code := plainError(err)
		s.log.WarnContext(r.Context(), "warning action failed", "warning", id, "err", err)
		v.Error, v.FailedID, v.FailedNote = msg, id, note
		s.renderWarnings(w, r, code, v)
		return
	}
	done := "ack"
	if dismiss {
		done = "dismiss"
	}
	http.Redirect(w, r, "/warnings?done="+done, http.StatusSeeOther)
}

// warningEventView is a warning event as the live queue shows it.
type warningEventView struct {
	ID, Event, Kind, Key, Label, Street, At, Note string
	Count, Level                                  uint32
	Rise                                          string
}

var warningEventNames = map[string]string{"warning.raised": "预警", "warning.acknowledged": "预警已确认", "warning.dismissed": "预警已排除"}

// RenderWarning renders a warning event for the live queue's screens
// (live.Options.RenderWarning).
func RenderWarning(env *eventsv1.Envelope) ([]byte, error) {
	var k *eventsv1.WarningKey
	v := warningEventView{Event: warningEventNames[env.GetType()]}
	switch p := env.GetPayload().(type) {
	case *eventsv1.Envelope_WarningRaised:
		k = p.WarningRaised.GetWarning()
		v.Count, v.Level = p.WarningRaised.GetReasons().GetCount(), p.WarningRaised.GetLevel()
		v.Rise = fmt.Sprintf("%.1f", p.WarningRaised.GetReasons().GetRise())
	case *eventsv1.Envelope_WarningAcknowledged:
		k, v.Note = p.WarningAcknowledged.GetWarning(), p.WarningAcknowledged.GetNote()
	case *eventsv1.Envelope_WarningDismissed:
		k, v.Note = p.WarningDismissed.GetWarning(), p.WarningDismissed.GetNote()
	default:
		return nil, fmt.Errorf("not a warning event: %s", env.GetType())
	}
	v.ID, v.Kind, v.Key, v.Label, v.Street = k.GetWarningId(), warningKindNames[k.GetKind()], k.GetKey(), k.GetLabel(), k.GetStreet()
	if v.Label == v.Key {
		v.Label = ""
	}
	if env.GetOccurredAt() != nil {
		v.At = shanghaiTS(env.GetOccurredAt())
	}
	var b bytes.Buffer
	if err := pages.ExecuteTemplate(&b, "live_warning", v); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}
