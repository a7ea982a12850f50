// Package convert translates classify's domain values to and from the
// protobuf types of the events and the API; the shared vocabulary maps
// through pkg/wire. Proto types never enter the domain.
package convert

import (
	"time"

	"github.com/gridflow/gridflow/pkg/reference"
	"github.com/gridflow/gridflow/pkg/wire"
	"github.com/gridflow/gridflow/services/classify/internal/classify"
	"google.golang.org/protobuf/types/known/durationpb"

	classifyv1 "github.com/gridflow/gridflow/proto/gen/go/gridflow/classify/v1"
	eventsv1 "github.com/gridflow/gridflow/proto/gen/go/gridflow/events/v1"
	typesv1 "github.com/gridflow/gridflow/proto/gen/go/gridflow/types/v1"
)

// CaseIn maps intake's case.received (or case.answered) payload. Unknown
// area levels are "0"; the point is WGS-84 (intake publishes WGS-84, and a
// GCJ-02 point is converted all the same).
func CaseIn(p *eventsv1.CaseReceived, answered bool) classify.Case {
	return classify.Case{
		ID: p.GetCaseId(), Number: p.GetCaseNumber(), HotlineOrderNo: p.GetHotlineOrderNo(), Source: wire.SourceIn(p.GetSource()),
		AppealType: wire.AppealTypeIn(p.GetAppealType()), Title: p.GetTitle(), Content: p.GetContent(),
		Urgency: wire.UrgencyIn(p.GetUrgency()), Area: wire.AreaIn(p.GetArea()).OrUnknown(),
		Address: p.GetAddress().GetRaw(), AddressKey: p.GetAddress().GetKey(),
		CatalogueCode: p.GetCatalogueCode(), Answered: answered, Location: wire.PointIn(p.GetLocation()),
		ReceivedAt: wire.TimeIn(p.GetReceivedAt()), AcceptedAt: wire.TimeIn(p.GetAcceptedAt()),
		PrivateLocation: p.GetPrivateLocation(), // issue 20, places
		SelfDisposed:    p.GetSelfDisposed(),    // issue 20
	}
}

// UrgencyOut maps an urgency for classify's readers, who are told what ""
// means: normal.
func UrgencyOut(u reference.Urgency) typesv1.Urgency { return wire.UrgencyOut(u.OrNormal()) }

var methods = map[classify.Method]eventsv1.ClassificationMethod{
	classify.MethodRule:          eventsv1.ClassificationMethod_CLASSIFICATION_METHOD_KEYWORD_RULE,
	classify.MethodPatrolCode:    eventsv1.ClassificationMethod_CLASSIFICATION_METHOD_PATROL_CODE,
	classify.MethodModel:         eventsv1.ClassificationMethod_CLASSIFICATION_METHOD_MODEL,
	classify.MethodModelClass:    eventsv1.ClassificationMethod_CLASSIFICATION_METHOD_MODEL_CLASS,
	classify.MethodReview:        eventsv1.ClassificationMethod_CLASSIFICATION_METHOD_REVIEW,
	classify.MethodReviewTimeout: eventsv1.ClassificationMethod_CLASSIFICATION_METHOD_REVIEW_TIMEOUT,
	classify.MethodReclassified:  eventsv1.ClassificationMethod_CLASSIFICATION_METHOD_RECLASSIFIED,
}

// MethodOut maps a method.
func MethodOut(m classify.Method) eventsv1.ClassificationMethod { return methods[m] }

// ClassifiedOut builds case.classified's payload.
func ClassifiedOut(c *classify.Classification, cs *classify.Case) *eventsv1.CaseClassified {
	return &eventsv1.CaseClassified{
		CaseId: c.CaseID, CaseNumber: c.CaseNumber, ClassificationVersion: uint32(c.Version),
		ItemCode: c.ItemCode, ItemName: c.ItemName, Label: c.Label, Confidence: c.Confidence,
		ModelVersion: c.ModelVersion, Urgency: UrgencyOut(c.Urgency), IncidentId: c.IncidentID,
		PrimaryCaseId: c.PrimaryCaseID, IncidentReports: uint32(c.IncidentReports), Dispatchable: c.Dispatchable,
		Method: MethodOut(c.Method), Labels: c.Labels, Reason: c.Reason, Unreviewed: c.Unreviewed,
		HotlineClass: c.HotlineClass, Area: wire.AreaOut(cs.Area), Source: wire.SourceOut(cs.Source),
		AppealType: wire.AppealTypeOut(cs.AppealType), ReceivedAt: wire.TimeOut(cs.ReceivedAt), ClassifiedAt: wire.TimeOut(c.ClassifiedAt),
	}
}

// ClassificationOut builds the API's Classification.
func ClassificationOut(c *classify.Classification) *classifyv1.Classification {
	if c == nil {
		return nil
	}
	return &classifyv1.Classification{
		CaseId: c.CaseID, CaseNumber: c.CaseNumber, Version: uint32(c.Version), ItemCode: c.ItemCode,
		ItemName: c.ItemName, Label: c.Label, Confidence: c.Confidence, ModelVersion: c.ModelVersion,
		Urgency: UrgencyOut(c.Urgency), IncidentId: c.IncidentID, PrimaryCaseId: c.PrimaryCaseID,
		IncidentReports: uint32(c.IncidentReports), Dispatchable: c.Dispatchable, Method: MethodOut(c.Method),
		Labels: c.Labels, Reason: c.Reason, Unreviewed: c.Unreviewed, ClassifiedAt: wire.TimeOut(c.ClassifiedAt),
		Actor: wire.PrincipalOut(c.Actor),
	}
}

// ChoicesOut maps a reviewer's choices.
func ChoicesOut(cs []classify.Choice) []*eventsv1.ReviewChoice {
	out := make([]*eventsv1.ReviewChoice, 0, len(cs))
	for _, c := range cs {
		out = append(out, &eventsv1.ReviewChoice{ItemCode: c.Code, ItemName: c.Name, Confidence: c.Confidence})
	}
	return out
}

var reviewStates = map[classify.ReviewState]classifyv1.ReviewState{
	classify.ReviewWaiting:  classifyv1.ReviewState_REVIEW_STATE_WAITING,
	classify.ReviewTimedOut: classifyv1.ReviewState_REVIEW_STATE_TIMED_OUT,
	classify.ReviewResolved: classifyv1.ReviewState_REVIEW_STATE_RESOLVED,
}

// ReviewOut builds the API's Review of a record in the queue.
func ReviewOut(r *classify.Record) *classifyv1.Review {
	if r == nil || r.Review == nil {
		return nil
	}
	rv := r.Review
	return &classifyv1.Review{
		CaseId: r.Case.ID, CaseNumber: r.Case.Number, State: reviewStates[rv.State], Source: wire.SourceOut(r.Case.Source),
		Area: wire.AreaOut(r.Case.Area), Title: r.Case.Title, Content: r.Case.Content, ReceivedAt: wire.TimeOut(r.Case.ReceivedAt),
		QueuedAt: wire.TimeOut(rv.QueuedAt), FallbackAt: wire.TimeOut(rv.FallbackAt), Choices: ChoicesOut(rv.Choices),
		ModelVersion: rv.ModelVersion, Classification: ClassificationOut(r.Current),
		ResolvedBy: wire.PrincipalOut(rv.ResolvedBy), ResolvedAt: wire.TimeOut(rv.ResolvedAt),
	}
}

// TreeOut maps a catalogue tree.
func TreeOut(t reference.Tree) classifyv1.CatalogueTree {
	switch t {
	case reference.TreeUrban:
		return classifyv1.CatalogueTree_CATALOGUE_TREE_URBAN
	case reference.TreeHotline:
		return classifyv1.CatalogueTree_CATALOGUE_TREE_HOTLINE
	}
	return classifyv1.CatalogueTree_CATALOGUE_TREE_UNSPECIFIED
}

// TreeIn maps a tree filter; unspecified is 0 (both), an unknown number -1.
func TreeIn(t classifyv1.CatalogueTree) (reference.Tree, bool) {
	switch t {
	case classifyv1.CatalogueTree_CATALOGUE_TREE_UNSPECIFIED:
		return 0, true
	case classifyv1.CatalogueTree_CATALOGUE_TREE_URBAN:
		return reference.TreeUrban, true
	case classifyv1.CatalogueTree_CATALOGUE_TREE_HOTLINE:
		return reference.TreeHotline, true
	}
	return 0, false
}

// ItemOut maps a catalogue entry.
func ItemOut(it reference.Item) *classifyv1.CatalogueItem {
	return &classifyv1.CatalogueItem{
		Code: it.Code, Name: it.Name, Tree: TreeOut(it.Tree), IsClass: it.Class, Parent: it.Parent,
		Synonyms: it.Synonyms, Kind: it.Kind, Power: it.Power, DefaultUrgency: UrgencyOut(it.Urgency),
		SlaProfile: it.SLA, ReviewRequired: it.ReviewRequired, DuplicateWindow: durationpb.New(it.DuplicateWindow),
		HotlineClass: it.HotlineClass, CatchAll: it.CatchAll,
	}
}

// IncidentOut builds the API's Incident.
func IncidentOut(inc *classify.Incident, sp *classify.SourcePlace, itemName string, window time.Duration, now time.Time) *classifyv1.Incident {
	out := &classifyv1.Incident{
		IncidentId: inc.ID, ItemCode: inc.ItemCode, ItemName: itemName, PrimaryCaseId: inc.PrimaryCaseID,
		CaseIds: inc.CaseIDs, Reports: uint32(inc.Reports()), Urgency: UrgencyOut(inc.Urgency),
		UrgencyRaised: inc.UrgencyRaised, PlaceKey: inc.Place.Key, Location: wire.PointOut(inc.Place.Point),
		Area: wire.AreaOut(inc.Area), FirstReportedAt: wire.TimeOut(inc.FirstAt), LastReportedAt: wire.TimeOut(inc.LastAt),
		Open: inc.Reports() > 0 && !now.After(inc.LastAt.Add(window)), SourcePlaceId: inc.SourcePlaceID,
	}
	if sp != nil {
		for _, id := range sp.IncidentIDs {
			if id != inc.ID {
				out.LinkedIncidentIds = append(out.LinkedIncidentIds, id)
			}
		}
	}
	return out
}

// CorrectionOut builds the API's Correction.
func CorrectionOut(c *classify.Correction, firstLevel string) *classifyv1.Correction {
	return &classifyv1.Correction{
		CaseId: c.CaseID, CaseNumber: c.CaseNumber, Text: c.Text, ItemCode: c.ItemCode,
		PreviousItemCode: c.PreviousItem, FirstLevelClass: firstLevel, Actor: wire.PrincipalOut(c.Actor),
		CorrectedAt: wire.TimeOut(c.At), Note: c.Note,
	}
}
