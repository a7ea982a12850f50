// Package api is the console's HTTP/JSON door (issue 19), under /api/v1: the
// services' RPCs a department's system, a grid worker's or a secretary's
// phone and the hotline's system need, as JSON over HTTP, and the uploads of
// photos and completion evidence.
//
// The RPCs go through grpc-gateway's reverse proxy, generated from
// proto/gateway.yaml into gen/ (make generate), with the OpenAPI document
// beside it (openapi.swagger.json, served at GET /api/v1/openapi.json). The
// door decides nothing the services decide:
//
//   - every route is in pkg/policy's route table (door "api") with the roles
//     of the RPC behind it; a request needs `Authorization: Bearer <token>`,
//     checked against the same keys and deny list the services use
//     (UNAUTHENTICATED, 401) and admitted by policy.CheckRoute
//     (PERMISSION_DENIED, 403), then forwarded with that same token as the
//     gRPC metadata, so the service's own interceptor and scope decide what
//     the caller may see and do, exactly as over gRPC;
//   - the service's answer and its status come back as they are: codes map
//     to HTTP statuses as grpc-gateway maps them (INVALID_ARGUMENT 400,
//     UNAUTHENTICATED 401, PERMISSION_DENIED 403, NOT_FOUND 404,
//     ALREADY_EXISTS 409, RESOURCE_EXHAUSTED 429 …), and the body is the
//     google.rpc.Status as JSON with its details — the BadRequest field
//     violations naming the same fields as over gRPC;
//   - JSON uses the protos' field names (snake_case, as grpcurl's), and an
//     unknown field is INVALID_ARGUMENT; server streams (WatchTasks,
//     WatchCaseUpdates) are newline-delimited JSON, one {"result": …} per
//     message, as the gateway writes them.
//
// Uploads (uploads.go) are the door's own handlers, not RPCs.
package api

import (
	"context"
	_ "embed" // the OpenAPI document
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/gridflow/gridflow/pkg/auth"
	"github.com/gridflow/gridflow/pkg/fault"
	"github.com/gridflow/gridflow/pkg/grpcserver"
	"github.com/gridflow/gridflow/pkg/policy"
	classifyv1 "github.com/gridflow/gridflow/proto/gen/go/gridflow/classify/v1"
	dispatchv1 "github.com/gridflow/gridflow/proto/gen/go/gridflow/dispatch/v1"
	feedbackv1 "github.com/gridflow/gridflow/proto/gen/go/gridflow/feedback/v1"
	intakev1 "github.com/gridflow/gridflow/proto/gen/go/gridflow/intake/v1"
	classifygw "github.com/gridflow/gridflow/services/console/internal/api/gen/gridflow/classify/v1"
	dispatchgw "github.com/gridflow/gridflow/services/console/internal/api/gen/gridflow/dispatch/v1"
	feedbackgw "github.com/gridflow/gridflow/services/console/internal/api/gen/gridflow/feedback/v1"
	intakegw "github.com/gridflow/gridflow/services/console/internal/api/gen/gridflow/intake/v1"
	"github.com/gridflow/gridflow/services/console/internal/objects"
	"github.com/grpc-ecosystem/grpc-gateway/v2/runtime"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/encoding/protojson"
)

// Conns are the services the door calls.
type Conns struct {
	Intake, Classify, Dispatch, Feedback grpc.ClientConnInterface
}

// Options are the door's settings.
type Options struct {
	// MaxUploadBytes bounds one upload (CONSOLE_UPLOAD_MAX_BYTES).
	MaxUploadBytes int64
	// UploadTypes are the media types an upload's content may sniff as
	// (CONSOLE_UPLOAD_TYPES).
	UploadTypes []string
	// CallTimeout bounds every unary call to a service, the proxied RPCs
	// (a shorter Grpc-Timeout header from the client wins) and the door's
	// own (an attachment's access check). Streams run while the client
	// holds them.
	CallTimeout time.Duration
	// MaxBodyBytes bounds a proxied request's body, as the services bound
	// a request (GRIDFLOW_GRPC_MAX_RECV_BYTES): a larger one is refused
	// before it is read whole.
	MaxBodyBytes int64
}

// DefaultUploadTypes are photos as phones take them and documents.
var DefaultUploadTypes = []string{"image/jpeg", "image/png", "image/webp", "image/heic", "image/heif", "application/pdf"}

// Server is the door's handler.
type Server struct {
	gw       *runtime.ServeMux
	mux      *http.ServeMux
	verifier *auth.Verifier
	store    objects.Store
	intake   intakev1.IntakeServiceClient
	dispatch dispatchv1.DispatchServiceClient
	// Hotline evidence (issue 19): the replies that show a completion's.
	feedback feedbackv1.FeedbackServiceClient
	log      *slog.Logger
	opts     Options
	openapi  []byte
	routes   []string // every route registered, as pkg/policy names them
}

// marshaler is the door's JSON: the protos' own field names, so a field
// violation's field is the JSON key the client sent; unknown fields are
// refused rather than silently dropped.
var marshaler = &runtime.JSONPb{
	MarshalOptions:   protojson.MarshalOptions{UseProtoNames: true},
	UnmarshalOptions: protojson.UnmarshalOptions{DiscardUnknown: false},
}

// New builds the door over conns. ctx bounds the gateway's registrations.
func New(ctx context.Context, conns Conns, verifier *auth.Verifier, store objects.Store, log *slog.Logger, opts Options) (*Server, error) {
	if opts.MaxUploadBytes <= 0 {
		opts.MaxUploadBytes = 10 << 20
	}
	if len(opts.UploadTypes) == 0 {
		opts.UploadTypes = DefaultUploadTypes
	}
	if opts.CallTimeout <= 0 {
		opts.CallTimeout = 30 * time.Second
	}
	if opts.MaxBodyBytes <= 0 {
		opts.MaxBodyBytes = 4 << 20
	}
	s := &Server{verifier: verifier, store: store, log: log, opts: opts, mux: http.NewServeMux(),
		intake: intakev1.NewIntakeServiceClient(conns.Intake), dispatch: dispatchv1.NewDispatchServiceClient(conns.Dispatch),
		feedback: feedbackv1.NewFeedbackServiceClient(conns.Feedback)}
	s.gw = runtime.NewServeMux(
		runtime.WithMarshalerOption(runtime.MIMEWildcard, marshaler),
		// Only the bearer token travels to the services (grpc-gateway
		// forwards Authorization itself); no other header becomes metadata.
		runtime.WithIncomingHeaderMatcher(func(string) (string, bool) { return "", false }),
		runtime.WithErrorHandler(errorHandler),
		runtime.WithRoutingErrorHandler(func(ctx context.Context, mux *runtime.ServeMux, m runtime.Marshaler, w http.ResponseWriter, r *http.Request, code int) {
			errorHandler(ctx, mux, m, w, r, status.Error(codes.NotFound, "no such route: "+r.Method+" "+r.URL.Path))
		}),
	)
	if err := intakegw.RegisterIntakeServiceHandlerClient(ctx, s.gw, s.intake); err != nil {
		return nil, fmt.Errorf("gateway intake: %w", err)
	}
	if err := classifygw.RegisterClassifyServiceHandlerClient(ctx, s.gw, classifyv1.NewClassifyServiceClient(conns.Classify)); err != nil {
		return nil, fmt.Errorf("gateway classify: %w", err)
	}
	if err := dispatchgw.RegisterDispatchServiceHandlerClient(ctx, s.gw, s.dispatch); err != nil {
		return nil, fmt.Errorf("gateway dispatch: %w", err)
	}
	if err := feedbackgw.RegisterFeedbackServiceHandlerClient(ctx, s.gw, feedbackv1.NewFeedbackServiceClient(conns.Feedback)); err != nil {
		return nil, fmt.Errorf("gateway feedback: %w", err)
	}
	doc, err := document(opts)
	if err != nil {
		return nil, err
	}
	s.openapi = doc

	// The gateway is reached only through the policy's routes: a route
	// the gateway has and the policy lacks is never served (and the test
	// that compares them fails).
	for _, route := range policy.APIRPCRoutes() {
		s.handle(route, s.authorized(route, s.proxy(route)))
	}
	s.handle(policy.RouteUpload, s.authorized(policy.RouteUpload, s.upload))
	s.handle(policy.RouteOwnUpload, s.authorized(policy.RouteOwnUpload, s.ownUpload))
	s.handle(policy.RouteCaseAttachment, s.authorized(policy.RouteCaseAttachment, s.caseAttachment))
	if !policy.RouteOpen(policy.RouteOpenAPI) {
		return nil, fmt.Errorf("api: %s is not open in pkg/policy", policy.RouteOpenAPI)
	}
	s.handle(policy.RouteOpenAPI, http.HandlerFunc(s.serveOpenAPI))
	s.mux.HandleFunc("/api/v1/", func(w http.ResponseWriter, r *http.Request) {
		s.fail(w, r, status.Error(codes.NotFound, "no such route: "+r.Method+" "+r.URL.Path))
	})
	return s, nil
}

// Routes lists every route the door serves, as pkg/policy names them.
func (s *Server) Routes() []string { return slices.Sorted(slices.Values(s.routes)) }

func (s *Server) handle(route string, h http.Handler) {
	pattern, ok := strings.CutPrefix(route, policy.API+" ")
	if !ok {
		panic("api: route " + route + " is not the api door's")
	}
	s.routes = append(s.routes, route)
	s.mux.Handle(pattern, h)
}

func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("Cache-Control", "no-store")
	h.Set("X-Content-Type-Options", "nosniff")
	s.mux.ServeHTTP(w, r)
}

// streams are the routes of server-streaming RPCs: no deadline of the
// door's, the client holds them as long as it watches.
var streams = map[string]bool{
	policy.Method(policy.DispatchService, "WatchTasks"):       true,
	policy.Method(policy.FeedbackService, "WatchCaseUpdates"): true,
}

// proxy hands an admitted request to the gateway: its body bounded, a
// unary call bounded in time.
func (s *Server) proxy(route string) func(http.ResponseWriter, *http.Request, caller) {
	method, _ := policy.APIMethod(route)
	return func(w http.ResponseWriter, r *http.Request, _ caller) {
		r.Body = http.MaxBytesReader(w, r.Body, s.opts.MaxBodyBytes)
		if !streams[method] {
			ctx, cancel := context.WithTimeout(r.Context(), s.opts.CallTimeout)
			defer cancel()
			r = r.WithContext(ctx)
		}
		s.gw.ServeHTTP(w, r)
	}
}

// caller is who a request comes from, once authorized.
type caller struct {
	auth.Principal
	token string
}

// outgoing is ctx carrying the caller's own token, for the door's calls to
// the services on the caller's behalf.
func (c caller) outgoing(ctx context.Context) context.Context {
	return metadata.AppendToOutgoingContext(ctx, "authorization", "Bearer "+c.token)
}

// authorized admits a bearer token whose principal pkg/policy admits to
// route.
func (s *Server) authorized(route string, next func(http.ResponseWriter, *http.Request, caller)) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		token, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		if !ok || token == "" {
			s.fail(w, r, fault.New(fault.Unauthenticated, "missing bearer token (Authorization: Bearer <token>)"))
			return
		}
		p, err := s.verifier.Verify(token)
		if err != nil {
			s.fail(w, r, fault.New(fault.Unauthenticated, "%s", err.Error()))
			return
		}
		if err := policy.CheckRoute(p, route); err != nil {
			s.fail(w, r, err)
			return
		}
		next(w, r, caller{Principal: p, token: token})
	})
}

// fail answers err as the gateway answers a service's error: the status as
// JSON, with its details, under the code's HTTP status.
func (s *Server) fail(w http.ResponseWriter, r *http.Request, err error) {
	errorHandler(r.Context(), s.gw, marshaler, w, r, grpcserver.ToStatus(r.Context(), s.log, r.Method+" "+r.URL.Path, err))
}

// gatewayField finds the field grpc-gateway names in its own refusals of a
// request it could not read (a query parameter, a path parameter).
var gatewayField = regexp.MustCompile(`(?:field|parameter|list)[:]? "?([A-Za-z0-9_.]+)"?`)

// errorHandler is grpc-gateway's, with one addition: a refusal the gateway
// makes itself (a body that is not the message's JSON, a query parameter
// of the wrong type) carries no field violation, so one is added — the
// field the gateway named, else "body" or "query" — and every bad input is
// INVALID_ARGUMENT with a field and a reason, over HTTP as over gRPC.
func errorHandler(ctx context.Context, mux *runtime.ServeMux, m runtime.Marshaler, w http.ResponseWriter, r *http.Request, err error) {
	st, ok := status.FromError(err)
	if ok && st.Code() == codes.InvalidArgument && !hasBadRequest(st) {
		field := "query"
		if r.Method == http.MethodPost {
			field = "body"
		}
		if sub := gatewayField.FindStringSubmatch(st.Message()); sub != nil {
			field = sub[1]
		}
		if withDetail, derr := st.WithDetails(&errdetails.BadRequest{FieldViolations: []*errdetails.BadRequest_FieldViolation{
			{Field: field, Description: st.Message()}}}); derr == nil {
			err = withDetail.Err()
		}
	}
	runtime.DefaultHTTPErrorHandler(ctx, mux, m, w, r, err)
}

func hasBadRequest(st *status.Status) bool {
	for _, d := range st.Details() {
		if _, ok := d.(*errdetails.BadRequest); ok {
			return true
		}
	}
	return false
}

//go:embed openapi.swagger.json
var generatedOpenAPI []byte

// document is the generated OpenAPI document completed with what the
// generator cannot know: the bearer credential, the uploads and the limits.
func document(opts Options) ([]byte, error) {
	var doc map[string]any
	if err := json.Unmarshal(generatedOpenAPI, &doc); err != nil {
		return nil, fmt.Errorf("api: the generated OpenAPI document: %w", err)
	}
	doc["info"] = map[string]any{"title": "gridflow HTTP/JSON door", "version": "v1",
		"description": "The services' RPCs as JSON over HTTP, and uploads. Every request carries `Authorization: Bearer <token>`; errors are google.rpc.Status with BadRequest field violations."}
	doc["securityDefinitions"] = map[string]any{"bearer": map[string]any{"type": "apiKey", "name": "Authorization", "in": "header",
		"description": "Bearer <token>: a gridflow token naming the principal (gridctl auth issue)"}}
	doc["security"] = []any{map[string]any{"bearer": []any{}}}
	paths, _ := doc["paths"].(map[string]any)
	if paths == nil {
		return nil, fmt.Errorf("api: the generated OpenAPI document has no paths")
	}
	errResp := map[string]any{"description": "google.rpc.Status", "schema": map[string]any{"$ref": "#/definitions/rpcStatus"}}
	paths["/api/v1/uploads"] = map[string]any{"post": map[string]any{
		"operationId": "Uploads_Put", "tags": []any{"Uploads"},
		"summary": fmt.Sprintf("Stores a photo or a piece of evidence (at most %d bytes; content sniffed: %s). Multipart form field \"file\", or the raw body with ?name=.",
			opts.MaxUploadBytes, strings.Join(opts.UploadTypes, ", ")),
		"consumes":   []any{"multipart/form-data", "application/octet-stream"},
		"parameters": []any{map[string]any{"name": "file", "in": "formData", "type": "file"}, map[string]any{"name": "name", "in": "query", "type": "string"}},
		"responses": map[string]any{"201": map[string]any{"description": "the upload, with the attachment to refer to it by",
			"schema": map[string]any{"$ref": "#/definitions/Upload"}}, "default": errResp},
	}}
	paths["/api/v1/uploads/{key}"] = map[string]any{"get": map[string]any{
		"operationId": "Uploads_GetOwn", "tags": []any{"Uploads"}, "summary": "The caller's own upload's bytes.",
		"produces":   []any{"application/octet-stream"},
		"parameters": []any{map[string]any{"name": "key", "in": "path", "required": true, "type": "string"}},
		"responses":  map[string]any{"200": map[string]any{"description": "the bytes", "schema": map[string]any{"type": "file"}}, "default": errResp},
	}}
	paths["/api/v1/cases/{case_number}/attachments/{key}"] = map[string]any{"get": map[string]any{
		"operationId": "Uploads_GetCaseAttachment", "tags": []any{"Uploads"},
		"summary":  "An upload a case refers to, for whoever's read of the case (intake's submission or dispatch's tasks, as the caller) shows it.",
		"produces": []any{"application/octet-stream"},
		"parameters": []any{map[string]any{"name": "case_number", "in": "path", "required": true, "type": "string"},
			map[string]any{"name": "key", "in": "path", "required": true, "type": "string"}},
		"responses": map[string]any{"200": map[string]any{"description": "the bytes", "schema": map[string]any{"type": "file"}}, "default": errResp},
	}}
	paths["/api/v1/openapi.json"] = map[string]any{"get": map[string]any{
		"operationId": "OpenAPI_Get", "tags": []any{"OpenAPI"}, "summary": "This document.", "security": []any{},
		"responses": map[string]any{"200": map[string]any{"description": "the OpenAPI 2.0 document"}},
	}}
	defs, _ := doc["definitions"].(map[string]any)
	if defs == nil {
		return nil, fmt.Errorf("api: the generated OpenAPI document has no definitions")
	}
	defs["Upload"] = map[string]any{"type": "object", "properties": map[string]any{
		"attachment": map[string]any{"$ref": "#/definitions/v1Attachment"},
		"key":        map[string]any{"type": "string"},
		"size":       map[string]any{"type": "string", "format": "int64"},
		"sha256":     map[string]any{"type": "string"},
	}}
	return json.MarshalIndent(doc, "", "  ")
}

func (s *Server) serveOpenAPI(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write(s.openapi)
}
