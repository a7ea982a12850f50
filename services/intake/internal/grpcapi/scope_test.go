package grpcapi_test

import (
	"slices"
	"testing"

	"github.com/gridflow/gridflow/pkg/geo"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	intakev1 "github.com/gridflow/gridflow/proto/gen/go/gridflow/intake/v1"
	typesv1 "github.com/gridflow/gridflow/proto/gen/go/gridflow/types/v1"
)

// TestReadsAreScoped: every reader of submissions sees exactly its reach
// (pkg/policy), by GetSubmission and ListSubmissions alike; a submission
// outside it and one that does not exist are the same PERMISSION_DENIED,
// and admin hears NOT_FOUND. Departments read no submissions.
func TestReadsAreScoped(t *testing.T) {
	e := setup(t)
	hl, hctx := e.as(t, "hotline")
	wo, err := hl.SubmitWorkOrder(hctx, &intakev1.SubmitWorkOrderRequest{WorkOrder: order("T-SCOPE")}) // 芷江西路 310106022
	if err != nil {
		t.Fatal(err)
	}
	unknown := order("T-UNKNOWN")
	unknown.DistrictCode, unknown.StreetCode = "", ""
	woUnknown, err := hl.SubmitWorkOrder(hctx, &intakev1.SubmitWorkOrderRequest{WorkOrder: unknown})
	if err != nil {
		t.Fatal(err)
	}
	pc, pctx := e.as(t, "patrol:w-17")
	lat, lng := geo.WGS84ToGCJ02(31.2980, 121.4500) // 临汾路 310106021
	pr, err := pc.SubmitPatrolReport(pctx, &intakev1.SubmitPatrolReportRequest{Report: &intakev1.PatrolReport{RequestId: "p-1",
		Description: "消防通道被占用", Location: &typesv1.LatLng{Lat: lat, Lng: lng, Datum: typesv1.Datum_DATUM_GCJ02}}})
	if err != nil {
		t.Fatal(err)
	}
	sc, sctx := e.as(t, "secretary:310106022002")
	is, err := sc.RaiseIssue(sctx, &intakev1.RaiseIssueRequest{Issue: &intakev1.Issue{RequestId: "i-1", Title: "占道经营", Content: "小区门口占道经营"}})
	if err != nil {
		t.Fatal(err)
	}
	all := map[string]string{
		wo.GetSubmission().GetCaseNumber(): "hotline 310106022", woUnknown.GetSubmission().GetCaseNumber(): "hotline, area unknown",
		pr.GetSubmission().GetCaseNumber(): "patrol w-17 310106021", is.GetSubmission().GetCaseNumber(): "secretary 310106022002",
	}
	if a := woUnknown.GetSubmission().GetArea(); a.GetDistrictCode() != "0" || a.GetStreetCode() != "0" {
		t.Fatalf("the unknown order resolved to %v", a)
	}
	sees := map[string][]string{
		"hotline":                {"hotline 310106022", "hotline, area unknown"},
		"patrol:w-17":            {"patrol w-17 310106021"},
		"patrol:w-18":            nil,
		"secretary:310106022002": {"secretary 310106022002"},
		"secretary:310106022001": nil,
		"dispatcher:310106022":   {"hotline 310106022", "secretary 310106022002"},
		"dispatcher:310106021":   {"patrol w-17 310106021"},
		"district:310106":        {"hotline 310106022", "hotline, area unknown", "patrol w-17 310106021", "secretary 310106022002"},
		"district:310101":        {"hotline, area unknown"},
		"admin":                  {"hotline 310106022", "hotline, area unknown", "patrol w-17 310106021", "secretary 310106022002"},
	}
	for p, want := range sees {
		c, ctx := e.as(t, p)
		list, err := c.ListSubmissions(ctx, &intakev1.ListSubmissionsRequest{PageSize: 100})
		if err != nil {
			t.Fatalf("%s lists: %v", p, err)
		}
		var got []string
		for _, s := range list.GetSubmissions() {
			got = append(got, all[s.GetCaseNumber()])
		}
		slices.Sort(got)
		if !slices.Equal(got, want) {
			t.Errorf("%s lists %v, want %v", p, got, want)
		}
		for number, label := range all {
			_, err := c.GetSubmission(ctx, &intakev1.GetSubmissionRequest{Key: &intakev1.GetSubmissionRequest_CaseNumber{CaseNumber: number}})
			if want := slices.Contains(want, label); want != (err == nil) || (!want && status.Code(err) != codes.PermissionDenied) {
				t.Errorf("%s reads %s: %v, want allowed=%v (else PERMISSION_DENIED)", p, label, err, want)
			}
		}
		_, err = c.GetSubmission(ctx, &intakev1.GetSubmissionRequest{Key: &intakev1.GetSubmissionRequest_CaseNumber{CaseNumber: "GF-20000101-000009"}})
		if wantCode := map[bool]codes.Code{true: codes.NotFound, false: codes.PermissionDenied}[p == "admin"]; status.Code(err) != wantCode {
			t.Errorf("%s reads a case that does not exist: %v, want %v", p, err, wantCode)
		}
	}
	dc, dctx := e.as(t, "department:310106022-cgzd")
	if _, err := dc.ListSubmissions(dctx, &intakev1.ListSubmissionsRequest{}); status.Code(err) != codes.PermissionDenied {
		t.Errorf("a department lists submissions: %v, want PERMISSION_DENIED", err)
	}
}
