package web

// Issue 20, places (以房管人): the place page GET /places/{key} — a place of
// the register and its history (every case, incident, source place and
// change at the address, the shop, or with ?lane=1 the lane) — and the case
// page's section 此地历史, the history of the case's own place. Both read
// classify's PlaceService as the signed-in person; html/template escapes
// the citizens' titles and the register's names and notes.

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/gridflow/gridflow/pkg/redact"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/timestamppb"

	classifyv1 "github.com/gridflow/gridflow/proto/gen/go/gridflow/classify/v1"
	"github.com/gridflow/gridflow/services/console/internal/accounts"
)

// placeCaseView is one case of a place's history.
type placeCaseView struct {
	Received, Number, ID, Source, Item, Incident, Place, Title string
	Private, InReview                                          bool
}

type placeChangeView struct {
	At, Key, Origin, Actor, Kind, Status, Name, Note string
	Version                                          uint64
}

type placeIncidentView struct {
	ID, Item, SourcePlace, First, Last string
	Reports                            uint32
}

// placeHistoryView is a place's history as the page and the case page's
// section show it.
type placeHistoryView struct {
	Key, LaneKey, Level string
	Lane                bool
	Place               *classifyv1.Place
	Cases               []placeCaseView
	Incidents           []placeIncidentView
	Sources             []string
	Changes             []placeChangeView
	Next                string
	// Link is the place page of this history.
	Link string
}

// placePageView is the place page.
type placePageView struct {
	Title     string
	Account   accounts.Account
	Principal string
	CSRF      string
	Error     string
	From, To  string
	History   *placeHistoryView
}

func (s *Server) placesRoutes() {
	s.page("GET /places/{key}", s.placePage)
}

// placeLink is the place page of key (a lane's with lane).
func placeLink(key string, lane bool) string {
	u := "/places/" + url.PathEscape(key)
	if lane {
		u += "?lane=1"
	}
	return u
}

func placeHistoryOut(h *classifyv1.GetPlaceHistoryResponse) *placeHistoryView {
	v := &placeHistoryView{Key: h.GetKey(), Lane: h.GetLane(), Place: h.GetPlace(), Next: h.GetNextPageToken(),
		Link: placeLink(h.GetKey(), h.GetLane())}
	v.Level = "门牌或商铺"
	if v.Lane {
		v.Level = "弄（含其下全部点位）"
	} else if parts := strings.Split(v.Key, "|"); len(parts) == 5 {
		if parts[2] != "" {
			v.LaneKey = strings.Join(parts[:3], "|") + "||"
		}
	}
	for _, c := range h.GetCases() {
		item := strings.TrimSpace(c.GetItemCode() + " " + c.GetItemName())
		v.Cases = append(v.Cases, placeCaseView{Received: localTime(c.GetReceivedAt()), Number: c.GetCaseNumber(), ID: c.GetCaseId(),
			Source: c.GetSource(), Item: item, Incident: c.GetIncidentId(), Place: c.GetPlaceKey(),
			Title: redact.Text(c.GetTitle()), Private: c.GetPrivateLocation(), InReview: c.GetInReview()})
	}
	for _, i := range h.GetIncidents() {
		v.Incidents = append(v.Incidents, placeIncidentView{ID: i.GetIncidentId(), Item: i.GetItemCode(), Reports: i.GetReports(),
			SourcePlace: i.GetSourcePlaceId(), First: localTime(i.GetFirstReportedAt()), Last: localTime(i.GetLastReportedAt())})
	}
	for _, sp := range h.GetSourcePlaces() {
		v.Sources = append(v.Sources, sp.GetSourcePlaceId()+"（"+strings.Join(sp.GetItemCodes(), "、")+"）")
	}
	for _, c := range h.GetChanges() {
		v.Changes = append(v.Changes, placeChangeView{At: localTime(c.GetAt()), Key: c.GetPlaceKey(), Origin: c.GetOrigin(),
			Actor: c.GetActor(), Kind: c.GetKind(), Status: c.GetStatus(), Name: c.GetName(), Note: c.GetNote(), Version: c.GetVersion()})
	}
	return v
}

// placePage is one place's history, paged by ?page=, within ?from= and
// ?to= (days, Asia/Shanghai).
func (s *Server) placePage(w http.ResponseWriter, r *http.Request) {
	sess := sessionOf(r.Context())
	key := r.PathValue("key")
	q := r.URL.Query()
	v := placePageView{Title: "此地历史 " + key, Account: sess.Account, Principal: sess.Account.Principal.String(), CSRF: sess.CSRF,
		From: q.Get("from"), To: q.Get("to")}
	if s.opts.Places == nil {
		v.Error = "地点登记未配置（CLASSIFY_GRPC_ADDR）。"
		s.render(w, r, http.StatusServiceUnavailable, "places.html", v)
		return
	}
	req := &classifyv1.GetPlaceHistoryRequest{Lane: q.Get("lane") == "1", PageSize: 50, PageToken: q.Get("page")}
	if strings.Count(key, "|") == 4 {
		req.PlaceKey = key
	} else {
		req.Address = key
	}
	for i, d := range []string{v.From, v.To} {
		if d == "" {
			continue
		}
		t, err := time.ParseInLocation("2006-01-02", d, shanghai)
		if err != nil {
			v.Error = "日期有误：应为 YYYY-MM-DD"
			s.render(w, r, http.StatusBadRequest, "places.html", v)
			return
		}
		if i == 0 {
			req.From = timestamppb.New(t)
		} else {
			req.To = timestamppb.New(t.Add(24 * time.Hour)) // the last day included
		}
	}
	ctx, cancel, ok := s.pageContext(w, r, sess.Account.Acting(), "places.html", &v, &v.Error)
	defer cancel()
	if !ok {
		return
	}
	resp, err := s.opts.Places.GetPlaceHistory(ctx, req)
	if err != nil {
		code, msg := s.callError(r, "GetPlaceHistory", err, nil)
		v.Error = msg
		s.render(w, r, code, "places.html", v)
		return
	}
	v.History = placeHistoryOut(resp)
	s.render(w, r, http.StatusOK, "places.html", v)
}

// casePlaceHistory fills the case page's section 此地历史: the newest
// cases at the case's own place (its lane for a private location), with a
// link to the place page.
func (s *Server) casePlaceHistory(ctx context.Context, caseID string, v *casePageView, mu *sync.Mutex, fail func(string, string, error)) {
	if s.opts.Places == nil {
		return
	}
	resp, err := s.opts.Places.GetPlaceHistory(ctx, &classifyv1.GetPlaceHistoryRequest{CaseId: caseID, PageSize: 10})
	if status.Code(err) == codes.FailedPrecondition {
		return // the case names no place: the section says so
	}
	if err != nil {
		fail("places", "GetPlaceHistory", err)
		return
	}
	h := placeHistoryOut(resp)
	mu.Lock()
	v.PlaceHistory = h
	mu.Unlock()
}
