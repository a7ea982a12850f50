// Package grpcserver builds every gridflow gRPC server the same way: health
// and reflection services, panic recovery, OpenTelemetry stats, bearer-token
// authentication, the access policy (pkg/policy) on every method, TLS when
// configured, a bound on the size of a request, a
// per-principal rate limit where the service sets one, and the one place
// where domain faults become gRPC codes.
package grpcserver

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"runtime/debug"
	"strconv"
	"strings"
	"time"

	"github.com/gridflow/gridflow/pkg/auth"
	"github.com/gridflow/gridflow/pkg/fault"
	"github.com/gridflow/gridflow/pkg/policy"
	"github.com/gridflow/gridflow/pkg/ratelimit"
	"go.opentelemetry.io/contrib/instrumentation/google.golang.org/grpc/otelgrpc"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/reflection"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/anypb"
	"google.golang.org/protobuf/types/known/durationpb"

	spb "google.golang.org/genproto/googleapis/rpc/status"
)

// Options configure a server.
type Options struct {
	Logger *slog.Logger
	// Verifier checks bearer tokens; nil turns authentication off (tests only).
	Verifier *auth.Verifier
	// TLS, when set, is the server's TLS configuration (pkg/tlsconfig);
	// nil serves plaintext (make run, tests).
	TLS *tls.Config
	// MaxRecvMsgSize bounds one request message in bytes; larger ones are
	// refused with RESOURCE_EXHAUSTED before they are decoded. 0 takes
	// DefaultMaxRecvMsgSize.
	MaxRecvMsgSize int
	// RateLimit, when set, takes a token from the caller's bucket before
	// every authenticated call; an empty bucket is RESOURCE_EXHAUSTED with
	// RetryInfo. Health checks and reflection are never limited.
	RateLimit *ratelimit.Limiter
	// Policy decides, after authentication, whether a caller may call a
	// method and over which scope. nil takes pkg/policy's table, as every
	// service does; only tests of this package, serving grpc's test
	// service, set their own.
	Policy func(p auth.Principal, method string) (policy.Scope, error)
}

// DefaultMaxRecvMsgSize is grpc-go's own default, stated: gridflow's largest
// requests are a work order with its text and attachment URIs (attachments
// themselves never travel over gRPC), a few kB.
const DefaultMaxRecvMsgSize = 4 << 20

// streamWorkers is enough for the calls a service has in flight under load
// (intake's benchmark keeps 64); parked workers cost a few kB each.
const streamWorkers = 128

// Server is a gRPC server with its health service.
type Server struct {
	*grpc.Server
	Health *health.Server
}

// New returns a server; register services on it, then Serve.
func New(opts Options) *Server {
	log := opts.Logger
	if log == nil {
		log = slog.Default()
	}
	a := authenticator{v: opts.Verifier, check: opts.Policy}
	if a.check == nil {
		a.check = policy.Check
	}
	l := limiter{l: opts.RateLimit}
	maxRecv := opts.MaxRecvMsgSize
	if maxRecv <= 0 {
		maxRecv = DefaultMaxRecvMsgSize
	}
	sopts := []grpc.ServerOption{
		grpc.MaxRecvMsgSize(maxRecv),
		// Handlers run on long-lived workers instead of a new goroutine per
		// call, which grew its stack anew each time (runtime.newstack and
		// copystack were ~7% of intake's CPU under load). When every worker
		// is busy, grpc falls back to a new goroutine, so this never queues.
		grpc.NumStreamWorkers(streamWorkers),
		grpc.StatsHandler(otelgrpc.NewServerHandler()),
		grpc.ChainUnaryInterceptor(recoverUnary(log), a.unary, l.unary, errorsUnary(log)),
		grpc.ChainStreamInterceptor(recoverStream(log), a.stream, l.stream, errorsStream(log)),
	}
	if opts.TLS != nil {
		sopts = append(sopts, grpc.Creds(credentials.NewTLS(opts.TLS)))
	}
	gs := grpc.NewServer(sopts...)
	hs := health.NewServer()
	healthpb.RegisterHealthServer(gs, hs)
	reflection.Register(gs)
	return &Server{Server: gs, Health: hs}
}

// open reports methods anyone may call: health checks and reflection.
func open(method string) bool { return policy.Open(method) }

// authenticator names the caller and applies the access policy: a method
// missing from pkg/policy's table is refused to everyone, a role its row
// does not name is PERMISSION_DENIED saying who may, and otherwise the
// caller's scope goes into the context for the service to apply.
type authenticator struct {
	v     *auth.Verifier
	check func(auth.Principal, string) (policy.Scope, error)
}

func (a authenticator) authenticate(ctx context.Context, method string) (context.Context, error) {
	ctx, err := a.verify(ctx, method)
	if err != nil || a.v == nil || open(method) {
		return ctx, err
	}
	p, _ := auth.FromContext(ctx)
	sc, err := a.check(p, method)
	if err != nil {
		return nil, status.Error(codes.PermissionDenied, err.Error())
	}
	return policy.WithScope(ctx, method, sc), nil
}

func (a authenticator) verify(ctx context.Context, method string) (context.Context, error) {
	if a.v == nil || open(method) {
		return ctx, nil
	}
	vals := metadata.ValueFromIncomingContext(ctx, "authorization")
	if len(vals) == 0 {
		return nil, status.Error(codes.Unauthenticated, "missing authorization metadata: send 'authorization: Bearer <token>' (gridctl auth issue mints one)")
	}
	token, ok := strings.CutPrefix(vals[0], "Bearer ")
	if !ok {
		return nil, status.Error(codes.Unauthenticated, "authorization metadata must be 'Bearer <token>'")
	}
	p, err := a.v.Verify(strings.TrimSpace(token))
	if err != nil {
		return nil, status.Error(codes.Unauthenticated, err.Error())
	}
	return auth.WithPrincipal(ctx, p), nil
}

func (a authenticator) unary(ctx context.Context, req any, info *grpc.UnaryServerInfo, h grpc.UnaryHandler) (any, error) {
	ctx, err := a.authenticate(ctx, info.FullMethod)
	if err != nil {
		return nil, err
	}
	return h(ctx, req)
}

func (a authenticator) stream(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, h grpc.StreamHandler) error {
	ctx, err := a.authenticate(ss.Context(), info.FullMethod)
	if err != nil {
		return err
	}
	return h(srv, &wrappedStream{ServerStream: ss, ctx: ctx})
}

// limiter refuses a principal's call when its bucket is empty. It runs after
// authentication, so the bucket is the verified principal's.
type limiter struct{ l *ratelimit.Limiter }

func (l limiter) check(ctx context.Context, method string) error {
	if l.l == nil || open(method) {
		return nil
	}
	p, ok := auth.FromContext(ctx)
	if !ok {
		return nil // authentication off (tests)
	}
	allowed, retry := l.l.Allow(p)
	if allowed {
		return nil
	}
	return rateLimited(p, l.l.Rule(p), retry)
}

// rateLimited is the refusal of a call over p's rate: RESOURCE_EXHAUSTED
// with RetryInfo saying when a token is back.
func rateLimited(p auth.Principal, r ratelimit.Rule, retry time.Duration) error {
	st := status.New(codes.ResourceExhausted, fmt.Sprintf("rate limit for %s (%s/s, burst %d) exceeded: retry in %s",
		p, strconv.FormatFloat(float64(r.Rate), 'f', -1, 64), r.Burst, retry.Round(time.Millisecond)))
	if d, err := st.WithDetails(&errdetails.RetryInfo{RetryDelay: durationpb.New(retry)}); err == nil {
		st = d
	}
	return st.Err()
}

func (l limiter) unary(ctx context.Context, req any, info *grpc.UnaryServerInfo, h grpc.UnaryHandler) (any, error) {
	if err := l.check(ctx, info.FullMethod); err != nil {
		return nil, err
	}
	return h(ctx, req)
}

func (l limiter) stream(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, h grpc.StreamHandler) error {
	if err := l.check(ss.Context(), info.FullMethod); err != nil {
		return err
	}
	return h(srv, ss)
}

type wrappedStream struct {
	grpc.ServerStream
	ctx context.Context
}

func (w *wrappedStream) Context() context.Context { return w.ctx }

func recoverUnary(log *slog.Logger) grpc.UnaryServerInterceptor {
	return func(ctx context.Context, req any, info *grpc.UnaryServerInfo, h grpc.UnaryHandler) (resp any, err error) {
		defer func() {
			if r := recover(); r != nil {
				log.ErrorContext(ctx, "panic in handler", "method", info.FullMethod, "panic", fmt.Sprint(r), "stack", string(debug.Stack()))
				err = status.Error(codes.Internal, "internal error")
			}
		}()
		return h(ctx, req)
	}
}

func recoverStream(log *slog.Logger) grpc.StreamServerInterceptor {
	return func(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, h grpc.StreamHandler) (err error) {
		defer func() {
			if r := recover(); r != nil {
				log.ErrorContext(ss.Context(), "panic in handler", "method", info.FullMethod, "panic", fmt.Sprint(r), "stack", string(debug.Stack()))
				err = status.Error(codes.Internal, "internal error")
			}
		}()
		return h(srv, ss)
	}
}

func errorsUnary(log *slog.Logger) grpc.UnaryServerInterceptor {
	return func(ctx context.Context, req any, info *grpc.UnaryServerInfo, h grpc.UnaryHandler) (any, error) {
		resp, err := h(ctx, req)
		if err != nil {
			return nil, ToStatus(ctx, log, info.FullMethod, err)
		}
		return resp, nil
	}
}

func errorsStream(log *slog.Logger) grpc.StreamServerInterceptor {
	return func(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, h grpc.StreamHandler) error {
		if err := h(srv, ss); err != nil {
			return ToStatus(ss.Context(), log, info.FullMethod, err)
		}
		return nil
	}
}

var kindCodes = map[fault.Kind]codes.Code{
	fault.InvalidArgument:    codes.InvalidArgument,
	fault.NotFound:           codes.NotFound,
	fault.AlreadyExists:      codes.AlreadyExists,
	fault.FailedPrecondition: codes.FailedPrecondition,
	fault.PermissionDenied:   codes.PermissionDenied,
	fault.Unauthenticated:    codes.Unauthenticated,
	fault.Unavailable:        codes.Unavailable,
}

// ToStatus is the one mapping from errors to gRPC statuses. Faults keep their
// safe message and details; anything else is logged and answered as a bare
// INTERNAL, so SQLSTATEs and internal text never leave the process.
func ToStatus(ctx context.Context, log *slog.Logger, method string, err error) error {
	if _, ok := status.FromError(err); ok {
		return err
	}
	var f *fault.Error
	if errors.As(err, &f) {
		if code, ok := kindCodes[f.Kind]; ok {
			return faultStatus(code, f).Err()
		}
	}
	switch {
	case errors.Is(err, context.Canceled):
		return status.Error(codes.Canceled, "request cancelled")
	case errors.Is(err, context.DeadlineExceeded):
		return status.Error(codes.DeadlineExceeded, "deadline exceeded")
	}
	log.ErrorContext(ctx, "internal error", "method", method, "err", err)
	return status.Error(codes.Internal, "internal error")
}

func faultStatus(code codes.Code, f *fault.Error) *status.Status {
	// For InvalidArgument the message lists the violations too, so that a
	// person reading only the message (grpcurl, a log) sees what was wrong.
	sp := &spb.Status{Code: int32(code), Message: f.Error()}
	var details []proto.Message
	if len(f.Violations) > 0 {
		br := &errdetails.BadRequest{}
		for _, v := range f.Violations {
			br.FieldViolations = append(br.FieldViolations, &errdetails.BadRequest_FieldViolation{Field: v.Field, Description: v.Reason})
		}
		details = append(details, br)
	}
	if f.Resource != "" {
		details = append(details, &errdetails.ResourceInfo{ResourceName: f.Resource, Description: f.Message})
	}
	for _, d := range details {
		if a, err := anypb.New(d); err == nil {
			sp.Details = append(sp.Details, a)
		}
	}
	return status.FromProto(sp)
}
