package api_test

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/json"
	"io"
	"log/slog"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gridflow/gridflow/pkg/auth"
	"github.com/gridflow/gridflow/pkg/policy"
	"github.com/gridflow/gridflow/pkg/testenv"
	"github.com/gridflow/gridflow/services/console/internal/api"
	"github.com/gridflow/gridflow/services/console/internal/objects"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
)

// The door's RPC routes reach real services only in the end-to-end test
// (e2e/api_test.go); here the door stands alone — its routes, its OpenAPI
// document and the uploads against real PostgreSQL. The services' address
// is one nothing listens on: grpc.NewClient dials lazily, and no test here
// reaches a service.

type harness struct {
	t      *testing.T
	srv    *httptest.Server
	signer *auth.Signer
	door   *api.Server
}

func newHarness(t *testing.T, opts api.Options) *harness {
	t.Helper()
	pub, key, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	cc, err := grpc.NewClient("127.0.0.1:1", grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cc.Close() })
	store := objects.NewPG(testenv.Pool(t, objects.Schema, 4, objects.Migrations...))
	door, err := api.New(context.Background(), api.Conns{Intake: cc, Classify: cc, Dispatch: cc, Feedback: cc},
		auth.NewVerifier(pub), store, slog.New(slog.DiscardHandler), opts)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(door)
	t.Cleanup(srv.Close)
	return &harness{t: t, srv: srv, signer: auth.NewSigner(key), door: door}
}

func (h *harness) token(p auth.Principal) string {
	h.t.Helper()
	tok, err := h.signer.Issue(p, time.Hour)
	if err != nil {
		h.t.Fatal(err)
	}
	return tok
}

// do sends a request as p (no credential for the zero principal).
func (h *harness) do(method, path string, p auth.Principal, contentType string, body []byte) (int, http.Header, []byte) {
	h.t.Helper()
	req, err := http.NewRequest(method, h.srv.URL+path, bytes.NewReader(body))
	if err != nil {
		h.t.Fatal(err)
	}
	if p.Role != "" {
		req.Header.Set("Authorization", "Bearer "+h.token(p))
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		h.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		h.t.Fatal(err)
	}
	return resp.StatusCode, resp.Header, b
}

// refusal is a google.rpc.Status as the door writes it.
type refusal struct {
	Code    int    `json:"code"`
	Message string `json:"message"`
	Details []struct {
		Type            string `json:"@type"`
		FieldViolations []struct {
			Field, Description string
		} `json:"field_violations"`
	} `json:"details"`
}

// wantRefused checks an answer is the code with, for INVALID_ARGUMENT, a
// violation of field.
func wantRefused(t *testing.T, what string, status int, body []byte, wantStatus, wantCode int, field string) {
	t.Helper()
	var r refusal
	if err := json.Unmarshal(body, &r); err != nil {
		t.Fatalf("%s: %d %s: not a status: %v", what, status, body, err)
	}
	if status != wantStatus || r.Code != wantCode {
		t.Fatalf("%s: %d code %d (%s), want %d code %d", what, status, r.Code, r.Message, wantStatus, wantCode)
	}
	if field == "" {
		return
	}
	for _, d := range r.Details {
		for _, v := range d.FieldViolations {
			if v.Field == field {
				return
			}
		}
	}
	t.Fatalf("%s: no violation of %q in %s", what, field, body)
}

// TestRoutesAreThePolicys: the door serves exactly the routes pkg/policy
// has for it — so every route it serves is checked by CheckRoute.
func TestRoutesAreThePolicys(t *testing.T) {
	t.Parallel()
	h := newHarness(t, api.Options{})
	if got, want := h.door.Routes(), policy.Routes(policy.API); !slices.Equal(got, want) {
		t.Errorf("the door serves %q,\nthe policy has %q", got, want)
	}
}

// TestOpenAPIDocument: the served document parses, names every route of
// the door with its method — each gateway route as the operation of the
// RPC pkg/policy puts behind it — and nothing else.
func TestOpenAPIDocument(t *testing.T) {
	t.Parallel()
	h := newHarness(t, api.Options{})
	status, hdr, body := h.do("GET", "/api/v1/openapi.json", auth.Principal{}, "", nil)
	if status != http.StatusOK || !strings.HasPrefix(hdr.Get("Content-Type"), "application/json") {
		t.Fatalf("GET /api/v1/openapi.json without a credential: %d %s", status, hdr.Get("Content-Type"))
	}
	var doc struct {
		Swagger string `json:"swagger"`
		Paths   map[string]map[string]struct {
			OperationID string `json:"operationId"`
		} `json:"paths"`
		SecurityDefinitions map[string]any `json:"securityDefinitions"`
		Definitions         map[string]any `json:"definitions"`
	}
	if err := json.Unmarshal(body, &doc); err != nil {
		t.Fatalf("the OpenAPI document does not parse: %v", err)
	}
	if doc.Swagger != "2.0" || doc.SecurityDefinitions["bearer"] == nil || doc.Definitions["rpcStatus"] == nil {
		t.Errorf("swagger %q, securityDefinitions %v, rpcStatus %v", doc.Swagger, doc.SecurityDefinitions, doc.Definitions["rpcStatus"] != nil)
	}
	var inDoc []string
	for path, ops := range doc.Paths {
		for method, op := range ops {
			route := policy.Route(policy.API, strings.ToUpper(method)+" "+path)
			inDoc = append(inDoc, route)
			if rpc, ok := policy.APIMethod(route); ok {
				// operationId is Service_RPC; the policy's method is
				// /package.Service/RPC.
				svc, name, _ := strings.Cut(op.OperationID, "_")
				if !strings.HasSuffix(rpc, "."+svc+"/"+name) {
					t.Errorf("%s: the document's operation %s, the policy's RPC %s", route, op.OperationID, rpc)
				}
			}
		}
	}
	slices.Sort(inDoc)
	if want := policy.Routes(policy.API); !slices.Equal(inDoc, want) {
		t.Errorf("the document's routes %q,\nthe policy's %q", inDoc, want)
	}
}

// A tiny JPEG's and PNG's first bytes, enough for the sniffer.
var (
	jpeg = append([]byte{0xff, 0xd8, 0xff, 0xe0, 0x00, 0x10, 'J', 'F', 'I', 'F', 0x00}, bytes.Repeat([]byte{0x42}, 200)...)
	png  = append([]byte("\x89PNG\r\n\x1a\n\x00\x00\x00\x0dIHDR"), bytes.Repeat([]byte{0}, 100)...)
	pdf  = []byte("%PDF-1.7\n1 0 obj\n<<>>\nendobj\ntrailer\n<<>>\n%%EOF\n")
	html = []byte("<!DOCTYPE html><html><body><script>alert(document.cookie)</script></body></html>")
)

func multipartFile(t *testing.T, field, name string, content []byte, declared string) (string, []byte) {
	t.Helper()
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	hdr := make(map[string][]string)
	hdr["Content-Disposition"] = []string{`form-data; name="` + field + `"; filename="` + name + `"`}
	hdr["Content-Type"] = []string{declared}
	w, err := mw.CreatePart(hdr)
	if err != nil {
		t.Fatal(err)
	}
	_, _ = w.Write(content)
	if err := mw.Close(); err != nil {
		t.Fatal(err)
	}
	return mw.FormDataContentType(), buf.Bytes()
}

var (
	worker  = auth.Principal{Role: auth.RolePatrol, Subject: "w-0017"}
	other   = auth.Principal{Role: auth.RolePatrol, Subject: "w-0031"}
	dept    = auth.Principal{Role: auth.RoleDepartment, Subject: "310106022-cgzd"}
	admin   = auth.Principal{Role: auth.RoleAdmin}
	secr    = auth.Principal{Role: auth.RoleSecretary, Subject: "310106022001"}
	nothing = auth.Principal{}
)

// TestUploads: what is stored and what is refused, and who reads an upload
// back by its key, against real PostgreSQL.
func TestUploads(t *testing.T) {
	t.Parallel()
	h := newHarness(t, api.Options{MaxUploadBytes: 4096})

	// A photo as a multipart form: stored, answered as an attachment.
	ct, body := multipartFile(t, "file", "fire-lane.jpg", jpeg, "image/jpeg")
	status, _, b := h.do("POST", "/api/v1/uploads", worker, ct, body)
	if status != http.StatusCreated {
		t.Fatalf("upload: %d %s", status, b)
	}
	var up api.Upload
	if err := json.Unmarshal(b, &up); err != nil {
		t.Fatal(err)
	}
	if up.Attachment.URI != api.URIScheme+up.Key || up.Attachment.MediaType != "image/jpeg" || up.Attachment.Name != "fire-lane.jpg" ||
		up.Size != int64(len(jpeg)) || len(up.SHA256) != 64 {
		t.Errorf("upload answered %+v", up)
	}
	// The uploader reads it back; nobody else does by key (admin aside).
	status, hdr, got := h.do("GET", "/api/v1/uploads/"+up.Key, worker, "", nil)
	if status != http.StatusOK || !bytes.Equal(got, jpeg) || hdr.Get("Content-Type") != "image/jpeg" ||
		!strings.HasPrefix(hdr.Get("Content-Disposition"), "attachment") || hdr.Get("X-Content-Type-Options") != "nosniff" {
		t.Errorf("the uploader's read: %d %v (%d bytes)", status, hdr, len(got))
	}
	status, _, b = h.do("GET", "/api/v1/uploads/"+up.Key, other, "", nil)
	wantRefused(t, "another worker's read by key", status, b, http.StatusForbidden, 7, "")
	status, _, b = h.do("GET", "/api/v1/uploads/"+strings.Repeat("0", 32), other, "", nil)
	wantRefused(t, "a missing key, as a worker", status, b, http.StatusForbidden, 7, "")
	status, _, _ = h.do("GET", "/api/v1/uploads/"+up.Key, admin, "", nil)
	if status != http.StatusOK {
		t.Errorf("admin's read by key: %d", status)
	}
	status, _, b = h.do("GET", "/api/v1/uploads/"+strings.Repeat("0", 32), admin, "", nil)
	wantRefused(t, "a missing key, as admin", status, b, http.StatusNotFound, 5, "")
	status, _, b = h.do("GET", "/api/v1/uploads/..%2Fetc", worker, "", nil)
	wantRefused(t, "a malformed key", status, b, http.StatusBadRequest, 3, "key")

	// A raw body, named by ?name=: a department's PDF evidence.
	status, _, b = h.do("POST", "/api/v1/uploads?name=%E5%8A%9E%E7%BB%93%E6%8A%A5%E5%91%8A.pdf", dept, "application/octet-stream", pdf)
	if status != http.StatusCreated || !strings.Contains(string(b), `"media_type":"application/pdf"`) || !strings.Contains(string(b), "办结报告.pdf") {
		t.Errorf("raw PDF upload: %d %s", status, b)
	}
	// A PNG declared as a JPEG is stored as what it is.
	ct, body = multipartFile(t, "file", "photo.jpg", png, "image/jpeg")
	status, _, b = h.do("POST", "/api/v1/uploads", worker, ct, body)
	if status != http.StatusCreated || !strings.Contains(string(b), `"media_type":"image/png"`) {
		t.Errorf("a PNG named .jpg: %d %s", status, b)
	}

	for _, tc := range []struct {
		what, contentType string
		body              []byte
		as                auth.Principal
		status, code      int
		field             string
	}{
		{what: "HTML named .jpg, declared image/jpeg", as: worker, status: 400, code: 3, field: "file"},
		{what: "HTML as a raw body", contentType: "image/jpeg", body: html, as: worker, status: 400, code: 3, field: "file"},
		{what: "an empty raw body", contentType: "image/jpeg", body: nil, as: worker, status: 400, code: 3, field: "file"},
		{what: "over the limit", contentType: "image/jpeg", body: append(slices.Clone(jpeg), make([]byte, 4096)...), as: worker, status: 400, code: 3, field: "file"},
		{what: "a multipart form without a file field", as: worker, status: 400, code: 3, field: "file"},
		{what: "no credential", contentType: "image/jpeg", body: jpeg, as: nothing, status: 401, code: 16},
		{what: "a secretary (no RPC of hers carries attachments)", contentType: "image/jpeg", body: jpeg, as: secr, status: 403, code: 7},
	} {
		ct, body := tc.contentType, tc.body
		switch tc.what {
		case "HTML named .jpg, declared image/jpeg":
			ct, body = multipartFile(t, "file", "photo.jpg", html, "image/jpeg")
		case "a multipart form without a file field":
			ct, body = multipartFile(t, "photo", "photo.jpg", jpeg, "image/jpeg")
		}
		status, _, b := h.do("POST", "/api/v1/uploads", tc.as, ct, body)
		wantRefused(t, tc.what, status, b, tc.status, tc.code, tc.field)
	}
	// A name with a directory or a control character is refused.
	status, _, b = h.do("POST", "/api/v1/uploads?name=a%2Fb.jpg", worker, "image/jpeg", jpeg)
	wantRefused(t, "a name with a directory", status, b, 400, 3, "name")
	status, _, b = h.do("POST", "/api/v1/uploads?name=a%07.jpg", worker, "image/jpeg", jpeg)
	wantRefused(t, "a name with a control character", status, b, 400, 3, "name")
}

// TestDoorRefusesBeforeTheServices: no credential, a bad one, and a role
// the route's RPC does not admit are refused by the door itself (the
// services behind it are unreachable here), as the gateway writes errors.
func TestDoorRefusesBeforeTheServices(t *testing.T) {
	t.Parallel()
	h := newHarness(t, api.Options{})
	status, _, b := h.do("POST", "/api/v1/work-orders", nothing, "application/json", []byte(`{}`))
	wantRefused(t, "no credential", status, b, 401, 16, "")

	req, _ := http.NewRequest("GET", h.srv.URL+"/api/v1/tasks", nil)
	req.Header.Set("Authorization", "Bearer not-a-token")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	b, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	wantRefused(t, "a bad token", resp.StatusCode, b, 401, 16, "")

	status, _, b = h.do("POST", "/api/v1/work-orders", worker, "application/json", []byte(`{}`))
	wantRefused(t, "a worker submitting a work order", status, b, 403, 7, "")
	status, _, b = h.do("POST", "/api/v1/tasks/t-1/complete", admin, "application/json", []byte(`{}`))
	wantRefused(t, "admin completing a task (units only)", status, b, 403, 7, "")
	// A body past the limit is refused before it is read whole, naming the
	// body (the services would refuse it as RESOURCE_EXHAUSTED).
	huge := append([]byte(`{"work_order": {"content": "`), bytes.Repeat([]byte("噪"), 2<<20)...)
	status, _, b = h.do("POST", "/api/v1/work-orders", auth.Principal{Role: auth.RoleHotline}, "application/json", append(huge, `"}}`...))
	wantRefused(t, "a body over 4 MiB", status, b, 400, 3, "body")
	status, _, b = h.do("GET", "/api/v1/nowhere", admin, "", nil)
	wantRefused(t, "an unknown route", status, b, 404, 5, "")
	status, _, b = h.do("DELETE", "/api/v1/tasks", admin, "", nil)
	wantRefused(t, "a method the route does not have", status, b, 404, 5, "")
}
