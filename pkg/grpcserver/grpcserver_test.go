package grpcserver

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/gridflow/gridflow/pkg/auth"
	"github.com/gridflow/gridflow/pkg/fault"
	"github.com/gridflow/gridflow/pkg/policy"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
)

func TestToStatus(t *testing.T) {
	t.Parallel()
	var v fault.Violations
	v.Add("work_order.caller_phone", "is not a phone number")
	v.Add("work_order.content", "is required")
	tests := []struct {
		name       string
		err        error
		wantCode   codes.Code
		wantFields []string
		wantMsg    string
	}{
		{"violations", v.Err(), codes.InvalidArgument, []string{"work_order.caller_phone", "work_order.content"}, ""},
		{"not found", fault.NotFoundf("cases/x", "no case x"), codes.NotFound, nil, "no case x"},
		{"wrapped exists", fmt.Errorf("op: %w", fault.AlreadyExistsf("cases/GF-1", "taken")), codes.AlreadyExists, nil, "taken"},
		{"internal text hidden", errors.New("SQLSTATE 23505 secret"), codes.Internal, nil, "internal error"},
		{"cancelled", context.Canceled, codes.Canceled, nil, "request cancelled"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			st := status.Convert(ToStatus(context.Background(), slog.New(slog.DiscardHandler), "/m", tt.err))
			if st.Code() != tt.wantCode {
				t.Fatalf("code = %v, want %v", st.Code(), tt.wantCode)
			}
			if tt.wantMsg != "" && st.Message() != tt.wantMsg {
				t.Errorf("message = %q, want %q", st.Message(), tt.wantMsg)
			}
			var fields []string
			for _, d := range st.Details() {
				if br, ok := d.(*errdetails.BadRequest); ok {
					for _, fv := range br.GetFieldViolations() {
						fields = append(fields, fv.GetField())
					}
				}
			}
			if diff := cmp.Diff(tt.wantFields, fields); diff != "" {
				t.Errorf("fields mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestAuthenticate(t *testing.T) {
	t.Parallel()
	pub, priv, _ := ed25519.GenerateKey(rand.Reader)
	a := authenticator{v: auth.NewVerifier(pub), check: policy.Check}
	tok, _ := auth.NewSigner(priv).Issue(auth.Principal{Role: auth.RoleHotline}, time.Minute)
	info := &grpc.UnaryServerInfo{FullMethod: "/gridflow.intake.v1.IntakeService/GetSubmission"}
	handler := func(ctx context.Context, _ any) (any, error) {
		p, _ := auth.FromContext(ctx)
		return p, nil
	}
	tests := []struct {
		name string
		md   metadata.MD
		want codes.Code
	}{
		{"valid", metadata.Pairs("authorization", "Bearer "+tok), codes.OK},
		{"missing", metadata.MD{}, codes.Unauthenticated},
		{"not bearer", metadata.Pairs("authorization", tok), codes.Unauthenticated},
		{"garbage", metadata.Pairs("authorization", "Bearer x.y.z"), codes.Unauthenticated},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := a.unary(metadata.NewIncomingContext(context.Background(), tt.md), nil, info, handler)
			if status.Code(err) != tt.want {
				t.Fatalf("code = %v, want %v", status.Code(err), tt.want)
			}
			if tt.want == codes.OK && got.(auth.Principal).Role != auth.RoleHotline {
				t.Errorf("principal = %v", got)
			}
		})
	}
	// Health checks need no token.
	if _, err := a.unary(context.Background(), nil, &grpc.UnaryServerInfo{FullMethod: "/grpc.health.v1.Health/Check"}, handler); err != nil {
		t.Errorf("health without token: %v", err)
	}
}

// TestPolicy: after authentication every method goes through pkg/policy's
// table: a method it lacks is refused to everyone (admin too), a role its
// row does not name is PERMISSION_DENIED naming who may, and an allowed
// caller's scope reaches the handler.
func TestPolicy(t *testing.T) {
	t.Parallel()
	pub, priv, _ := ed25519.GenerateKey(rand.Reader)
	a := authenticator{v: auth.NewVerifier(pub), check: policy.Check}
	signer := auth.NewSigner(priv)
	handler := func(ctx context.Context, _ any) (any, error) {
		_, sc, err := policy.Authorize(ctx, "/gridflow.feedback.v1.FeedbackService/GetCase")
		return sc, err
	}
	tests := []struct {
		principal, method string
		want              codes.Code
		message           string
		scope             policy.Scope
	}{
		{"hotline", "/gridflow.feedback.v1.FeedbackService/GetCase", codes.OK, "", policy.Scope{Kind: policy.Hotline}},
		{"dispatcher:310106022", "/gridflow.feedback.v1.FeedbackService/GetCase", codes.OK, "", policy.Scope{Kind: policy.Street, Code: "310106022"}},
		{"patrol:w-1", "/gridflow.intake.v1.IntakeService/SubmitWorkOrder", codes.PermissionDenied, "only hotline, admin may", policy.Scope{}},
		{"admin", "/gridflow.feedback.v1.FeedbackService/Unlisted", codes.PermissionDenied, "not in the access policy", policy.Scope{}},
		{"system:console", "/gridflow.feedback.v1.FeedbackService/WatchCaseUpdates", codes.PermissionDenied, "may not call", policy.Scope{}},
	}
	for _, tt := range tests {
		p, err := auth.ParsePrincipal(tt.principal)
		if err != nil {
			t.Fatal(err)
		}
		tok, _ := signer.Issue(p, time.Minute)
		ctx := metadata.NewIncomingContext(context.Background(), metadata.Pairs("authorization", "Bearer "+tok))
		got, err := a.unary(ctx, nil, &grpc.UnaryServerInfo{FullMethod: tt.method}, handler)
		st := status.Convert(err)
		switch {
		case st.Code() != tt.want:
			t.Errorf("%s → %s: %v, want %v", tt.principal, tt.method, err, tt.want)
		case tt.want != codes.OK && !strings.Contains(st.Message(), tt.message):
			t.Errorf("%s → %s: message %q, want it to say %q", tt.principal, tt.method, st.Message(), tt.message)
		case tt.want == codes.OK && got.(policy.Scope) != tt.scope:
			t.Errorf("%s → %s: scope %v, want %v", tt.principal, tt.method, got, tt.scope)
		}
	}
	// Reflection stays open.
	if _, err := a.unary(context.Background(), nil, &grpc.UnaryServerInfo{FullMethod: "/grpc.reflection.v1.ServerReflection/ServerReflectionInfo"}, handler); status.Code(err) == codes.PermissionDenied || status.Code(err) == codes.Unauthenticated {
		t.Errorf("reflection without token: %v", err)
	}
}
