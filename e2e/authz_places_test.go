package e2e

// Issue 20, places (以房管人): the matrix's calls of classify's PlaceService.
// The place is a shop of its own per run in community 310106022001 (芷江西路's
// even numbers), registered by admin before the first call that needs it.
// The matrix's workers (w-0031, w-0032) are in no grid of the grid register,
// so they reach no place: PERMISSION_DENIED (a registered worker's calls are
// ledgerPlacesStory's).

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	classifyv1 "github.com/gridflow/gridflow/proto/gen/go/gridflow/classify/v1"
)

func authzPlaceCalls(t *testing.T, s *stack, w *authzWorld) map[string]func(ctx context.Context, col string) error {
	places := map[string]classifyv1.PlaceServiceClient{}
	for _, col := range append(append(slices.Clone(authzColumns), authzPublic), authzGridLeaders...) { // the public's and the grid leaders' columns are checked too
		places[col] = classifyv1.NewPlaceServiceClient(authzDial(t, s, "classify", col))
	}
	n, _ := strconv.Atoi(w.run)
	addr := fmt.Sprintf("芷江西路%d号", 2+2*(n%49))
	name := "矩阵便利店" + w.run
	row := func() []*classifyv1.PlaceRow {
		return []*classifyv1.PlaceRow{{Row: 1, Address: addr, Name: name, Kind: "shop"}}
	}
	var (
		once   sync.Once
		key    string
		keyErr error
	)
	registered := func(ctx context.Context) (string, error) {
		once.Do(func() {
			var resp *classifyv1.ImportPlacesResponse
			resp, keyErr = places["admin"].ImportPlaces(ctx, &classifyv1.ImportPlacesRequest{RequestId: w.rid("plreg", "admin"), Rows: row()})
			if keyErr == nil && resp.GetCreated()+resp.GetUnchanged() != 1 {
				keyErr = fmt.Errorf("registering the matrix's place: %v", resp)
			}
			if keyErr == nil {
				var p *classifyv1.GetPlaceResponse
				p, keyErr = places["admin"].GetPlace(ctx, &classifyv1.GetPlaceRequest{Address: addr + name})
				key = p.GetPlace().GetPlaceKey()
			}
		})
		return key, keyErr
	}
	rid := func(rpc, col string) string { return w.rid(rpc, strings.ReplaceAll(col, ":", "-")) }
	return map[string]func(ctx context.Context, col string) error{
		"PlaceService/ImportPlaces": func(ctx context.Context, col string) error {
			if _, err := registered(ctx); err != nil {
				return err
			}
			resp, err := places[col].ImportPlaces(ctx, &classifyv1.ImportPlacesRequest{RequestId: rid("plimp", col), Rows: row()})
			if err == nil && resp.GetRefused() > 0 {
				// A row outside the caller's area is refused by name: the
				// matrix reads it as the scope's refusal.
				return status.Error(codes.PermissionDenied, resp.GetRefusals()[0].GetReason())
			}
			return err
		},
		"PlaceService/RecordPlaceFinding": func(ctx context.Context, col string) error {
			k, err := registered(ctx)
			if err != nil {
				return err
			}
			_, err = places[col].RecordPlaceFinding(ctx, &classifyv1.RecordPlaceFindingRequest{RequestId: rid("plfind", col),
				PlaceKey: k, Note: "巡查：正常营业"})
			return err
		},
		"PlaceService/GetPlace": func(ctx context.Context, col string) error {
			k, err := registered(ctx)
			if err != nil {
				return err
			}
			_, err = places[col].GetPlace(ctx, &classifyv1.GetPlaceRequest{PlaceKey: k})
			return err
		},
		"PlaceService/ListPlaces": func(ctx context.Context, col string) error {
			_, err := places[col].ListPlaces(ctx, &classifyv1.ListPlacesRequest{PageSize: 5})
			return err
		},
		"PlaceService/GetPlaceHistory": func(ctx context.Context, col string) error {
			k, err := registered(ctx)
			if err != nil {
				return err
			}
			_, err = places[col].GetPlaceHistory(ctx, &classifyv1.GetPlaceHistoryRequest{PlaceKey: k})
			return err
		},
	}
}
