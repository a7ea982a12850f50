package intake

import (
	"errors"
	"math"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/gridflow/gridflow/pkg/auth"
	"github.com/gridflow/gridflow/pkg/fault"
	"github.com/gridflow/gridflow/pkg/freetext"
	"github.com/gridflow/gridflow/pkg/reference"
	"github.com/gridflow/gridflow/pkg/testenv"
)

// Fuzz targets for intake's request validators beside the work order's
// (FuzzValidateWorkOrder): the patrol report and the issue through the
// service (on the in-memory store and fake places the other domain tests
// use), the follow-up, the listing filter and the case key through their
// checks. Seeds in testdata/fuzz/<target>. Each checks: no panic; no internal
// error; a refusal is InvalidArgument naming only the request's fields with
// reasons; what is accepted is what the store may keep.

// refused reports whether err refuses the request, failing the test on an
// error that is neither a refusal nor one of the honest codes.
func refused(t *testing.T, err error, fields ...string) bool {
	t.Helper()
	if err == nil {
		return false
	}
	if fault.KindOf(err) == fault.InvalidArgument {
		return testenv.Refusal(t, err, fields...)
	}
	var f *fault.Error
	if !errors.As(err, &f) || f.Kind == fault.Internal {
		t.Fatalf("internal error: %v", err)
	}
	return true
}

// kept fails on text the store would keep that is not valid UTF-8 or holds
// a control character but a line break or tab.
func kept(t *testing.T, field, s string) {
	t.Helper()
	if !utf8.ValidString(s) || strings.ContainsFunc(s, freetext.Control) {
		t.Fatalf("accepted %s %q", field, s)
	}
}

func fuzzNow() time.Time { return now }

func FuzzPatrolReport(f *testing.F) {
	f.Fuzz(func(t *testing.T, requestID, grid, catalogue, description string, lat, lng float64, datum, photos string, observedSec int64) {
		r := PatrolReport{RequestID: requestID, GridCode: grid, CatalogueCode: catalogue, Description: description,
			Location: &LatLng{Lat: lat, Lng: lng, Datum: Datum(datum)}}
		if photos != "" {
			for _, p := range strings.Split(photos, ",") {
				r.Photos = append(r.Photos, Attachment{URI: p})
			}
		}
		if observedSec != 0 {
			r.ObservedAt = time.Unix(observedSec, 0)
		}
		svc := New(&memStore{}, fakePlaces{}, fakePlaces{}, fuzzNow)
		sub, err := svc.SubmitPatrolReport(as(auth.RolePatrol, "w-17"), r)
		if refused(t, err, "report.request_id", "report.worker_id", "report.observed_at", "report.description", "report.photos",
			"report.catalogue_code", "report.location", "report.location.datum", "report.location.lat", "report.location.lng",
			"report.grid_code") {
			return
		}
		p := sub.Patrol
		kept(t, "description", p.Description)
		if p.WorkerID != "w-17" || p.Description == "" || sub.Area.Grid == "" || sub.Area.Grid == reference.Unknown ||
			math.IsNaN(sub.Location.Lat) || p.ObservedAt.After(now.Add(MaxClockSkew)) || p.ObservedAt.Before(minTime) {
			t.Fatalf("accepted %+v as %+v", r, sub)
		}
	})
}

func FuzzIssue(f *testing.F) {
	f.Fuzz(func(t *testing.T, requestID, secretary, title, content, whistle string) {
		is := Issue{RequestID: requestID, SecretaryID: secretary, Title: title, Content: content}
		if whistle != "" {
			is.WhistleDepartments = strings.Split(whistle, ",")
		}
		svc := New(&memStore{}, fakePlaces{}, fakePlaces{}, fuzzNow)
		sub, err := svc.RaiseIssue(as(auth.RoleSecretary, "310106022001"), is)
		if refused(t, err, "issue.request_id", "issue.secretary_id", "issue.title", "issue.content", "issue.community_code",
			"issue.whistle_departments") {
			return
		}
		for _, s := range []string{sub.Issue.SecretaryID, sub.Issue.Title, sub.Issue.Content} {
			kept(t, "text", s)
		}
		if sub.Issue.CommunityCode != "310106022001" || len(sub.Issue.WhistleDepartments) > MaxWhistle {
			t.Fatalf("accepted %+v", sub.Issue)
		}
	})
}

func FuzzFollowUp(f *testing.F) {
	f.Fuzz(func(t *testing.T, requestID, caseNumber, orderNo, kind, text string) {
		k, fu := Key{CaseNumber: caseNumber, HotlineOrderNo: orderNo}, FollowUp{RequestID: requestID, Kind: FollowUpKind(kind), Text: text}
		normaliseStrings(&fu.RequestID, &fu.Text, &k.CaseNumber, &k.HotlineOrderNo)
		if refused(t, checkFollowUp(k, fu), "request_id", "case", "case_number", "hotline_order_no", "kind", "text") {
			return
		}
		kept(t, "text", fu.Text)
		kept(t, "case_number", k.CaseNumber)
		if (k.CaseNumber == "") == (k.HotlineOrderNo == "") || len(k.CaseNumber) > MaxCodeBytes || len(k.HotlineOrderNo) > MaxRequestID {
			t.Fatalf("accepted key %+v", k)
		}
		switch fu.Kind {
		case FollowUpSupplement, FollowUpWithdraw:
			if fu.Text == "" {
				t.Fatalf("accepted a %s without a text", fu.Kind)
			}
		case FollowUpUrge:
		default:
			t.Fatalf("accepted kind %q", fu.Kind)
		}
	})
}

func FuzzListFilter(f *testing.F) {
	f.Fuzz(func(t *testing.T, source, district, street string, afterSec, beforeSec int64, pageSize int) {
		lf := ListFilter{Source: reference.Source(source), District: district, Street: street, PageSize: pageSize}
		if afterSec != 0 {
			lf.After = time.Unix(afterSec, 0).UTC()
		}
		if beforeSec != 0 {
			lf.Before = time.Unix(beforeSec, 0).UTC()
		}
		if refused(t, checkListFilter(&lf), "page_size", "source", "district_code", "street_code", "accepted_after", "accepted_before") {
			return
		}
		if lf.PageSize < 1 || lf.PageSize > MaxPageSize {
			t.Fatalf("page size %d settled as %d", pageSize, lf.PageSize)
		}
		kept(t, "district_code", lf.District)
		kept(t, "street_code", lf.Street)
		for _, tm := range []time.Time{lf.After, lf.Before} {
			if _, err := tm.MarshalJSON(); err != nil || !tm.IsZero() && (tm.Before(minTime) || !tm.Before(maxTime)) {
				t.Fatalf("accepted %v", tm)
			}
		}
	})
}

func FuzzKey(f *testing.F) {
	f.Fuzz(func(t *testing.T, caseID, caseNumber, orderNo string) {
		svc := New(&memStore{}, fakePlaces{}, fakePlaces{}, fuzzNow)
		_, err := svc.GetSubmission(as(auth.RoleAdmin, ""), Key{CaseID: caseID, CaseNumber: caseNumber, HotlineOrderNo: orderNo})
		if refused(t, err, "key", "case_id", "case_number", "hotline_order_no") && fault.KindOf(err) != fault.InvalidArgument {
			// The in-memory store knows no case: a well-formed key is NotFound.
			for _, s := range []string{caseID, caseNumber, orderNo} {
				kept(t, "key", s)
			}
		}
	})
}

// FuzzWorkOrder: a work order through SubmitWorkOrder, as the hotline sends
// it (FuzzValidateWorkOrder drives the validator alone).
func FuzzWorkOrder(f *testing.F) {
	f.Fuzz(func(t *testing.T, orderNo, title, content, phone, address, appealType, urgency string, receivedSec int64,
		community string, lat, lng float64, datum string, noCallback bool) {
		wo := WorkOrder{HotlineOrderNo: orderNo, Title: title, Content: content, CallerPhone: phone, Address: address,
			AppealType: reference.AppealType(appealType), Urgency: reference.Urgency(urgency), CommunityCode: community, NoCallback: noCallback}
		if receivedSec != 0 {
			wo.ReceivedAt = time.Unix(receivedSec, 0)
		}
		if datum != "" {
			wo.Location = &LatLng{Lat: lat, Lng: lng, Datum: Datum(datum)}
		}
		svc := New(&memStore{}, fakePlaces{}, fakePlaces{}, fuzzNow)
		sub, err := svc.SubmitWorkOrder(as(auth.RoleHotline, ""), wo)
		if refused(t, err, "work_order.hotline_order_no", "work_order.received_at", "work_order.appeal_type", "work_order.title",
			"work_order.content", "work_order.caller_name", "work_order.caller_phone", "work_order.address", "work_order.location",
			"work_order.location.datum", "work_order.location.lat", "work_order.location.lng", "work_order.urgency",
			"work_order.attachments", "work_order.answered_on_call", "work_order.answer", "work_order.district_code",
			"work_order.street_code", "work_order.community_code", "work_order.grid_code") {
			return
		}
		got := sub.WorkOrder
		for _, s := range []string{got.HotlineOrderNo, got.Title, got.Content, got.Address} {
			kept(t, "text", s)
		}
		if got.Content == "" || !got.AppealType.Valid() || !got.Urgency.Valid() || got.Urgency == "" ||
			got.ReceivedAt.Before(minTime) || got.ReceivedAt.After(now.Add(MaxClockSkew)) {
			t.Fatalf("accepted %+v", got)
		}
	})
}
