package grpcserver

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/gridflow/gridflow/pkg/auth"
	"github.com/gridflow/gridflow/pkg/policy"
	"github.com/gridflow/gridflow/pkg/ratelimit"
	"github.com/gridflow/gridflow/pkg/testenv"
	"github.com/gridflow/gridflow/pkg/tlsconfig"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"
	testpb "google.golang.org/grpc/interop/grpc_testing"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
)

// echo is a service to call: it answers every UnaryCall.
type echo struct {
	testpb.UnimplementedTestServiceServer
}

func (echo) UnaryCall(context.Context, *testpb.SimpleRequest) (*testpb.SimpleResponse, error) {
	return &testpb.SimpleResponse{}, nil
}

// serve runs a server built by New with opts (authentication on) on a real
// TCP port and returns its address and a token minter.
func serve(t *testing.T, opts Options) (string, func(auth.Principal) string) {
	t.Helper()
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	opts.Verifier, opts.Policy = auth.NewVerifier(pub), anyoneMayCallTestService
	srv := New(opts)
	testpb.RegisterTestServiceServer(srv, echo{})
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = srv.Serve(lis) }()
	t.Cleanup(srv.Stop)
	signer := auth.NewSigner(priv)
	return lis.Addr().String(), func(p auth.Principal) string {
		tok, err := signer.Issue(p, time.Minute)
		if err != nil {
			t.Fatal(err)
		}
		return tok
	}
}

func client(t *testing.T, addr string, creds credentials.TransportCredentials, token string) testpb.TestServiceClient {
	t.Helper()
	conn, err := grpc.NewClient(addr, grpc.WithTransportCredentials(creds),
		grpc.WithUnaryInterceptor(func(ctx context.Context, m string, req, reply any, cc *grpc.ClientConn, inv grpc.UnaryInvoker, o ...grpc.CallOption) error {
			return inv(metadata.AppendToOutgoingContext(ctx, "authorization", "Bearer "+token), m, req, reply, cc, o...)
		}))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return testpb.NewTestServiceClient(conn)
}

func call(t *testing.T, c testpb.TestServiceClient, payload int) error {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_, err := c.UnaryCall(ctx, &testpb.SimpleRequest{Payload: &testpb.Payload{Body: make([]byte, payload)}})
	return err
}

func TestMaxRecvMsgSize(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name    string
		max     int
		payload int
		want    codes.Code
	}{
		{"default takes a large work order", 0, 64 << 10, codes.OK},
		{"default refuses 5 MiB", 0, 5 << 20, codes.ResourceExhausted},
		{"set to 1 KiB takes 512 bytes", 1 << 10, 512, codes.OK},
		{"set to 1 KiB refuses 2 KiB", 1 << 10, 2 << 10, codes.ResourceExhausted},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			addr, token := serve(t, Options{MaxRecvMsgSize: tc.max})
			c := client(t, addr, insecure.NewCredentials(), token(auth.Principal{Role: auth.RoleHotline}))
			if err := call(t, c, tc.payload); status.Code(err) != tc.want {
				t.Fatalf("%d bytes: %v, want %v", tc.payload, err, tc.want)
			}
		})
	}
}

func TestRateLimit(t *testing.T) {
	t.Parallel()
	limits, err := ratelimit.Parse("patrol=10/s:2,hotline=inf")
	if err != nil {
		t.Fatal(err)
	}
	addr, token := serve(t, Options{RateLimit: ratelimit.New(limits)})
	w17 := client(t, addr, insecure.NewCredentials(), token(auth.Principal{Role: auth.RolePatrol, Subject: "w-0017"}))
	w21 := client(t, addr, insecure.NewCredentials(), token(auth.Principal{Role: auth.RolePatrol, Subject: "w-0021"}))
	hotline := client(t, addr, insecure.NewCredentials(), token(auth.Principal{Role: auth.RoleHotline}))

	for i := range 2 {
		if err := call(t, w17, 0); err != nil {
			t.Fatalf("call %d within the burst: %v", i+1, err)
		}
	}
	err = call(t, w17, 0)
	st := status.Convert(err)
	if st.Code() != codes.ResourceExhausted {
		t.Fatalf("third call at once: %v, want RESOURCE_EXHAUSTED", err)
	}
	if !strings.Contains(st.Message(), "patrol:w-0017") {
		t.Errorf("message %q does not name the principal", st.Message())
	}
	var retry time.Duration
	for _, d := range st.Details() {
		if ri, ok := d.(*errdetails.RetryInfo); ok {
			retry = ri.GetRetryDelay().AsDuration()
		}
	}
	if retry <= 0 || retry > 100*time.Millisecond {
		t.Fatalf("RetryInfo delay %v, want in (0, 100ms] at 10/s", retry)
	}
	// Another worker and the hotline are not held back by w-0017.
	if err := call(t, w21, 0); err != nil {
		t.Errorf("w-0021: %v", err)
	}
	for i := range 50 {
		if err := call(t, hotline, 0); err != nil {
			t.Fatalf("unlimited hotline, call %d: %v", i+1, err)
		}
	}
	time.Sleep(retry)
	if err := call(t, w17, 0); err != nil {
		t.Fatalf("after the RetryInfo delay: %v", err)
	}
	// Health checks are never limited.
	conn, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	for range 5 {
		if err := conn.Invoke(context.Background(), "/grpc.health.v1.Health/Check", &testpb.Empty{}, &testpb.Empty{}); status.Code(err) == codes.ResourceExhausted {
			t.Fatalf("health check limited: %v", err)
		}
	}
}

func TestTLS(t *testing.T) {
	t.Parallel()
	files := testenv.TLS(t)
	serverTLS, err := tlsconfig.Server{CertFile: files.Cert, KeyFile: files.Key}.Config()
	if err != nil {
		t.Fatal(err)
	}
	addr, token := serve(t, Options{TLS: serverTLS})
	tok := token(auth.Principal{Role: auth.RoleHotline})

	trusting, err := tlsconfig.Client{CAFile: files.CA}.Config()
	if err != nil {
		t.Fatal(err)
	}
	if err := call(t, client(t, addr, credentials.NewTLS(trusting), tok), 0); err != nil {
		t.Fatalf("client trusting the CA: %v", err)
	}
	if err := call(t, client(t, addr, insecure.NewCredentials(), tok), 0); status.Code(err) != codes.Unavailable {
		t.Fatalf("plaintext client: %v, want UNAVAILABLE", err)
	}
	other, err := tlsconfig.Client{CAFile: files.OtherCA}.Config()
	if err != nil {
		t.Fatal(err)
	}
	if err := call(t, client(t, addr, credentials.NewTLS(other), tok), 0); status.Code(err) != codes.Unavailable {
		t.Fatalf("client trusting another CA: %v, want UNAVAILABLE", err)
	}
}

func TestMutualTLS(t *testing.T) {
	t.Parallel()
	files := testenv.TLS(t)
	serverTLS, err := tlsconfig.Server{CertFile: files.Cert, KeyFile: files.Key, ClientCAFile: files.CA}.Config()
	if err != nil {
		t.Fatal(err)
	}
	addr, token := serve(t, Options{TLS: serverTLS})
	tok := token(auth.Principal{Role: auth.RoleHotline})

	withCert, err := tlsconfig.Client{CAFile: files.CA, CertFile: files.Cert, KeyFile: files.Key}.Config()
	if err != nil {
		t.Fatal(err)
	}
	if err := call(t, client(t, addr, credentials.NewTLS(withCert), tok), 0); err != nil {
		t.Fatalf("client with a certificate: %v", err)
	}
	noCert, err := tlsconfig.Client{CAFile: files.CA}.Config()
	if err != nil {
		t.Fatal(err)
	}
	if err := call(t, client(t, addr, credentials.NewTLS(noCert), tok), 0); status.Code(err) != codes.Unavailable {
		t.Fatalf("client without a certificate: %v, want UNAVAILABLE", err)
	}
}

// anyoneMayCallTestService is the policy of these tests' server, which
// serves grpc's test service instead of a gridflow one.
func anyoneMayCallTestService(p auth.Principal, method string) (policy.Scope, error) {
	if strings.HasPrefix(method, "/grpc.testing.TestService/") {
		return policy.ScopeOf(p), nil
	}
	return policy.Check(p, method)
}
