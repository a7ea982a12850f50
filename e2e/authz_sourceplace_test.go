package e2e

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/gridflow/gridflow/pkg/geo"
	"google.golang.org/protobuf/types/known/timestamppb"

	classifyv1 "github.com/gridflow/gridflow/proto/gen/go/gridflow/classify/v1"
	dispatchv1 "github.com/gridflow/gridflow/proto/gen/go/gridflow/dispatch/v1"
	intakev1 "github.com/gridflow/gridflow/proto/gen/go/gridflow/intake/v1"
	typesv1 "github.com/gridflow/gridflow/proto/gen/go/gridflow/types/v1"
)

// authzSourcePlaceCalls are the matrix's calls of source place coordination
// (issue 20) over a place of its own: w-0031 reports noise and litter at one
// point of 芷江西路 (two subjects: one source place), admin names the street's
// squad — the matrix's cgzdZJ column — its lead, and dispatch has heard.
// The writes name what the place already is (the same lead; close, then
// reopen), so every allowed column is answered OK.
func authzSourcePlaceCalls(t *testing.T, ctx context.Context, s *stack, w *authzWorld) map[string]func(ctx context.Context, col string) error {
	t.Helper()
	// Clients per column, made on first use (the public's column too).
	var mu sync.Mutex
	placesC := map[string]classifyv1.SourcePlaceServiceClient{}
	coordC := map[string]dispatchv1.CoordinationServiceClient{}
	places := func(col string) classifyv1.SourcePlaceServiceClient {
		mu.Lock()
		defer mu.Unlock()
		if placesC[col] == nil {
			placesC[col] = classifyv1.NewSourcePlaceServiceClient(authzDial(t, s, "classify", col))
		}
		return placesC[col]
	}
	coord := func(col string) dispatchv1.CoordinationServiceClient {
		mu.Lock()
		defer mu.Unlock()
		if coordC[col] == nil {
			coordC[col] = dispatchv1.NewCoordinationServiceClient(authzDial(t, s, "dispatch", col))
		}
		return coordC[col]
	}
	lat, lng := geo.WGS84ToGCJ02(31.2525, 121.4630)
	var place string
	for i, item := range []string{"06020", "06010"} {
		pr, err := w.intake["patrol:w-0031"].SubmitPatrolReport(ctx, &intakev1.SubmitPatrolReportRequest{Report: &intakev1.PatrolReport{
			RequestId: fmt.Sprintf("az-%s-sp%d", w.run, i), CatalogueCode: item, Description: "小饭店噪声扰民、门口垃圾",
			Location: &typesv1.LatLng{Lat: lat, Lng: lng, Datum: typesv1.Datum_DATUM_GCJ02}, ObservedAt: timestamppb.New(time.Now().Add(-time.Minute))}})
		if err != nil {
			t.Fatalf("source place report %d: %v", i, err)
		}
		cl := classified(t, s, pr.GetSubmission().GetCaseId(), pr.GetSubmission().GetCaseNumber(), zhijiang, item, typesv1.Urgency_URGENCY_NORMAL, true, "")
		inc, err := w.classify["admin"].GetIncident(ctx, &classifyv1.GetIncidentRequest{IncidentId: cl.GetIncidentId()})
		if err != nil {
			t.Fatal(err)
		}
		place = inc.GetIncident().GetSourcePlaceId()
	}
	if place == "" {
		t.Fatal("the two reports were linked to no source place")
	}
	if _, err := places("admin").SetSourcePlaceLead(ctx, &classifyv1.SetSourcePlaceLeadRequest{RequestId: w.rid("splead", "setup"),
		SourcePlaceId: place, DepartmentCode: zhijiang + "-cgzd"}); err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(45 * time.Second); ; time.Sleep(200 * time.Millisecond) {
		resp, err := coord("admin").GetCoordination(ctx, &dispatchv1.GetCoordinationRequest{SourcePlaceId: place})
		if err == nil && resp.GetCoordination().GetLeadDepartmentCode() == zhijiang+"-cgzd" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("dispatch never heard of the lead of %s: %v %v", place, resp, err)
		}
	}
	return map[string]func(ctx context.Context, col string) error{
		"SourcePlaceService/SetSourcePlaceLead": func(ctx context.Context, col string) error {
			_, err := places(col).SetSourcePlaceLead(ctx, &classifyv1.SetSourcePlaceLeadRequest{RequestId: w.rid("splead", col),
				SourcePlaceId: place, DepartmentCode: zhijiang + "-cgzd"})
			return err
		},
		"SourcePlaceService/GetSourcePlace": func(ctx context.Context, col string) error {
			return masked(places(col).GetSourcePlace(ctx, &classifyv1.GetSourcePlaceRequest{SourcePlaceId: place}))
		},
		"SourcePlaceService/ListSourcePlaces": func(ctx context.Context, col string) error {
			return masked(places(col).ListSourcePlaces(ctx, &classifyv1.ListSourcePlacesRequest{}))
		},
		"SourcePlaceService/CloseSourcePlace": func(ctx context.Context, col string) error {
			_, err := places(col).CloseSourcePlace(ctx, &classifyv1.CloseSourcePlaceRequest{RequestId: w.rid("spclose", col), SourcePlaceId: place})
			return err
		},
		"SourcePlaceService/ReopenSourcePlace": func(ctx context.Context, col string) error {
			_, err := places(col).ReopenSourcePlace(ctx, &classifyv1.ReopenSourcePlaceRequest{RequestId: w.rid("spreopen", col), SourcePlaceId: place})
			return err
		},
		"CoordinationService/GetCoordination": func(ctx context.Context, col string) error {
			return masked(coord(col).GetCoordination(ctx, &dispatchv1.GetCoordinationRequest{SourcePlaceId: place}))
		},
	}
}
