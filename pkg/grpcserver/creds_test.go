package grpcserver

import (
	"context"
	"io"
	"log/slog"
	"net"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gridflow/gridflow/pkg/auth"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	testpb "google.golang.org/grpc/interop/grpc_testing"
	"google.golang.org/grpc/status"
)

// whoami answers every UnaryCall with the caller's actor, as the audit
// trail records it.
type whoami struct {
	testpb.UnimplementedTestServiceServer
}

func (whoami) UnaryCall(ctx context.Context, _ *testpb.SimpleRequest) (*testpb.SimpleResponse, error) {
	p, _ := auth.FromContext(ctx)
	return &testpb.SimpleResponse{Username: p.Actor()}, nil
}

// serveLive runs a server whose tokens are checked by the credentials of
// src, as a service's process loads them (reloaded by Refresh, as on SIGHUP).
func serveLive(t *testing.T, src auth.Source) (string, *auth.Live) {
	t.Helper()
	live, err := auth.NewLive(src)
	if err != nil {
		t.Fatal(err)
	}
	srv := New(Options{Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), Verifier: live.Verifier(), Policy: anyoneMayCallTestService})
	testpb.RegisterTestServiceServer(srv, whoami{})
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = srv.Serve(lis) }()
	t.Cleanup(srv.Stop)
	return lis.Addr().String(), live
}

// callAs calls with token and returns the actor the server saw, or the
// refusal's code and message.
func callAs(t *testing.T, addr, token string) (string, codes.Code, string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	resp, err := client(t, addr, insecure.NewCredentials(), token).UnaryCall(ctx, &testpb.SimpleRequest{})
	if err != nil {
		s := status.Convert(err)
		return "", s.Code(), s.Message()
	}
	return resp.GetUsername(), codes.OK, ""
}

func issue(t *testing.T, dir string, p auth.Principal) (token, id string) {
	t.Helper()
	key, err := auth.SigningKey(dir)
	if err != nil {
		t.Fatal(err)
	}
	token, id, err = auth.NewSigner(key).IssueWithID(p, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	return token, id
}

// A revoked token keeps working until the server reloads its deny list,
// then is UNAUTHENTICATED saying it was revoked; the principal's other
// tokens, and the person on them, are untouched.
func TestRevocationAfterReload(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	if _, err := auth.EnsureKeyPair(dir); err != nil {
		t.Fatal(err)
	}
	denyFile := filepath.Join(dir, "revoked")
	addr, live := serveLive(t, auth.Source{KeyDir: dir, Overlap: time.Hour, DenyListFile: denyFile})

	lost, lostID := issue(t, dir, auth.Principal{Role: auth.RoleDispatcher, Subject: "310106022", Person: auth.Person{ID: "p-0042", Name: "王芳"}})
	kept, _ := issue(t, dir, auth.Principal{Role: auth.RoleDispatcher, Subject: "310106022", Person: auth.Person{ID: "p-0043", Name: "李强"}})
	if actor, code, msg := callAs(t, addr, lost); code != codes.OK || actor != "dispatcher:310106022 (p-0042 王芳)" {
		t.Fatalf("before revocation: %q, %v %s", actor, code, msg)
	}

	if err := auth.AppendDenyList(denyFile, auth.Revocation{Token: lostID, At: time.Now(), Reason: "phone lost"}); err != nil {
		t.Fatal(err)
	}
	if _, code, msg := callAs(t, addr, lost); code != codes.OK {
		t.Errorf("before the reload: %v %s (the server has not read the list yet)", code, msg)
	}
	if err := live.Refresh(context.Background()); err != nil {
		t.Fatal(err)
	}
	if _, code, msg := callAs(t, addr, lost); code != codes.Unauthenticated || !strings.Contains(msg, "token revoked") {
		t.Errorf("after the reload: %v %q; want UNAUTHENTICATED saying token revoked", code, msg)
	}
	if actor, code, msg := callAs(t, addr, kept); code != codes.OK || actor != "dispatcher:310106022 (p-0043 李强)" {
		t.Errorf("the same principal's other token: %q, %v %s", actor, code, msg)
	}
}

// After a rotation the new key signs; tokens of the previous key are
// accepted for the overlap after the new key was made, then refused.
func TestRotationOverlap(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	if _, err := auth.EnsureKeyPair(dir); err != nil {
		t.Fatal(err)
	}
	addr, live := serveLive(t, auth.Source{KeyDir: dir, Overlap: time.Hour})
	hotline := auth.Principal{Role: auth.RoleHotline}
	old, _ := issue(t, dir, hotline)

	// Rotated half an hour ago: inside the hour of overlap.
	if _, err := auth.RotateKey(dir, time.Now().Add(-30*time.Minute)); err != nil {
		t.Fatal(err)
	}
	fresh, _ := issue(t, dir, hotline)
	if _, code, msg := callAs(t, addr, fresh); code != codes.Unauthenticated || !strings.Contains(msg, "not in the key set") {
		t.Errorf("new key before the reload: %v %q; want refused (the server does not know it yet)", code, msg)
	}
	if err := live.Refresh(context.Background()); err != nil {
		t.Fatal(err)
	}
	for name, tok := range map[string]string{"old key in its overlap": old, "new key": fresh} {
		if _, code, msg := callAs(t, addr, tok); code != codes.OK {
			t.Errorf("%s: %v %s", name, code, msg)
		}
	}

	// A service configured with a 10-minute overlap has retired the old key.
	short, _ := serveLive(t, auth.Source{KeyDir: dir, Overlap: 10 * time.Minute})
	if _, code, msg := callAs(t, short, old); code != codes.Unauthenticated || !strings.Contains(msg, "retired") {
		t.Errorf("old key after its overlap: %v %q; want UNAUTHENTICATED saying retired", code, msg)
	}
	if _, code, msg := callAs(t, short, fresh); code != codes.OK {
		t.Errorf("new key: %v %s", code, msg)
	}
}
