package web

import (
	"context"
	"strings"
	"sync"

	"github.com/gridflow/gridflow/pkg/auth"
	"github.com/gridflow/gridflow/pkg/policy"

	classifyv1 "github.com/gridflow/gridflow/proto/gen/go/gridflow/classify/v1"
	dispatchv1 "github.com/gridflow/gridflow/proto/gen/go/gridflow/dispatch/v1"
)

// Source place coordination (issue 20): the case page's source place block —
// the lead unit a dispatcher named for the place the case's incident is
// linked to, its changes, and every linked task with the unit holding it.

// SourcePlaces are the clients the block reads through.
type SourcePlaces struct {
	Places       classifyv1.SourcePlaceServiceClient
	Coordination dispatchv1.CoordinationServiceClient
}

type coordTaskView struct {
	CaseID, Number, Item, Department, State, Due string
	Flags                                        []string
	ThisCase                                     bool
}

type sourcePlaceView struct {
	ID, Lead, Place string
	Open            bool
	History         []string
	Tasks           []coordTaskView
	// Note says why the linked tasks are not shown to this person.
	Note string
}

var (
	getSourcePlace  = policy.Method(policy.SourcePlaceService, "GetSourcePlace")
	getCoordination = policy.Method(policy.CoordinationService, "GetCoordination")
)

var placeChanges = map[string]string{"lead_set": "指定牵头单位", "lead_changed": "变更牵头单位", "closed": "关闭", "reopened": "重新开启"}

// caseSourcePlace fills v.SourcePlace: the place is found through the
// case's tasks (dispatch shows each task's coordination), so a department
// sees the block as well as a dispatcher; the linked tasks are shown to
// whoever GetCoordination answers (the lead, the street, the district,
// admin), the history to dispatchers.
func (s *Server) caseSourcePlace(ctx context.Context, acting auth.Principal, caseID string, v *casePageView, mu *sync.Mutex, fail func(string, string, error)) {
	if s.opts.SourcePlaces.Coordination == nil {
		return
	}
	resp, err := s.opts.Live.Dispatch.ListTasks(ctx, &dispatchv1.ListTasksRequest{CaseId: caseID, PageSize: 100})
	if err != nil {
		return // the tasks section says why
	}
	var co *dispatchv1.Coordination
	for _, t := range resp.GetTasks() {
		if c := t.GetCoordination(); c.GetSourcePlaceId() != "" {
			co = c
			break
		}
	}
	if co == nil {
		return
	}
	sv := &sourcePlaceView{ID: co.GetSourcePlaceId(), Lead: co.GetLeadDepartmentCode(), Open: co.GetOpen(), Place: co.GetPlaceKey()}
	if _, err := policy.Check(acting, getCoordination); err != nil {
		sv.Note = "联动任务仅牵头单位、街道与区调度员可见。"
	} else if cr, err := s.opts.SourcePlaces.Coordination.GetCoordination(ctx, &dispatchv1.GetCoordinationRequest{SourcePlaceId: sv.ID}); err != nil {
		fail("sourceplace", "GetCoordination", err)
	} else {
		for _, t := range cr.GetTasks() {
			tv := coordTaskView{CaseID: t.GetCaseId(), Number: t.GetCaseNumber(), Item: t.GetItemCode(), Department: t.GetDepartmentCode(),
				State: dispatchTaskStates[t.GetState()], Due: localTime(t.GetDeadlines().GetComplete().GetDue()), ThisCase: t.GetCaseId() == caseID}
			for _, f := range []struct {
				on   bool
				name string
			}{{t.GetWarned(), "临期预警"}, {t.GetOverdue(), "超期"}, {t.GetEscalated(), "已升级"}} {
				if f.on {
					tv.Flags = append(tv.Flags, f.name)
				}
			}
			sv.Tasks = append(sv.Tasks, tv)
		}
	}
	if _, err := policy.Check(acting, getSourcePlace); err == nil && s.opts.SourcePlaces.Places != nil {
		if pr, err := s.opts.SourcePlaces.Places.GetSourcePlace(ctx, &classifyv1.GetSourcePlaceRequest{SourcePlaceId: sv.ID}); err != nil {
			fail("sourceplace", "GetSourcePlace", err)
		} else {
			for _, h := range pr.GetSourcePlace().GetHistory() {
				line := localTime(h.GetAt()) + " " + h.GetActor() + " " + placeChanges[h.GetChange()] + " " + h.GetLeadDepartmentCode()
				if r := strings.TrimSpace(h.GetReason()); r != "" {
					line += "：" + r
				}
				sv.History = append(sv.History, line)
			}
		}
	}
	mu.Lock()
	v.SourcePlace = sv
	mu.Unlock()
}
