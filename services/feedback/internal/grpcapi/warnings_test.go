package grpcapi_test

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/gridflow/gridflow/pkg/auth"
	"github.com/gridflow/gridflow/pkg/grpcserver"
	"github.com/gridflow/gridflow/pkg/testenv"
	"github.com/gridflow/gridflow/services/feedback/internal/grpcapi"
	"github.com/gridflow/gridflow/services/feedback/internal/postgres"
	"github.com/gridflow/gridflow/services/feedback/internal/warning"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/test/bufconn"

	feedbackv1 "github.com/gridflow/gridflow/proto/gen/go/gridflow/feedback/v1"
)

// Early warning (issue 20): WarningService through the real gRPC server
// against real PostgreSQL answers bad input with INVALID_ARGUMENT naming
// the field, and stores nothing.
func TestWarningServiceRefusesBadInput(t *testing.T) {
	pool := testenv.Pool(t, postgres.Schema, 4, postgres.Migrations...)
	svc := warning.NewService(postgres.New(pool, nil).Warnings(), warning.DefaultRules, time.Now)
	pub, priv, _ := ed25519.GenerateKey(rand.Reader)
	srv := grpcserver.New(grpcserver.Options{Logger: quiet, Verifier: auth.NewVerifier(pub)})
	feedbackv1.RegisterWarningServiceServer(srv, grpcapi.NewWarnings(svc))
	lis := bufconn.Listen(1 << 20)
	go func() { _ = srv.Serve(lis) }()
	t.Cleanup(srv.Stop)
	conn, err := grpc.NewClient("passthrough:///bufnet", grpc.WithContextDialer(func(context.Context, string) (net.Conn, error) { return lis.Dial() }),
		grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	tok, err := auth.NewSigner(priv).Issue(auth.Principal{Role: auth.RoleDispatcher, Subject: "310106022"}, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	ctx := metadata.AppendToOutgoingContext(context.Background(), "authorization", "Bearer "+tok)
	c := feedbackv1.NewWarningServiceClient(conn)
	before := testenv.Rows(t, pool, postgres.Schema)
	const id = "6f1c2d3e-4b5a-4c6d-8e7f-0a1b2c3d4e5f"
	for _, tt := range []struct {
		name, field string
		call        func() error
	}{
		{"negative page size", "page_size", func() error {
			_, err := c.ListWarnings(ctx, &feedbackv1.ListWarningsRequest{PageSize: -1})
			return err
		}},
		{"unknown state", "state", func() error {
			_, err := c.ListWarnings(ctx, &feedbackv1.ListWarningsRequest{State: 99})
			return err
		}},
		{"unknown kind", "kind", func() error {
			_, err := c.ListWarnings(ctx, &feedbackv1.ListWarningsRequest{Kind: "street"})
			return err
		}},
		{"bad area", "area_code", func() error {
			_, err := c.ListWarnings(ctx, &feedbackv1.ListWarningsRequest{AreaCode: "3101\x0006"})
			return err
		}},
		{"bad page token", "page_token", func() error {
			_, err := c.ListWarnings(ctx, &feedbackv1.ListWarningsRequest{PageToken: "nope"})
			return err
		}},
		{"bad id", "warning_id", func() error {
			_, err := c.GetWarning(ctx, &feedbackv1.GetWarningRequest{WarningId: "w-1"})
			return err
		}},
		{"no request id", "request_id", func() error {
			_, err := c.AcknowledgeWarning(ctx, &feedbackv1.AcknowledgeWarningRequest{WarningId: id})
			return err
		}},
		{"long note", "note", func() error {
			_, err := c.AcknowledgeWarning(ctx, &feedbackv1.AcknowledgeWarningRequest{RequestId: "r1", WarningId: id, Note: strings.Repeat("长", 501)})
			return err
		}},
		{"no note", "note", func() error {
			_, err := c.DismissWarning(ctx, &feedbackv1.DismissWarningRequest{RequestId: "r2", WarningId: id})
			return err
		}},
		{"bad UTF-8 note", "note", func() error {
			_, err := c.DismissWarning(ctx, &feedbackv1.DismissWarningRequest{RequestId: "r3", WarningId: id, Note: "坏\xc3\x28字节"})
			return err
		}},
	} {
		t.Run(tt.name, func(t *testing.T) { testenv.Refused(t, tt.call(), codes.InvalidArgument, tt.field) })
	}
	// A well-formed id of no warning: the same refusal as one out of reach.
	_, err = c.GetWarning(ctx, &feedbackv1.GetWarningRequest{WarningId: id})
	testenv.Refused(t, err, codes.PermissionDenied, "")
	testenv.SameRows(t, before, testenv.Rows(t, pool, postgres.Schema))
}
