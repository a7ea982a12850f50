package main

import (
	"context"
	"net"
	"testing"
	"time"

	"github.com/gridflow/gridflow/pkg/grpcserver"
	"github.com/gridflow/gridflow/pkg/testenv"
	"github.com/gridflow/gridflow/pkg/tlsconfig"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	intakev1 "github.com/gridflow/gridflow/proto/gen/go/gridflow/intake/v1"
)

// deadlineSeen answers GetSubmission with the deadline its caller sent.
type deadlineSeen struct {
	intakev1.UnimplementedIntakeServiceServer
	got chan time.Duration
}

func (d deadlineSeen) GetSubmission(ctx context.Context, _ *intakev1.GetSubmissionRequest) (*intakev1.GetSubmissionResponse, error) {
	dl, ok := ctx.Deadline()
	if !ok {
		d.got <- 0
	} else {
		d.got <- time.Until(dl)
	}
	return &intakev1.GetSubmissionResponse{}, nil
}

// gridctl dials with TLS when given the CA (and refuses nothing else), and
// every call carries a deadline even when the command set none.
func TestDialTLSAndDeadline(t *testing.T) {
	t.Parallel()
	files := testenv.TLS(t)
	serverTLS, err := tlsconfig.Server{CertFile: files.Cert, KeyFile: files.Key}.Config()
	if err != nil {
		t.Fatal(err)
	}
	srv := grpcserver.New(grpcserver.Options{TLS: serverTLS}) // no verifier: authentication is not under test
	seen := deadlineSeen{got: make(chan time.Duration, 1)}
	intakev1.RegisterIntakeServiceServer(srv, seen)
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = srv.Serve(lis) }()
	t.Cleanup(srv.Stop)

	get := func(g *globals) error {
		conn, err := g.dialAs(svcIntake, "token")
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		_, err = intakev1.NewIntakeServiceClient(conn).GetSubmission(context.Background(), &intakev1.GetSubmissionRequest{})
		return err
	}
	g := &globals{addr: lis.Addr().String(), tlsCA: files.CA, timeout: 7 * time.Second}
	if err := get(g); err != nil {
		t.Fatalf("with --tls-ca: %v", err)
	}
	if d := <-seen.got; d <= 0 || d > 7*time.Second {
		t.Errorf("deadline seen by the server: %v, want within --timeout 7s", d)
	}
	plain := &globals{addr: lis.Addr().String(), timeout: 2 * time.Second}
	if err := get(plain); status.Code(err) != codes.Unavailable {
		t.Errorf("plaintext to a TLS server: %v, want UNAVAILABLE", err)
	}
	other := &globals{addr: lis.Addr().String(), tlsCA: files.OtherCA, timeout: 2 * time.Second}
	if err := get(other); status.Code(err) != codes.Unavailable {
		t.Errorf("trusting another CA: %v, want UNAVAILABLE", err)
	}
	if _, err := (&globals{addr: "127.0.0.1:1", tlsCert: files.Cert}).dialAs(svcIntake, "token"); err == nil {
		t.Error("--tls-cert without --tls-key: no error")
	}
}
