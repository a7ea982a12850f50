package grpcapi_test

import (
	"context"
	"crypto/ed25519"
	"math"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/gridflow/gridflow/pkg/auth"
	"github.com/gridflow/gridflow/pkg/grpcserver"
	"github.com/gridflow/gridflow/pkg/reference"
	"github.com/gridflow/gridflow/pkg/testenv"
	"github.com/gridflow/gridflow/services/classify/internal/classify"
	"github.com/gridflow/gridflow/services/classify/internal/grpcapi"
	"github.com/gridflow/gridflow/services/classify/internal/postgres"
	"github.com/gridflow/gridflow/services/classify/internal/rules"
	"github.com/jackc/pgx/v5/pgxpool"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/test/bufconn"
	"google.golang.org/protobuf/types/known/timestamppb"

	classifyv1 "github.com/gridflow/gridflow/proto/gen/go/gridflow/classify/v1"
	typesv1 "github.com/gridflow/gridflow/proto/gen/go/gridflow/types/v1"
)

// Hostile input: what a client gone wrong (or a malicious one) sends.
var (
	badUTF8    = "坏\xc3\x28字节"
	control    = "响铃\x07了"
	huge       = strings.Repeat("长", 100_000) // 300 kB: under the 4 MiB request limit, over every field's
	longID     = strings.Repeat("r", 65)
	overflowTS = &timestamppb.Timestamp{Seconds: math.MaxInt64}
	farFuture  = timestamppb.New(time.Date(9999, 12, 31, 0, 0, 0, 0, time.UTC))
)

// noiseModel is sure of noise and unsure of anything else, so the
// hostile-input test has a classified case and one in the review queue.
type noiseModel struct{}

func (noiseModel) Version() string { return "noise1" }

func (noiseModel) Predict(text string) []classify.Choice {
	if strings.Contains(text, "噪声") {
		return []classify.Choice{{Code: "06020", Label: "06020", Confidence: 0.95}, {Code: "H04001", Label: "H04001", Confidence: 0.05}}
	}
	return []classify.Choice{{Code: "H13001", Label: "H13001", Confidence: 0.2}, {Code: "06010", Label: "06010", Confidence: 0.1}}
}

// pgFixture is classify's gRPC server as main wires it, on real
// PostgreSQL: the store, the service, the server over bufconn.
type pgFixture struct {
	pool   *pgxpool.Pool
	store  *postgres.Store
	svc    *classify.Service
	signer *auth.Signer
	conn   *grpc.ClientConn
}

func setupPG(t *testing.T) *pgFixture {
	t.Helper()
	pool := testenv.Pool(t, postgres.Schema, 8, postgres.Migrations...)
	ref, err := reference.LoadDefault()
	if err != nil {
		t.Fatal(err)
	}
	rs, err := rules.Load("", ref)
	if err != nil {
		t.Fatal(err)
	}
	pub, key, _ := ed25519.GenerateKey(nil)
	f := &pgFixture{pool: pool, store: postgres.New(pool, nil, time.Now), signer: auth.NewSigner(key)}
	f.svc = classify.New(classify.DefaultConfig(), f.store, classify.Deps{
		Reference: func() *reference.Set { return ref }, Rules: func() *rules.Set { return rs },
		Model:  func() classify.Model { return noiseModel{} },
		Models: f.store,
	})
	srv := grpcserver.New(grpcserver.Options{Verifier: auth.NewVerifier(pub)})
	classifyv1.RegisterClassifyServiceServer(srv, grpcapi.New(f.svc, func() *reference.Set { return ref }, time.Now))
	lis := bufconn.Listen(1 << 20)
	go func() { _ = srv.Serve(lis) }()
	t.Cleanup(srv.Stop)
	f.conn, err = grpc.NewClient("passthrough:///bufconn", grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithContextDialer(func(ctx context.Context, _ string) (net.Conn, error) { return lis.DialContext(ctx) }))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.conn.Close() })
	return f
}

func (f *pgFixture) as(t *testing.T, who string) (context.Context, classifyv1.ClassifyServiceClient) {
	t.Helper()
	p, err := auth.ParsePrincipal(who)
	if err != nil {
		t.Fatal(err)
	}
	tok, err := f.signer.Issue(p, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return metadata.AppendToOutgoingContext(ctx, "authorization", "Bearer "+tok), classifyv1.NewClassifyServiceClient(f.conn)
}

// receive classifies a new case as the consumer does: in a transaction.
func (f *pgFixture) receive(t *testing.T, number, content string) string {
	t.Helper()
	c := classify.Case{ID: uuid.Must(uuid.NewV7()).String(), Number: number, Source: reference.FromHotline,
		AppealType: reference.Complaint, Content: content, ReceivedAt: time.Now().Add(-time.Minute),
		Area: reference.AreaCodes{District: "310106", Street: "310106022", Community: "0", Grid: "0"}}
	if err := f.store.InTx(context.Background(), func(tx classify.Tx) error { return f.svc.Receive(context.Background(), tx, c) }); err != nil {
		t.Fatal(err)
	}
	return c.ID
}

// TestHostileInput: every RPC of classify that takes input, through the
// real gRPC server against real PostgreSQL, answers hostile input with
// INVALID_ARGUMENT naming the field (or the honest code: a replayed request
// id with other content is ALREADY_EXISTS), stores nothing (every table's
// row count is unchanged) and does not panic (a panic would answer
// INTERNAL).
func TestHostileInput(t *testing.T) {
	f := setupPG(t)
	classified := f.receive(t, "GF-20260302-000001", "楼下烧烤店夜间噪声扰民")
	queued := f.receive(t, "GF-20260302-000002", "有点事情想反映一下")
	// The first use of a request id, for the replays below.
	actx, admin := f.as(t, "admin")
	if _, err := admin.Reclassify(actx, &classifyv1.ReclassifyRequest{RequestId: "rc-1", CaseId: classified, ItemCode: "06021", Note: "应为夜间施工"}); err != nil {
		t.Fatal(err)
	}

	type call func(ctx context.Context, c classifyv1.ClassifyServiceClient) error
	resolve := func(req *classifyv1.ResolveReviewRequest) call {
		return func(ctx context.Context, c classifyv1.ClassifyServiceClient) error {
			_, err := c.ResolveReview(ctx, req)
			return err
		}
	}
	reclassify := func(req *classifyv1.ReclassifyRequest) call {
		return func(ctx context.Context, c classifyv1.ClassifyServiceClient) error {
			_, err := c.Reclassify(ctx, req)
			return err
		}
	}
	reviews := func(req *classifyv1.ListReviewQueueRequest) call {
		return func(ctx context.Context, c classifyv1.ClassifyServiceClient) error {
			_, err := c.ListReviewQueue(ctx, req)
			return err
		}
	}
	incidents := func(req *classifyv1.ListIncidentsRequest) call {
		return func(ctx context.Context, c classifyv1.ClassifyServiceClient) error {
			_, err := c.ListIncidents(ctx, req)
			return err
		}
	}
	corrections := func(req *classifyv1.ListCorrectionsRequest) call {
		return func(ctx context.Context, c classifyv1.ClassifyServiceClient) error {
			_, err := c.ListCorrections(ctx, req)
			return err
		}
	}
	catalogue := func(req *classifyv1.ListCatalogueRequest) call {
		return func(ctx context.Context, c classifyv1.ClassifyServiceClient) error {
			_, err := c.ListCatalogue(ctx, req)
			return err
		}
	}
	models := func(req *classifyv1.ListModelsRequest) call {
		return func(ctx context.Context, c classifyv1.ClassifyServiceClient) error {
			_, err := c.ListModels(ctx, req)
			return err
		}
	}
	item := func(req *classifyv1.GetCatalogueItemRequest) call {
		return func(ctx context.Context, c classifyv1.ClassifyServiceClient) error {
			_, err := c.GetCatalogueItem(ctx, req)
			return err
		}
	}
	const dispatcher = "dispatcher:310106022"
	tests := []struct {
		name  string
		as    string
		call  call
		code  codes.Code
		field string
	}{
		// Oversized fields.
		{"note oversized", dispatcher, resolve(&classifyv1.ResolveReviewRequest{RequestId: "h1", CaseId: queued, ItemCode: "06020", Note: huge}), codes.InvalidArgument, "note"},
		{"request id oversized", dispatcher, resolve(&classifyv1.ResolveReviewRequest{RequestId: longID, CaseId: queued, ItemCode: "06020"}), codes.InvalidArgument, "request_id"},
		{"case id oversized", dispatcher, resolve(&classifyv1.ResolveReviewRequest{RequestId: "h2", CaseId: huge, ItemCode: "06020"}), codes.InvalidArgument, "case_id"},
		{"item code oversized", dispatcher, reclassify(&classifyv1.ReclassifyRequest{RequestId: "h3", CaseId: classified, ItemCode: huge}), codes.InvalidArgument, "item_code"},
		{"incident id oversized", "admin", func(ctx context.Context, c classifyv1.ClassifyServiceClient) error {
			_, err := c.GetIncident(ctx, &classifyv1.GetIncidentRequest{IncidentId: huge})
			return err
		}, codes.InvalidArgument, "incident_id"},
		{"catalogue name oversized", "hotline", item(&classifyv1.GetCatalogueItemRequest{Key: &classifyv1.GetCatalogueItemRequest_Name{Name: huge}}), codes.InvalidArgument, "name"},
		{"listed street oversized", "admin", reviews(&classifyv1.ListReviewQueueRequest{StreetCode: huge}), codes.InvalidArgument, "street_code"},

		// Invalid UTF-8.
		{"note invalid UTF-8", dispatcher, resolve(&classifyv1.ResolveReviewRequest{RequestId: "h10", CaseId: queued, ItemCode: "06020", Note: badUTF8}), codes.InvalidArgument, "note"},
		{"request id invalid UTF-8", dispatcher, resolve(&classifyv1.ResolveReviewRequest{RequestId: badUTF8, CaseId: queued, ItemCode: "06020"}), codes.InvalidArgument, "request_id"},
		{"case id invalid UTF-8", dispatcher, reclassify(&classifyv1.ReclassifyRequest{RequestId: "h11", CaseId: badUTF8, ItemCode: "06020"}), codes.InvalidArgument, "case_id"},
		{"item code invalid UTF-8", dispatcher, reclassify(&classifyv1.ReclassifyRequest{RequestId: "h12", CaseId: classified, ItemCode: badUTF8}), codes.InvalidArgument, "item_code"},
		{"incident id invalid UTF-8", "admin", func(ctx context.Context, c classifyv1.ClassifyServiceClient) error {
			_, err := c.GetIncident(ctx, &classifyv1.GetIncidentRequest{IncidentId: badUTF8})
			return err
		}, codes.InvalidArgument, "incident_id"},
		{"case number invalid UTF-8", "admin", func(ctx context.Context, c classifyv1.ClassifyServiceClient) error {
			_, err := c.GetClassification(ctx, &classifyv1.GetClassificationRequest{CaseNumber: badUTF8})
			return err
		}, codes.InvalidArgument, "case_number"},
		{"listed district invalid UTF-8", "admin", reviews(&classifyv1.ListReviewQueueRequest{DistrictCode: badUTF8}), codes.InvalidArgument, "district_code"},
		{"listed street invalid UTF-8", "admin", incidents(&classifyv1.ListIncidentsRequest{StreetCode: badUTF8}), codes.InvalidArgument, "street_code"},
		{"catalogue code invalid UTF-8", "hotline", item(&classifyv1.GetCatalogueItemRequest{Key: &classifyv1.GetCatalogueItemRequest_Code{Code: badUTF8}}), codes.InvalidArgument, "code"},
		{"catalogue class invalid UTF-8", "hotline", catalogue(&classifyv1.ListCatalogueRequest{ClassCode: badUTF8}), codes.InvalidArgument, "class_code"},

		// Control characters.
		{"note with a control character", dispatcher, resolve(&classifyv1.ResolveReviewRequest{RequestId: "h20", CaseId: queued, ItemCode: "06020", Note: control}), codes.InvalidArgument, "note"},
		{"note with a byte-order mark", dispatcher, reclassify(&classifyv1.ReclassifyRequest{RequestId: "h21", CaseId: classified, ItemCode: "06020", Note: "\ufeff改"}), codes.InvalidArgument, "note"},
		{"case id with NUL", dispatcher, reclassify(&classifyv1.ReclassifyRequest{RequestId: "h22", CaseId: classified + "\x00", ItemCode: "06020"}), codes.InvalidArgument, "case_id"},
		{"request id with NUL", dispatcher, reclassify(&classifyv1.ReclassifyRequest{RequestId: "a\x00b", CaseId: classified, ItemCode: "06020"}), codes.InvalidArgument, "request_id"},
		{"catalogue name with an escape", "hotline", item(&classifyv1.GetCatalogueItemRequest{Key: &classifyv1.GetCatalogueItemRequest_Name{Name: "噪声\x1b[2J"}}), codes.InvalidArgument, "name"},

		// Page sizes and tokens.
		{"negative page size", "admin", reviews(&classifyv1.ListReviewQueueRequest{PageSize: -1}), codes.InvalidArgument, "page_size"},
		{"most negative page size", "admin", incidents(&classifyv1.ListIncidentsRequest{PageSize: math.MinInt32}), codes.InvalidArgument, "page_size"},
		{"negative corrections page", "admin", corrections(&classifyv1.ListCorrectionsRequest{PageSize: -1}), codes.InvalidArgument, "page_size"},
		{"negative catalogue page", "hotline", catalogue(&classifyv1.ListCatalogueRequest{PageSize: -1}), codes.InvalidArgument, "page_size"},
		{"negative models page", "admin", models(&classifyv1.ListModelsRequest{PageSize: -1}), codes.InvalidArgument, "page_size"},
		{"huge page size is coerced", "admin", func(ctx context.Context, c classifyv1.ClassifyServiceClient) error {
			resp, err := c.ListReviewQueue(ctx, &classifyv1.ListReviewQueueRequest{PageSize: math.MaxInt32})
			if err == nil && len(resp.GetReviews()) != 1 {
				t.Errorf("huge page: %d reviews, want the one", len(resp.GetReviews()))
			}
			return err
		}, codes.OK, ""},
		{"huge catalogue page is coerced", "hotline", func(ctx context.Context, c classifyv1.ClassifyServiceClient) error {
			resp, err := c.ListCatalogue(ctx, &classifyv1.ListCatalogueRequest{PageSize: math.MaxInt32})
			if err == nil && (len(resp.GetItems()) < 100 || resp.GetNextPageToken() != "") {
				t.Errorf("huge page: %d entries and a next page %q, want the whole catalogue", len(resp.GetItems()), resp.GetNextPageToken())
			}
			return err
		}, codes.OK, ""},
		{"forged review page token", "admin", reviews(&classifyv1.ListReviewQueueRequest{PageToken: "forged"}), codes.InvalidArgument, "page_token"},
		{"forged incidents page token", "admin", incidents(&classifyv1.ListIncidentsRequest{PageToken: badUTF8}), codes.InvalidArgument, "page_token"},
		{"forged corrections page token", "admin", corrections(&classifyv1.ListCorrectionsRequest{PageToken: huge}), codes.InvalidArgument, "page_token"},
		{"forged catalogue page token", "hotline", catalogue(&classifyv1.ListCatalogueRequest{PageToken: "-1"}), codes.InvalidArgument, "page_token"},
		{"forged models page token", "admin", models(&classifyv1.ListModelsRequest{PageToken: "forged"}), codes.InvalidArgument, "page_token"},

		// Absurd numbers and times.
		{"corrections after the end of time", "admin", corrections(&classifyv1.ListCorrectionsRequest{CorrectedAfter: overflowTS}), codes.InvalidArgument, "corrected_after"},
		{"corrections after year 9999", "admin", corrections(&classifyv1.ListCorrectionsRequest{CorrectedAfter: farFuture}), codes.InvalidArgument, "corrected_after"},
		{"minimum reports past int32", "admin", incidents(&classifyv1.ListIncidentsRequest{MinReports: math.MaxUint32}), codes.InvalidArgument, "min_reports"},
		{"huge minimum reports find nothing", "admin", func(ctx context.Context, c classifyv1.ClassifyServiceClient) error {
			resp, err := c.ListIncidents(ctx, &classifyv1.ListIncidentsRequest{MinReports: math.MaxInt32})
			if err == nil && len(resp.GetIncidents()) != 0 {
				t.Errorf("incidents of 2^31-1 reports: %v", resp.GetIncidents())
			}
			return err
		}, codes.OK, ""},

		// Unknown enums.
		{"unknown urgency", dispatcher, resolve(&classifyv1.ResolveReviewRequest{RequestId: "h40", CaseId: queued, ItemCode: "06020", Urgency: 99}), codes.InvalidArgument, "urgency"},
		{"negative urgency", dispatcher, reclassify(&classifyv1.ReclassifyRequest{RequestId: "h41", CaseId: classified, ItemCode: "06020", Urgency: typesv1.Urgency(-1)}), codes.InvalidArgument, "urgency"},
		{"unknown catalogue tree", "hotline", catalogue(&classifyv1.ListCatalogueRequest{Tree: 7}), codes.InvalidArgument, "tree"},

		// Replayed request ids with other content.
		{"replayed reclassification with another item", "admin", reclassify(&classifyv1.ReclassifyRequest{RequestId: "rc-1", CaseId: classified, ItemCode: "06020", Note: "应为夜间施工"}), codes.AlreadyExists, ""},
		{"replayed reclassification id to resolve a review", "admin", resolve(&classifyv1.ResolveReviewRequest{RequestId: "rc-1", CaseId: queued, ItemCode: "06020"}), codes.AlreadyExists, ""},
		{"replay with the same content answers as the first time", "admin", func(ctx context.Context, c classifyv1.ClassifyServiceClient) error {
			resp, err := c.Reclassify(ctx, &classifyv1.ReclassifyRequest{RequestId: "rc-1", CaseId: classified, ItemCode: "06021", Note: "应为夜间施工"})
			if err == nil && (resp.GetClassification().GetItemCode() != "06021" || resp.GetClassification().GetVersion() != 2) {
				t.Errorf("replay answered %v", resp.GetClassification())
			}
			return err
		}, codes.OK, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := testenv.Rows(t, f.pool, postgres.Schema)
			ctx, c := f.as(t, tt.as)
			testenv.Refused(t, tt.call(ctx, c), tt.code, tt.field)
			testenv.SameRows(t, before, testenv.Rows(t, f.pool, postgres.Schema))
		})
	}
}
