package grpcapi_test

// Issue 20, places: hostile input through PlaceService's gRPC server on
// real PostgreSQL — each refusal names its field (a whole request's as
// INVALID_ARGUMENT, an import row's as a refusal naming its row), and
// nothing is stored.

import (
	"context"
	"crypto/ed25519"
	"net"
	"testing"
	"time"

	"github.com/gridflow/gridflow/pkg/auth"
	"github.com/gridflow/gridflow/pkg/grpcserver"
	"github.com/gridflow/gridflow/pkg/reference"
	"github.com/gridflow/gridflow/pkg/testenv"
	"github.com/gridflow/gridflow/services/classify/internal/classify"
	"github.com/gridflow/gridflow/services/classify/internal/grpcapi"
	"github.com/gridflow/gridflow/services/classify/internal/postgres"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/grpc/test/bufconn"

	classifyv1 "github.com/gridflow/gridflow/proto/gen/go/gridflow/classify/v1"
)

func TestPlaceServiceRefusesHostileInput(t *testing.T) {
	pool := testenv.Pool(t, postgres.Schema, 4, postgres.Migrations...)
	ref, err := reference.LoadDefault()
	if err != nil {
		t.Fatal(err)
	}
	pub, key, _ := ed25519.GenerateKey(nil)
	srv := grpcserver.New(grpcserver.Options{Verifier: auth.NewVerifier(pub)})
	classifyv1.RegisterPlaceServiceServer(srv, grpcapi.NewPlaces(classify.NewPlaces(postgres.New(pool, nil, time.Now),
		func() *reference.Set { return ref }, time.Now)))
	lis := bufconn.Listen(1 << 20)
	go func() { _ = srv.Serve(lis) }()
	t.Cleanup(srv.Stop)
	conn, err := grpc.NewClient("passthrough:///bufconn", grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithContextDialer(func(ctx context.Context, _ string) (net.Conn, error) { return lis.DialContext(ctx) }))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	tok, err := auth.NewSigner(key).Issue(auth.Principal{Role: auth.RoleAdmin}, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	ctx := metadata.AppendToOutgoingContext(context.Background(), "authorization", "Bearer "+tok)
	c := classifyv1.NewPlaceServiceClient(conn)

	fieldOf := func(err error) string {
		st := status.Convert(err)
		if st.Code() != codes.InvalidArgument {
			return "code " + st.Code().String() + ": " + st.Message()
		}
		for _, d := range st.Details() {
			if br, ok := d.(*errdetails.BadRequest); ok && len(br.GetFieldViolations()) > 0 {
				return br.GetFieldViolations()[0].GetField()
			}
		}
		return "no field"
	}
	n := uint32(5)
	for _, tc := range []struct {
		name, field string
		call        func() error
	}{
		{"import: long request id", "request_id", func() error {
			_, err := c.ImportPlaces(ctx, &classifyv1.ImportPlacesRequest{RequestId: longID, Rows: []*classifyv1.PlaceRow{{Address: "芷江西路2号", Kind: "shop"}}})
			return err
		}},
		{"import: no rows", "rows", func() error {
			_, err := c.ImportPlaces(ctx, &classifyv1.ImportPlacesRequest{RequestId: "r1"})
			return err
		}},
		{"finding: bad UTF-8 note", "note", func() error {
			_, err := c.RecordPlaceFinding(ctx, &classifyv1.RecordPlaceFindingRequest{RequestId: "r2", PlaceKey: "静安区|芷江西路||2|", Note: badUTF8})
			return err
		}},
		{"finding: huge name", "name", func() error {
			_, err := c.RecordPlaceFinding(ctx, &classifyv1.RecordPlaceFindingRequest{RequestId: "r3", PlaceKey: "静安区|芷江西路||2|", Name: huge})
			return err
		}},
		{"finding: control character in the key", "place_key", func() error {
			_, err := c.RecordPlaceFinding(ctx, &classifyv1.RecordPlaceFindingRequest{RequestId: "r4", PlaceKey: control, Note: "x"})
			return err
		}},
		{"get: neither key nor address", "place_key", func() error {
			_, err := c.GetPlace(ctx, &classifyv1.GetPlaceRequest{})
			return err
		}},
		{"list: negative page size", "page_size", func() error {
			_, err := c.ListPlaces(ctx, &classifyv1.ListPlacesRequest{PageSize: -1})
			return err
		}},
		{"list: bad page token", "page_token", func() error {
			_, err := c.ListPlaces(ctx, &classifyv1.ListPlacesRequest{PageToken: "not-a-token"})
			return err
		}},
		{"history: overflowed from", "from", func() error {
			_, err := c.GetPlaceHistory(ctx, &classifyv1.GetPlaceHistoryRequest{PlaceKey: "静安区|芷江西路||2|", From: overflowTS})
			return err
		}},
		{"history: far-future to", "to", func() error {
			_, err := c.GetPlaceHistory(ctx, &classifyv1.GetPlaceHistoryRequest{PlaceKey: "静安区|芷江西路||2|", To: farFuture})
			return err
		}},
		{"history: key and case", "case_id", func() error {
			_, err := c.GetPlaceHistory(ctx, &classifyv1.GetPlaceHistoryRequest{PlaceKey: "静安区|芷江西路||2|", CaseId: "c1"})
			return err
		}},
	} {
		if got := fieldOf(tc.call()); got != tc.field {
			t.Errorf("%s: refused on %s, want INVALID_ARGUMENT on %s", tc.name, got, tc.field)
		}
	}
	// Hostile rows are refused one by one, each naming its row and field.
	resp, err := c.ImportPlaces(ctx, &classifyv1.ImportPlacesRequest{RequestId: "r9", Rows: []*classifyv1.PlaceRow{
		{Row: 2, Address: badUTF8, Kind: "shop"},
		{Row: 3, Address: "芷江西路2号", Name: huge, Kind: "shop"},
		{Row: 4, Address: "芷江西路2号", Name: control, Kind: "shop"},
		{Row: 5, Address: "芷江西路2号", Kind: "shop", InspectionEveryMonths: &n, GridCode: longID},
		{Row: 6, Address: huge, Kind: "shop"},
	}})
	if err != nil {
		t.Fatal(err)
	}
	want := map[uint32]string{2: "address", 3: "name", 4: "name", 5: "grid_code", 6: "address"}
	if resp.GetRefused() != 5 || resp.GetCreated() != 0 {
		t.Errorf("import of hostile rows = %v", resp)
	}
	for _, r := range resp.GetRefusals() {
		if want[r.GetRow()] != r.GetField() {
			t.Errorf("row %d refused on %q (%s), want %q", r.GetRow(), r.GetField(), r.GetReason(), want[r.GetRow()])
		}
	}
	var stored int
	if err := pool.QueryRow(context.Background(), `SELECT (SELECT count(*) FROM places) + (SELECT count(*) FROM place_versions)`).Scan(&stored); err != nil {
		t.Fatal(err)
	}
	if stored != 0 {
		t.Errorf("%d rows stored from hostile input", stored)
	}
}
