package web

import (
	"context"
	"net/http"
	"time"

	"github.com/gridflow/gridflow/pkg/auth"
	"github.com/gridflow/gridflow/pkg/policy"
	feedbackv1 "github.com/gridflow/gridflow/proto/gen/go/gridflow/feedback/v1"
	typesv1 "github.com/gridflow/gridflow/proto/gen/go/gridflow/types/v1"
	"github.com/gridflow/gridflow/services/console/internal/accounts"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/timestamppb"
)

// casesPageSize is one screen of cases.
const casesPageSize = 50

type caseRow struct {
	Number, State, Source, Item, Title, Street, Lead, Received, Due string
}

type casesView struct {
	Title     string
	Account   accounts.Account
	Principal string
	Scope     string
	CSRF      string
	Error     string
	Cases     []caseRow
	Next      string
}

var stateNames = map[feedbackv1.CaseState]string{
	feedbackv1.CaseState_CASE_STATE_RECEIVED: "已受理", feedbackv1.CaseState_CASE_STATE_REVIEW_NEEDED: "待人工分类",
	feedbackv1.CaseState_CASE_STATE_CLASSIFIED: "已分类", feedbackv1.CaseState_CASE_STATE_DISPATCHED: "已派单",
	feedbackv1.CaseState_CASE_STATE_IN_PROGRESS: "处置中", feedbackv1.CaseState_CASE_STATE_RESOLVED: "已办结",
	feedbackv1.CaseState_CASE_STATE_REPLIED: "已答复", feedbackv1.CaseState_CASE_STATE_AWAITING_RECHECK: "待核查",
	feedbackv1.CaseState_CASE_STATE_CLOSED: "已结案", feedbackv1.CaseState_CASE_STATE_WITHDRAWN: "已撤回",
	feedbackv1.CaseState_CASE_STATE_ANSWERED: "即时答复", feedbackv1.CaseState_CASE_STATE_MERGED: "已合并",
	feedbackv1.CaseState_CASE_STATE_CANCELLED: "已取消", feedbackv1.CaseState_CASE_STATE_PARKED: "挂起",
}

var sourceNames = map[typesv1.Source]string{
	typesv1.Source_SOURCE_HOTLINE: "12345热线", typesv1.Source_SOURCE_PATROL: "网格巡查", typesv1.Source_SOURCE_SECRETARY: "一指通办",
}

var listCases = policy.Method(policy.FeedbackService, "ListCases")

// casesPage is the signed-in first page: feedback's cases as the account's
// principal sees them. The console checks the access policy before it
// calls (a role the table does not let list cases gets the reason, not a
// failed call); feedback filters the list by the same policy's scope in
// SQL, and the contact in what it answers is masked as every read is.
func (s *Server) casesPage(w http.ResponseWriter, r *http.Request) {
	sess := sessionOf(r.Context())
	acting := sess.Account.Acting()
	v := casesView{Title: "案件列表", Account: sess.Account, Principal: sess.Account.Principal.String(), CSRF: sess.CSRF}
	scope, err := policy.Check(acting, listCases)
	if err != nil {
		v.Error = "您的身份（" + v.Principal + "）无权查看案件列表。"
		s.render(w, r, http.StatusForbidden, "cases.html", v)
		return
	}
	v.Scope = scope.String()
	ctx, cancel, ok := s.pageContext(w, r, acting, "cases.html", &v, &v.Error)
	defer cancel()
	if !ok {
		return
	}
	resp, err := s.feedback.ListCases(ctx, &feedbackv1.ListCasesRequest{PageSize: casesPageSize, PageToken: r.URL.Query().Get("page_token")})
	if err != nil {
		st := status.Convert(err)
		s.log.WarnContext(r.Context(), "ListCases failed", "actor", acting.Actor(), "code", st.Code().String(), "err", st.Message())
		code := http.StatusBadGateway
		switch st.Code() {
		case codes.InvalidArgument:
			v.Error, code = "参数有误："+st.Message(), http.StatusBadRequest
		case codes.PermissionDenied:
			v.Error, code = "无权查看："+st.Message(), http.StatusForbidden
		case codes.Unavailable, codes.DeadlineExceeded:
			v.Error = "案件服务暂时不可用，请稍后刷新。"
		default:
			v.Error = "案件服务出错，请稍后刷新。"
		}
		s.render(w, r, code, "cases.html", v)
		return
	}
	for _, c := range resp.GetCases() {
		v.Cases = append(v.Cases, caseRow{
			Number: c.GetCaseNumber(), State: stateNames[c.GetState()], Source: sourceNames[c.GetSource()],
			Item: c.GetItemName(), Title: c.GetTitle(), Street: c.GetArea().GetStreetCode(), Lead: c.GetLeadDepartmentCode(),
			Received: localTime(c.GetReceivedAt()), Due: localTime(c.GetCompleteDue()),
		})
	}
	v.Next = resp.GetNextPageToken()
	s.render(w, r, http.StatusOK, "cases.html", v)
}

// msgNoCredential is what a page says when callContext could not sign a
// credential (the signing key is missing or unreadable).
const msgNoCredential = "无法签发调用凭证，请联系管理员。"

// callContext is a call's context: its deadline and a fresh credential
// naming the account's principal and person. nil when no credential could
// be signed.
func (s *Server) callContext(parent context.Context, p auth.Principal) (context.Context, context.CancelFunc) {
	token, err := s.minter.Token(p)
	if err != nil {
		s.log.ErrorContext(parent, "could not sign a credential", "err", err)
		return nil, func() {}
	}
	ctx, cancel := context.WithTimeout(parent, s.opts.CallTimeout)
	return metadata.AppendToOutgoingContext(ctx, "authorization", "Bearer "+token), cancel
}

// pageContext is callContext for a page handler: when no credential can be
// signed it renders page (view, a pointer, with msgNoCredential in *errField)
// as a 500 and ok is false.
func (s *Server) pageContext(w http.ResponseWriter, r *http.Request, acting auth.Principal, page string, view any,
	errField *string) (ctx context.Context, cancel context.CancelFunc, ok bool) {
	ctx, cancel = s.callContext(r.Context(), acting)
	if ctx == nil {
		*errField = msgNoCredential
		s.render(w, r, http.StatusInternalServerError, page, view)
		return nil, cancel, false
	}
	return ctx, cancel, true
}

var shanghai = func() *time.Location {
	loc, err := time.LoadLocation("Asia/Shanghai")
	if err != nil {
		return time.FixedZone("CST", 8*3600)
	}
	return loc
}()

func localTime(ts *timestamppb.Timestamp) string {
	if ts == nil {
		return ""
	}
	return ts.AsTime().In(shanghai).Format("01-02 15:04")
}
