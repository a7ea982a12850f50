package grpcapi_test

import (
	"context"
	"crypto/ed25519"
	"fmt"
	"net"
	"testing"
	"time"

	"github.com/gridflow/gridflow/pkg/auth"
	"github.com/gridflow/gridflow/pkg/grpcserver"
	"github.com/gridflow/gridflow/pkg/reference"
	"github.com/gridflow/gridflow/pkg/testenv"
	"github.com/gridflow/gridflow/services/classify/internal/classify"
	"github.com/gridflow/gridflow/services/classify/internal/classify/memstore"
	"github.com/gridflow/gridflow/services/classify/internal/grpcapi"
	"github.com/gridflow/gridflow/services/classify/internal/postgres"
	"github.com/gridflow/gridflow/services/classify/internal/rules"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"
	"google.golang.org/grpc/test/bufconn"

	classifyv1 "github.com/gridflow/gridflow/proto/gen/go/gridflow/classify/v1"
)

// ListModels over the wire against a real registry: who may read it, what
// a row carries, paging, and bad input named by field.
func TestListModels(t *testing.T) {
	pool := testenv.Pool(t, postgres.Schema, 4, postgres.Migrations...)
	reg := postgres.New(pool, nil, nil)
	ctx := context.Background()
	at := time.Date(2026, 3, 2, 8, 0, 0, 0, time.UTC)
	for i, st := range []string{classify.ModelRefused, classify.ModelLive, classify.ModelRefused} {
		rec := &classify.ModelRecord{Version: fmt.Sprintf("m%d", i), Origin: "city.model", Labels: 7, TrainedAt: at, Examples: 1600,
			DataSHA256: "ab", CVAccuracy: 0.9, CVMacroF1: 0.89, State: st, Reason: "why", DecidedBy: "admin", DecidedAt: at.Add(time.Duration(i) * time.Minute),
			Sources: []classify.ModelSource{{Kind: "history", Name: "train.jsonl", Weight: 1, Examples: 1600, HeldOut: 180}},
			Figures: &classify.ModelFigures{Accuracy: 0.8, MacroF1: 0.7, N: 180, Holdout: "train.jsonl"}}
		var payload []byte
		if st == classify.ModelLive {
			rec.LiveBy, rec.LiveAt, payload = "start", rec.DecidedAt, []byte("model bytes")
		}
		if err := reg.RecordModel(ctx, rec, payload); err != nil {
			t.Fatal(err)
		}
	}
	ref, err := reference.LoadDefault()
	if err != nil {
		t.Fatal(err)
	}
	rs, err := rules.Load("", ref)
	if err != nil {
		t.Fatal(err)
	}
	pub, key, _ := ed25519.GenerateKey(nil)
	f := &fixture{store: memstore.New(), signer: auth.NewSigner(key)}
	f.svc = classify.New(classify.DefaultConfig(), f.store, classify.Deps{
		Reference: func() *reference.Set { return ref }, Rules: func() *rules.Set { return rs }, Models: reg})
	srv := grpcserver.New(grpcserver.Options{Verifier: auth.NewVerifier(pub)})
	classifyv1.RegisterClassifyServiceServer(srv, grpcapi.New(f.svc, func() *reference.Set { return ref }, time.Now))
	lis := bufconn.Listen(1 << 20)
	go func() { _ = srv.Serve(lis) }()
	t.Cleanup(srv.Stop)
	conn, err := grpc.NewClient("passthrough:///bufconn", grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithContextDialer(func(ctx context.Context, _ string) (net.Conn, error) { return lis.DialContext(ctx) }))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	f.conn = conn

	for who, want := range map[string]codes.Code{
		"admin": codes.OK, "dispatcher:310106022": codes.OK, "district:310106": codes.OK,
		"hotline": codes.PermissionDenied, "department:D001": codes.PermissionDenied,
		"patrol:w1": codes.PermissionDenied, "secretary:310106022001": codes.PermissionDenied,
	} {
		cctx, c := f.as(t, who)
		if _, err := c.ListModels(cctx, &classifyv1.ListModelsRequest{}); status.Code(err) != want {
			t.Errorf("%s: ListModels = %v, want %s", who, err, want)
		}
	}

	cctx, c := f.as(t, "dispatcher:310106022")
	var got []string
	req := &classifyv1.ListModelsRequest{PageSize: 2}
	for {
		resp, err := c.ListModels(cctx, req)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range resp.GetModels() {
			got = append(got, m.GetVersion()+":"+m.GetState().String())
		}
		if resp.GetNextPageToken() == "" {
			break
		}
		req.PageToken = resp.GetNextPageToken()
	}
	if fmt.Sprint(got) != "[m2:MODEL_STATE_REFUSED m1:MODEL_STATE_LIVE m0:MODEL_STATE_REFUSED]" {
		t.Errorf("models, newest decision first: %v", got)
	}
	resp, err := c.ListModels(cctx, &classifyv1.ListModelsRequest{})
	if err != nil {
		t.Fatal(err)
	}
	live := resp.GetModels()[1]
	if live.GetLiveBy() != "start" || live.GetLiveAt() == nil || live.GetFigures().GetN() != 180 || len(live.GetSources()) != 1 ||
		live.GetSources()[0].GetHeldOut() != 180 || resp.GetModels()[0].GetLiveAt() != nil {
		t.Errorf("rows: %v", resp.GetModels())
	}

	for field, req := range map[string]*classifyv1.ListModelsRequest{
		"page_size": {PageSize: -1}, "page_token": {PageToken: "not-a-token"},
	} {
		_, err := c.ListModels(cctx, req)
		var v []string
		for _, d := range status.Convert(err).Details() {
			if br, ok := d.(*errdetails.BadRequest); ok {
				for _, fv := range br.GetFieldViolations() {
					v = append(v, fv.GetField())
				}
			}
		}
		if status.Code(err) != codes.InvalidArgument || fmt.Sprint(v) != "["+field+"]" {
			t.Errorf("%s: %v (fields %v)", field, err, v)
		}
	}
}

// RetrainModel is admin's; without retraining configured it says so.
func TestRetrainModelIsAdmins(t *testing.T) {
	f := setup(t)
	for who, want := range map[string]codes.Code{
		"dispatcher:310106022": codes.PermissionDenied, "district:310106": codes.PermissionDenied, "hotline": codes.PermissionDenied,
		"admin": codes.FailedPrecondition,
	} {
		ctx, c := f.as(t, who)
		if _, err := c.RetrainModel(ctx, &classifyv1.RetrainModelRequest{}); status.Code(err) != want {
			t.Errorf("%s: RetrainModel = %v, want %s", who, err, want)
		}
	}
}
