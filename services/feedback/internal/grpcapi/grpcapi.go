// Package grpcapi serves gridflow.feedback.v1 over the feedback domain:
// translate, call, translate back. Errors are fault errors, mapped to codes
// by pkg/grpcserver.
package grpcapi

import (
	"context"
	"fmt"
	"github.com/gridflow/gridflow/pkg/reloadlog"
	"strconv"
	"time"

	"github.com/gridflow/gridflow/pkg/auth"
	"github.com/gridflow/gridflow/pkg/fault"
	"github.com/gridflow/gridflow/pkg/policy"
	"github.com/gridflow/gridflow/pkg/wire"
	"github.com/gridflow/gridflow/services/feedback/internal/convert"
	"github.com/gridflow/gridflow/services/feedback/internal/feedback"
	"google.golang.org/grpc"

	feedbackv1 "github.com/gridflow/gridflow/proto/gen/go/gridflow/feedback/v1"
)

// Server implements feedbackv1.FeedbackServiceServer.
type Server struct {
	feedbackv1.UnimplementedFeedbackServiceServer
	svc     *feedback.Service
	reloads *reloadlog.Log
	// bell rings when events commit (LISTEN/NOTIFY); poll is the fallback
	// for a lost listening connection.
	bell *Bell
	poll time.Duration
}

// New returns the server; bell may be nil (watches then only poll).
func New(svc *feedback.Service, bell *Bell, poll time.Duration) *Server {
	if poll <= 0 {
		poll = 500 * time.Millisecond
	}
	if bell == nil {
		bell = NewBell()
	}
	return &Server{svc: svc, bell: bell, poll: poll}
}

// authorize is the caller and its scope for one of the service's RPCs
// (pkg/policy; the interceptor already refused whoever the table does not
// name). The domain applies the scope where it loads cases.
func authorize(ctx context.Context, rpc string) (auth.Principal, policy.Scope, error) {
	return policy.Authorize(ctx, policy.Method(policy.FeedbackService, rpc))
}

// GetCase reads a case.
func (s *Server) GetCase(ctx context.Context, req *feedbackv1.GetCaseRequest) (*feedbackv1.GetCaseResponse, error) {
	_, sc, err := authorize(ctx, "GetCase")
	if err != nil {
		return nil, err
	}
	c, primary, err := s.svc.GetCase(ctx, sc, req.GetCaseId(), req.GetCaseNumber(), req.GetHotlineOrderNo())
	if err != nil {
		return nil, err
	}
	return &feedbackv1.GetCaseResponse{Case: convert.CaseOut(c, primary)}, nil
}

// ListCases lists cases within the caller's scope.
func (s *Server) ListCases(ctx context.Context, req *feedbackv1.ListCasesRequest) (*feedbackv1.ListCasesResponse, error) {
	_, sc, err := authorize(ctx, "ListCases")
	if err != nil {
		return nil, err
	}
	f := feedback.Filter{Scope: sc, AreaCode: req.GetAreaCode(), Department: req.GetDepartmentCode(), ItemCode: req.GetItemCode(),
		Source: wire.SourceIn(req.GetSource()), From: wire.TimeIn(req.GetReceivedFrom()), To: wire.TimeIn(req.GetReceivedTo()),
		PageSize: int(req.GetPageSize()), PageToken: req.GetPageToken()}
	var vs fault.Violations
	if f.Source != "" && !f.Source.Valid() {
		vs.Add("source", "unknown value %q", f.Source)
	}
	for i, st := range req.GetStates() {
		x, ok := convert.StateIn(st)
		if !ok {
			vs.Add(fmt.Sprintf("states[%d]", i), "%v is not a case state", st)
		}
		f.States = append(f.States, x)
	}
	if req.GetPageSize() < 0 {
		vs.Add("page_size", "must not be negative")
	}
	if err := vs.Err(); err != nil {
		return nil, err
	}
	cases, next, err := s.svc.ListCases(ctx, f)
	if err != nil {
		return nil, err
	}
	leads, err := s.svc.MirroredLeads(ctx, cases)
	if err != nil {
		return nil, err
	}
	resp := &feedbackv1.ListCasesResponse{NextPageToken: next}
	for _, c := range cases {
		out := convert.CaseOut(c, nil)
		if l, ok := leads[c.ID]; ok {
			out.LeadDepartmentCode = l
		}
		resp.Cases = append(resp.Cases, out)
	}
	return resp, nil
}

// GetCaseTimeline lists a case's events.
func (s *Server) GetCaseTimeline(ctx context.Context, req *feedbackv1.GetCaseTimelineRequest) (*feedbackv1.GetCaseTimelineResponse, error) {
	_, sc, err := authorize(ctx, "GetCaseTimeline")
	if err != nil {
		return nil, err
	}
	c, evs, err := s.svc.Timeline(ctx, sc, req.GetCaseId(), req.GetCaseNumber(), req.GetHotlineOrderNo())
	if err != nil {
		return nil, err
	}
	resp := &feedbackv1.GetCaseTimelineResponse{CaseId: c.ID, CaseNumber: c.Number}
	for _, e := range evs {
		resp.Entries = append(resp.Entries, convert.EntryOut(e))
	}
	return resp, nil
}

// WatchCaseUpdates streams hotline updates from a cursor.
func (s *Server) WatchCaseUpdates(req *feedbackv1.WatchCaseUpdatesRequest, stream grpc.ServerStreamingServer[feedbackv1.WatchCaseUpdatesResponse]) error {
	ctx := stream.Context()
	_, sc, err := authorize(ctx, "WatchCaseUpdates")
	if err != nil {
		return err
	}
	if id := req.GetCaseId(); id != "" {
		// A named case is checked like GetCase: outside the scope, or
		// unknown to a scoped caller, is PERMISSION_DENIED.
		if _, _, err := s.svc.GetCase(ctx, sc, id, "", ""); err != nil {
			return err
		}
	}
	cursor := int64(-1)
	if req.GetCursor() != "" {
		n, err := strconv.ParseInt(req.GetCursor(), 10, 64)
		if err != nil || n < 0 {
			var vs fault.Violations
			vs.Add("cursor", "is not one this service gave out")
			return vs.Err()
		}
		cursor = n
	}
	// Only updates of cases within the caller's scope are sent. Task events
	// name the case but not its source nor the hotline's order number, by
	// which the hotline files what it relays: read both from the case once
	// per case (neither changes), in a bounded cache of two generations
	// (watchCacheSize cases each). A case found in the older moves to the
	// newer; when the newer is full the older is dropped. (Issue 17: one
	// map cleared when full dropped the cases still at work with the rest,
	// and a busy stream read each case about twice.)
	type seen struct {
		orderNo string
		inScope bool
	}
	cases := newGenerations[seen](watchCacheSize)
	caseOf := func(caseID string) (seen, error) {
		return cases.get(caseID, func() (seen, error) {
			c, _, err := s.svc.GetCase(ctx, policy.Scope{Kind: policy.All}, caseID, "", "")
			if err != nil && fault.KindOf(err) == fault.Internal {
				return seen{}, err
			}
			if c == nil { // a case feedback cannot read is sent to nobody
				return seen{}, nil
			}
			return seen{orderNo: c.HotlineOrderNo, inScope: sc.AllowsCase(c.ScopeFacts())}, nil
		})
	}
	tick := time.NewTicker(s.poll)
	defer tick.Stop()
	for {
		rung := s.bell.Wait() // before reading, so a commit in between still wakes us
		evs, next, err := s.svc.Updates(ctx, cursor, req.GetCaseId(), 200)
		if err != nil {
			return err
		}
		for _, e := range evs {
			u, ok := convert.UpdateOut(e)
			if !ok {
				continue
			}
			c, err := caseOf(e.CaseID)
			if err != nil {
				return err
			}
			if !c.inScope {
				continue
			}
			if u.HotlineOrderNo == "" {
				u.HotlineOrderNo = c.orderNo
			}
			u.Cursor = strconv.FormatInt(e.Seq, 10)
			if err := stream.Send(u); err != nil {
				return err
			}
		}
		cursor = next
		if len(evs) == 200 {
			continue
		}
		select {
		case <-ctx.Done():
			return nil
		case <-rung:
		case <-tick.C:
		}
	}
}

// watchCacheSize is how many cases one generation of a WatchCaseUpdates
// stream's cache holds: at most about 4 MB a stream for both. Under a
// burst a case's updates are minutes apart, and thousands of cases pass in
// between (make bench at 200/s: 4096 still read a case 1.26 times).
const watchCacheSize = 16384

// generations is a bounded cache in two generations of at most size
// entries each: an entry found in the older moves to the newer, and when
// the newer is full the older is dropped and the newer takes its place. An
// entry in use stays; one unused for size others goes.
type generations[V any] struct {
	size         int
	newer, older map[string]V
}

func newGenerations[V any](size int) *generations[V] {
	return &generations[V]{size: size, newer: map[string]V{}, older: map[string]V{}}
}

// get returns key's value, from load if neither generation holds it (an
// error is returned and not kept).
func (g *generations[V]) get(key string, load func() (V, error)) (V, error) {
	if v, ok := g.newer[key]; ok {
		return v, nil
	}
	v, ok := g.older[key]
	if !ok {
		var err error
		if v, err = load(); err != nil {
			return v, err
		}
	}
	if len(g.newer) >= g.size {
		g.older, g.newer = g.newer, make(map[string]V, g.size)
	}
	g.newer[key] = v
	return v, nil
}

// ListReplies lists replies.
func (s *Server) ListReplies(ctx context.Context, req *feedbackv1.ListRepliesRequest) (*feedbackv1.ListRepliesResponse, error) {
	_, sc, err := authorize(ctx, "ListReplies")
	if err != nil {
		return nil, err
	}
	if req.GetPageSize() < 0 {
		var vs fault.Violations
		vs.Add("page_size", "must not be negative")
		return nil, vs.Err()
	}
	rs, next, err := s.svc.ListReplies(ctx, sc, req.GetCaseId(), wire.TimeIn(req.GetSince()), int(req.GetPageSize()), req.GetPageToken())
	if err != nil {
		return nil, err
	}
	resp := &feedbackv1.ListRepliesResponse{NextPageToken: next}
	for _, r := range rs {
		resp.Replies = append(resp.Replies, convert.ReplyOut(r))
	}
	return resp, nil
}

// RecordCallback records a callback.
func (s *Server) RecordCallback(ctx context.Context, req *feedbackv1.RecordCallbackRequest) (*feedbackv1.RecordCallbackResponse, error) {
	p, sc, err := authorize(ctx, "RecordCallback")
	if err != nil {
		return nil, err
	}
	c, id, err := s.svc.RecordCallback(ctx, sc, p.Actor(), feedback.CallbackInput{RequestID: req.GetRequestId(), CaseID: req.GetCaseId(),
		Reached: req.GetReached(), ContactedByUnit: req.GetContactedByUnit(), Solved: req.GetSolved(),
		Satisfaction: convert.SatisfactionRequestIn(req.GetSatisfaction()), Note: req.GetNote()})
	if err != nil {
		return nil, err
	}
	return &feedbackv1.RecordCallbackResponse{Case: convert.CaseOut(c, nil), CallbackId: id}, nil
}

// RecordRecheck records a re-check; a grid worker re-checks as themself.
func (s *Server) RecordRecheck(ctx context.Context, req *feedbackv1.RecordRecheckRequest) (*feedbackv1.RecordRecheckResponse, error) {
	p, sc, err := authorize(ctx, "RecordRecheck")
	if err != nil {
		return nil, err
	}
	worker := ""
	if p.Role == auth.RolePatrol {
		worker = p.Subject
	}
	c, id, err := s.svc.RecordRecheck(ctx, sc, p.Actor(), worker, feedback.RecheckInput{RequestID: req.GetRequestId(), CaseID: req.GetCaseId(),
		Passed: req.GetPassed(), Photos: req.GetPhotos(), Note: req.GetNote()})
	if err != nil {
		return nil, err
	}
	return &feedbackv1.RecordRecheckResponse{Case: convert.CaseOut(c, nil), RecheckId: id}, nil
}

// GetMetrics computes figures.
func (s *Server) GetMetrics(ctx context.Context, req *feedbackv1.GetMetricsRequest) (*feedbackv1.GetMetricsResponse, error) {
	_, sc, err := authorize(ctx, "GetMetrics")
	if err != nil {
		return nil, err
	}
	// An unknown scope reaches the domain as "", which names the field.
	f, err := s.svc.Figures(ctx, sc, convert.ScopeIn(req.GetScope()), req.GetCode(), convert.PeriodIn(req.GetPeriod()))
	if err != nil {
		return nil, err
	}
	return &feedbackv1.GetMetricsResponse{Scope: req.GetScope(), Code: req.GetCode(), Period: req.GetPeriod(), Metrics: convert.FiguresOut(f)}, nil
}

// GetPareto ranks categories.
func (s *Server) GetPareto(ctx context.Context, req *feedbackv1.GetParetoRequest) (*feedbackv1.GetParetoResponse, error) {
	_, sc, err := authorize(ctx, "GetPareto")
	if err != nil {
		return nil, err
	}
	rows, total, err := s.svc.Pareto(ctx, sc, req.GetAreaCode(), convert.PeriodIn(req.GetPeriod()))
	if err != nil {
		return nil, err
	}
	resp := &feedbackv1.GetParetoResponse{Total: int32(total)}
	for _, r := range rows {
		resp.Rows = append(resp.Rows, &feedbackv1.ParetoRow{ItemCode: r.Category, ItemName: r.Name, Count: int32(r.Count),
			Share: r.Share, Cumulative: r.Cumulative, VitalFew: r.VitalFew})
	}
	return resp, nil
}

// GetHotspots finds rising places and sources.
func (s *Server) GetHotspots(ctx context.Context, req *feedbackv1.GetHotspotsRequest) (*feedbackv1.GetHotspotsResponse, error) {
	_, sc, err := authorize(ctx, "GetHotspots")
	if err != nil {
		return nil, err
	}
	hs, err := s.svc.Hotspots(ctx, sc, req.GetAreaCode(), convert.PeriodIn(req.GetPeriod()), int(req.GetBaselineWindows()), int(req.GetMinCount()), req.GetMinScore())
	if err != nil {
		return nil, err
	}
	resp := &feedbackv1.GetHotspotsResponse{}
	for _, h := range hs {
		resp.Hotspots = append(resp.Hotspots, &feedbackv1.Hotspot{Kind: h.Kind, Key: h.Key, Current: int32(h.Current), Baseline: h.Baseline,
			Score: h.Score, CaseIds: h.CaseIDs})
	}
	return resp, nil
}
