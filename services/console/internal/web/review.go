package web

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"unicode/utf8"

	"github.com/gridflow/gridflow/pkg/policy"
	classifyv1 "github.com/gridflow/gridflow/proto/gen/go/gridflow/classify/v1"
	"github.com/gridflow/gridflow/services/console/internal/accounts"
)

var (
	listReviewQueue = policy.Method(policy.ClassifyService, "ListReviewQueue")
	resolveReview   = policy.Method(policy.ClassifyService, "ResolveReview")
)

// reviewPageSize is one screen of the review queue.
const reviewPageSize = 50

type choiceView struct {
	Code, Name, Confidence string
	Checked                bool
}

type reviewView struct {
	CaseID, Number, Title, Content, Source, Area, Queued, Fallback, Model string
	TimedOut                                                              bool
	Current                                                               string
	Choices                                                               []choiceView
	RequestID                                                             string
	// Errors beside this review's fields, and what was typed.
	Fields      map[string]string
	Other, Note string
}

type reviewPageView struct {
	Title     string
	Account   accounts.Account
	Principal string
	Scope     string
	CSRF      string
	Error     string
	Notice    string
	Reviews   []reviewView
	Next      string
}

func percent(f float64) string { return fmt.Sprintf("%.0f%%", f*100) }

// reviewPage lists classify's review queue within the account's scope,
// oldest first: the model's top choices with their confidences, the
// case's text beside them, and one form to file each.
func (s *Server) reviewPage(w http.ResponseWriter, r *http.Request) {
	s.renderReview(w, r, http.StatusOK, "", nil)
}

// renderReview renders the queue; failed, when set, is the review whose
// filing was refused, shown with its errors and what was typed.
func (s *Server) renderReview(w http.ResponseWriter, r *http.Request, code int, msg string, failed *reviewView) {
	sess := sessionOf(r.Context())
	acting := sess.Account.Acting()
	v := reviewPageView{Title: "待人工分类", Account: sess.Account, Principal: sess.Account.Principal.String(), CSRF: sess.CSRF, Error: msg}
	if n := r.URL.Query().Get("resolved"); n != "" && failed == nil {
		v.Notice = "已提交案件 " + n + " 的分类。"
	}
	scope, err := policy.Check(acting, listReviewQueue)
	if err != nil {
		v.Error = "您的身份（" + v.Principal + "）无权处理待分类案件。"
		s.render(w, r, http.StatusForbidden, "review.html", v)
		return
	}
	v.Scope = scope.String()
	ctx, cancel, ok := s.pageContext(w, r, acting, "review.html", &v, &v.Error)
	defer cancel()
	if !ok {
		return
	}
	token := ""
	if failed == nil {
		token = r.URL.Query().Get("page_token")
	}
	resp, err := s.opts.Live.Classify.ListReviewQueue(ctx, &classifyv1.ListReviewQueueRequest{PageSize: reviewPageSize, PageToken: token})
	if err != nil {
		code, v.Error = s.callError(r, "ListReviewQueue", err, nil)
		s.render(w, r, code, "review.html", v)
		return
	}
	for _, rv := range resp.GetReviews() {
		item := reviewView{CaseID: rv.GetCaseId(), Number: rv.GetCaseNumber(), Title: rv.GetTitle(), Content: rv.GetContent(),
			Source: sourceNames[rv.GetSource()], Area: rv.GetArea().GetStreetCode(), Queued: localTime(rv.GetQueuedAt()),
			Fallback: localTime(rv.GetFallbackAt()), Model: rv.GetModelVersion(),
			TimedOut: rv.GetState() == classifyv1.ReviewState_REVIEW_STATE_TIMED_OUT}
		if c := rv.GetClassification(); c != nil && c.GetItemCode() != "" {
			item.Current = c.GetItemCode() + " " + c.GetItemName()
		}
		if failed != nil && failed.CaseID == item.CaseID {
			item.Fields, item.Other, item.Note, item.RequestID = failed.Fields, failed.Other, failed.Note, failed.RequestID
		}
		picked := ""
		if failed != nil && failed.CaseID == item.CaseID {
			picked = failed.Current
		}
		for _, c := range rv.GetChoices() {
			item.Choices = append(item.Choices, choiceView{Code: c.GetItemCode(), Name: c.GetItemName(),
				Confidence: percent(c.GetConfidence()), Checked: picked == c.GetItemCode()})
		}
		if item.RequestID == "" {
			item.RequestID, _ = accounts.NewToken()
		}
		v.Reviews = append(v.Reviews, item)
	}
	if failed != nil && !containsReview(v.Reviews, failed.CaseID) {
		// Filed meanwhile by someone else, or out of the page: say so.
		v.Error = msg + "（该案件已不在待分类队列中）"
	}
	v.Next = resp.GetNextPageToken()
	s.render(w, r, code, "review.html", v)
}

func containsReview(rs []reviewView, caseID string) bool {
	for _, r := range rs {
		if r.CaseID == caseID {
			return true
		}
	}
	return false
}

// resolveReview files one case of the review queue under the item chosen
// (one of the model's choices, or another code typed), as the person.
func (s *Server) resolveReview(w http.ResponseWriter, r *http.Request) {
	sess := sessionOf(r.Context())
	acting := sess.Account.Acting()
	if _, err := policy.Check(acting, resolveReview); err != nil {
		http.Error(w, "无权处理待分类案件", http.StatusForbidden)
		return
	}
	caseID := r.PathValue("case_id")
	f := &reviewView{CaseID: caseID, Fields: map[string]string{}, Current: r.PostFormValue("choice"),
		Other: strings.TrimSpace(r.PostFormValue("other")), Note: r.PostFormValue("note"), RequestID: r.PostFormValue("request_id")}
	item := f.Current
	if f.Other != "" {
		item = f.Other
	}
	switch {
	case item == "":
		f.Fields["item_code"] = "请选择一个事项，或填写其他事项代码"
	case !itemCode.MatchString(item) || len(item) == 2:
		f.Fields["item_code"] = "事项代码应为5位数字或H加5位数字"
	}
	if !utf8.ValidString(f.Note) || utf8.RuneCountInString(f.Note) > 500 {
		f.Fields["note"] = "备注最多500字"
	}
	if f.RequestID == "" || len(f.RequestID) > 64 {
		f.Fields["request_id"] = "请求编号缺失，请刷新页面后重试"
	}
	if len(f.Fields) > 0 {
		s.renderReview(w, r, http.StatusBadRequest, "提交失败，请修改标红的字段。", f)
		return
	}
	ctx, cancel := s.callContext(r.Context(), acting)
	defer cancel()
	if ctx == nil {
		http.Error(w, msgNoCredential, http.StatusInternalServerError)
		return
	}
	resp, err := s.opts.Live.Classify.ResolveReview(ctx, &classifyv1.ResolveReviewRequest{RequestId: f.RequestID,
		CaseId: caseID, ItemCode: item, Note: f.Note})
	if err != nil {
		code, msg := s.callError(r, "ResolveReview", err, f.Fields)
		if code == http.StatusBadRequest && len(f.Fields) > 0 {
			msg = "提交失败，请修改标红的字段。"
		} else if len(f.Fields) == 0 {
			f.Fields["item_code"] = msg
		}
		s.renderReview(w, r, code, msg, f)
		return
	}
	s.log.InfoContext(r.Context(), "review resolved", "actor", acting.Actor(), "case_id", caseID, "item", item)
	number := resp.GetClassification().GetCaseNumber()
	http.Redirect(w, r, "/review?resolved="+url.QueryEscape(number), http.StatusSeeOther)
}
