package process_test

import (
	"context"
	"crypto/tls"
	"fmt"
	"net"
	"testing"
	"time"

	"github.com/gridflow/gridflow/pkg/natsjs"
	"github.com/gridflow/gridflow/pkg/process"
	"github.com/gridflow/gridflow/pkg/testenv"
	"github.com/gridflow/gridflow/pkg/tlsconfig"
	natstest "github.com/nats-io/nats-server/v2/test"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/status"
)

// With the TLS settings a process serves gRPC over TLS only, and reaches a
// NATS server that requires TLS and a client certificate through a tls://
// URL.
func TestTLSFromConfiguration(t *testing.T) {
	t.Parallel()
	files := testenv.TLS(t)

	natsTLS, err := tlsconfig.Server{CertFile: files.Cert, KeyFile: files.Key, ClientCAFile: files.CA}.Config()
	if err != nil {
		t.Fatal(err)
	}
	opts := natstest.DefaultTestOptions
	opts.Port = -1
	opts.JetStream = true
	opts.StoreDir = t.TempDir()
	opts.TLS, opts.TLSVerify, opts.TLSConfig = true, true, natsTLS
	ns := natstest.RunServer(&opts)
	t.Cleanup(ns.Shutdown)

	cfg := base(t)
	cfg.NATSURL = fmt.Sprintf("tls://127.0.0.1:%d", ns.Addr().(*net.TCPAddr).Port)
	cfg.TLSCertFile, cfg.TLSKeyFile, cfg.TLSCAFile, cfg.TLSClientAuth = files.Cert, files.Key, files.CA, true
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	p, err := process.Start(ctx, "tlstest", cfg, cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()

	js, err := p.JetStream()
	if err != nil {
		t.Fatal(err)
	}
	rctx, rcancel := context.WithTimeout(ctx, 10*time.Second)
	defer rcancel()
	if err := natsjs.Ready(rctx, js); err != nil {
		t.Fatalf("JetStream over TLS: %v", err)
	}

	addr := freeAddr(t)
	if _, err := p.GRPC(addr, "TEST_GRPC_ADDR"); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- p.Wait() }()
	defer func() { cancel(); <-done }()

	check := func(creds credentials.TransportCredentials) error {
		conn, err := grpc.NewClient(addr, grpc.WithTransportCredentials(creds))
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		cctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		defer cancel()
		_, err = healthpb.NewHealthClient(conn).Check(cctx, &healthpb.HealthCheckRequest{}, grpc.WaitForReady(false))
		return err
	}
	mutual, err := tlsconfig.Client{CAFile: files.CA, CertFile: files.Cert, KeyFile: files.Key}.Config()
	if err != nil {
		t.Fatal(err)
	}
	var ok error
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if ok = check(credentials.NewTLS(mutual)); ok == nil {
			break
		}
	}
	if ok != nil {
		t.Fatalf("client with the CA and a certificate: %v", ok)
	}
	if err := check(insecure.NewCredentials()); status.Code(err) != codes.Unavailable {
		t.Errorf("plaintext client: %v, want UNAVAILABLE", err)
	}
	noCert := &tls.Config{RootCAs: mutual.RootCAs, MinVersion: tls.VersionTLS12}
	if err := check(credentials.NewTLS(noCert)); status.Code(err) != codes.Unavailable {
		t.Errorf("client without a certificate: %v, want UNAVAILABLE", err)
	}
}
