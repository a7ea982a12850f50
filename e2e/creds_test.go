package e2e

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/testing/protocmp"

	eventsv1 "github.com/gridflow/gridflow/proto/gen/go/gridflow/events/v1"
	intakev1 "github.com/gridflow/gridflow/proto/gen/go/gridflow/intake/v1"
	typesv1 "github.com/gridflow/gridflow/proto/gen/go/gridflow/types/v1"
)

// issued runs gridctl auth issue and returns the token and its id (jti).
func (s *stack) issued(t *testing.T, args ...string) (token, id string) {
	t.Helper()
	out, err := s.gridctl(t, append([]string{"auth", "issue"}, args...)...)
	if err != nil {
		t.Fatal(err)
	}
	l := strings.Split(strings.TrimSpace(out), "\n")
	token = l[len(l)-1]
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		t.Fatalf("auth issue printed no JWT: %q", out)
	}
	b, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		t.Fatal(err)
	}
	var c struct {
		JTI string `json:"jti"`
	}
	if err := json.Unmarshal(b, &c); err != nil || c.JTI == "" {
		t.Fatalf("token claims %s: no jti (%v)", b, err)
	}
	return token, c.JTI
}

// intakeAs is an intake client that sends token.
func (s *stack) intakeAs(t *testing.T, token string) intakev1.IntakeServiceClient {
	t.Helper()
	conn, err := grpc.NewClient(s.addrs["intake"], grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithUnaryInterceptor(func(ctx context.Context, m string, req, reply any, cc *grpc.ClientConn, inv grpc.UnaryInvoker, o ...grpc.CallOption) error {
			return inv(metadata.AppendToOutgoingContext(ctx, "authorization", "Bearer "+token), m, req, reply, cc, o...)
		}))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return intakev1.NewIntakeServiceClient(conn)
}

// list calls ListSubmissions and returns the refusal's code and message.
func list(c intakev1.IntakeServiceClient) (codes.Code, string) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_, err := c.ListSubmissions(ctx, &intakev1.ListSubmissionsRequest{PageSize: 1})
	s := status.Convert(err)
	return s.Code(), s.Message()
}

// until waits (at most 10 s) for the call to answer code with want in its message.
func until(t *testing.T, what string, c intakev1.IntakeServiceClient, code codes.Code, want string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		got, msg := list(c)
		if got == code && strings.Contains(msg, want) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: still %v %q after 10 s; want %v %q", what, got, msg, code, want)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// The credentials with real processes: a person's token makes them the
// actor on the stream; gridctl auth revoke reaches the running intake
// without a signal; after gridctl auth keygen --rotate, tokens of the new
// key are taken once intake has seen it, and the old key's still are.
func TestCredentials(t *testing.T) {
	t.Parallel()
	s := startStack(t, "intake")

	agent, agentID := s.issued(t, "--role", "hotline", "--person-id", "a-0107", "--person-name", "陈静")
	c := s.intakeAs(t, agent)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if _, err := c.SubmitWorkOrder(ctx, &intakev1.SubmitWorkOrderRequest{WorkOrder: workOrder("CREDS-1")}); err != nil {
		t.Fatal(err)
	}
	msg := s.events(t, "grid.case.received.>", 1, 20*time.Second)[0]
	var env eventsv1.Envelope
	if err := proto.Unmarshal(msg.Data(), &env); err != nil {
		t.Fatal(err)
	}
	want := &typesv1.Principal{Role: "hotline", Person: &typesv1.Person{Id: "a-0107", Name: "陈静"}}
	if diff := cmp.Diff(want, env.GetActor(), protocmp.Transform()); diff != "" {
		t.Errorf("case.received actor mismatch (-want +got):\n%s", diff)
	}

	// Revocation: only the revoked token goes.
	other, _ := s.issued(t, "--role", "hotline")
	if _, err := s.gridctl(t, "auth", "revoke", "--id", agentID, "--reason", "left the call centre"); err != nil {
		t.Fatal(err)
	}
	until(t, "revoked token", c, codes.Unauthenticated, "token revoked")
	if code, msg := list(s.intakeAs(t, other)); code != codes.OK {
		t.Errorf("another hotline token after the revocation: %v %s", code, msg)
	}

	// Rotation: the old key's tokens stay valid for the overlap (48h).
	old := s.intakeAs(t, other)
	if out, err := s.gridctl(t, "auth", "keygen", "--rotate"); err != nil || !strings.HasPrefix(out, "rotated") {
		t.Fatalf("keygen --rotate = %q, %v", out, err)
	}
	fresh, _ := s.issued(t, "--role", "hotline")
	if signedBy(t, fresh) == signedBy(t, other) {
		t.Fatal("auth issue after a rotation still signs with the old key")
	}
	until(t, "a token of the new key", s.intakeAs(t, fresh), codes.OK, "")
	if code, msg := list(old); code != codes.OK {
		t.Errorf("a token of the old key in its overlap: %v %s", code, msg)
	}
}

// signedBy is a token's kid.
func signedBy(t *testing.T, token string) string {
	t.Helper()
	b, err := base64.RawURLEncoding.DecodeString(strings.Split(token, ".")[0])
	if err != nil {
		t.Fatal(err)
	}
	var h struct {
		KID string `json:"kid"`
	}
	if err := json.Unmarshal(b, &h); err != nil || h.KID == "" {
		t.Fatalf("token header %s: no kid (%v)", b, err)
	}
	return h.KID
}
