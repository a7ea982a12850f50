// Package open311 is the console's door for the public: Open311 GeoReport
// v2 (http://wiki.open311.org/GeoReport_v2) under /open311/v2/, in JSON and
// XML (issue 19).
//
//	GET  services.{json,xml}                the urban-management catalogue's items
//	GET  services/{code}.{json,xml}         a service's definition (no attributes)
//	POST requests.{json,xml}                a request, into intake as source public (api_key required)
//	GET  requests.{json,xml}                public requests: service_request_id, service_code,
//	                                        start_date, end_date, status
//	GET  requests/{id}.{json,xml}           one public request
//
// The api_key names the principal public:<key id>; a GET without one is
// answered as public:anonymous. The door calls intake, classify and
// feedback with a short-lived credential for that principal, so the
// services' policy decides: the public submits through intake's public
// door and reads only feedback's public cases — a 12345 case is never
// answered, whatever its id. What is shown: status (open or closed), the
// service, the street (no house number), the point rounded to about a
// block, the description with phone numbers masked, and the reply; never
// the submitter (no contact is taken: email, names and phone of the
// spec's POST are not read).
//
// Errors are the spec's list, [{code, description}], with the HTTP status
// as code: 400 bad input (the field named), 401 no api_key, 403 an invalid
// api_key, 404 an unknown service, request or jurisdiction, 500 else.
package open311

import (
	"context"
	"encoding/json"
	"encoding/xml"
	"errors"
	"log/slog"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/gridflow/gridflow/pkg/auth"
	"github.com/gridflow/gridflow/pkg/fault"
	"github.com/gridflow/gridflow/pkg/policy"
	"github.com/gridflow/gridflow/pkg/redact"
	"github.com/gridflow/gridflow/pkg/reference"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/timestamppb"

	classifyv1 "github.com/gridflow/gridflow/proto/gen/go/gridflow/classify/v1"
	feedbackv1 "github.com/gridflow/gridflow/proto/gen/go/gridflow/feedback/v1"
	intakev1 "github.com/gridflow/gridflow/proto/gen/go/gridflow/intake/v1"
	typesv1 "github.com/gridflow/gridflow/proto/gen/go/gridflow/types/v1"
)

// Prefix is where the door is served.
const Prefix = "/open311/v2/"

// Anonymous is the principal of a GET without an api_key. Key ids are
// "k" + hex, so no key is ever named so.
var Anonymous = auth.Principal{Role: auth.RolePublic, Subject: "anonymous"}

// Minter signs the credential the door calls the services with.
type Minter interface {
	Token(p auth.Principal) (string, error)
}

// Backends are the services the door calls.
type Backends struct {
	Intake   intakev1.PublicIntakeServiceClient
	Classify classifyv1.ClassifyServiceClient
	Feedback feedbackv1.PublicCaseServiceClient
}

// Options configure the door.
type Options struct {
	// Jurisdiction is the jurisdiction_id this endpoint answers for; a
	// request naming another is 404. It is optional (one jurisdiction).
	Jurisdiction string
	CallTimeout  time.Duration
	// Reference names the areas (street-level addresses) and departments.
	Reference func() *reference.Set
}

// Door serves Open311.
type Door struct {
	keys     Keys
	minter   Minter
	b        Backends
	verifier *auth.Verifier
	opts     Options
	log      *slog.Logger
	mux      *http.ServeMux
	patterns []string
}

// New returns the door.
func New(keys Keys, minter Minter, b Backends, verifier *auth.Verifier, log *slog.Logger, opts Options) *Door {
	if opts.CallTimeout == 0 {
		opts.CallTimeout = 10 * time.Second
	}
	d := &Door{keys: keys, minter: minter, b: b, verifier: verifier, opts: opts, log: log, mux: http.NewServeMux()}
	for _, f := range []string{"json", "xml"} {
		d.route("GET "+Prefix+"services."+f, d.services(f))
		d.route("POST "+Prefix+"requests."+f, d.submit(f))
		d.route("GET "+Prefix+"requests."+f, d.requests(f))
	}
	d.route("GET "+Prefix+"services/{file}", d.withFormat(d.service))
	d.route("GET "+Prefix+"requests/{file}", d.withFormat(d.request))
	d.adminRoutes()
	return d
}

// Patterns lists the routes the door registered.
func (d *Door) Patterns() []string { return append([]string(nil), d.patterns...) }

// route registers a route of the Open311 door, which must be in
// pkg/policy's route table.
func (d *Door) route(pattern string, h http.HandlerFunc) {
	if !slices.Contains(policy.Routes(policy.Open311), policy.Route(policy.Open311, pattern)) {
		panic("open311: route " + pattern + " is not in pkg/policy")
	}
	d.patterns = append(d.patterns, pattern)
	d.mux.Handle(pattern, h)
}

func (d *Door) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Cache-Control", "no-store")
	d.mux.ServeHTTP(w, r)
}

// withFormat splits {file} into the resource and its format suffix.
func (d *Door) withFormat(h func(w http.ResponseWriter, r *http.Request, id, format string)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		file := r.PathValue("file")
		i := strings.LastIndexByte(file, '.')
		if i <= 0 || (file[i+1:] != "json" && file[i+1:] != "xml") {
			d.fail(w, r, "xml", fault.NotFoundf("", "no such resource: the format is .json or .xml"))
			return
		}
		h(w, r, file[:i], file[i+1:])
	}
}

// caller is who the request acts as: the api_key's principal, or for a
// read without one, Anonymous. A write needs a key.
func (d *Door) caller(r *http.Request, write bool) (auth.Principal, error) {
	key := r.FormValue("api_key")
	if key == "" && !write {
		return Anonymous, nil
	}
	k, err := d.keys.Check(r.Context(), key)
	if err != nil {
		return auth.Principal{}, err
	}
	return k.Principal(), nil
}

// prepare checks what every route checks: the caller, the route's row in
// the policy, and the jurisdiction.
func (d *Door) prepare(w http.ResponseWriter, r *http.Request, format, pattern string, write bool) (context.Context, context.CancelFunc, bool) {
	r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
	if err := r.ParseForm(); err != nil {
		d.fail(w, r, format, badField("body", "is not a form (application/x-www-form-urlencoded) of at most 64 KiB"))
		return nil, nil, false
	}
	p, err := d.caller(r, write)
	if err == nil {
		err = policy.CheckRoute(p, policy.Route(policy.Open311, pattern))
	}
	if err == nil {
		if j := r.FormValue("jurisdiction_id"); j != "" && j != d.opts.Jurisdiction {
			err = fault.NotFoundf("", "jurisdiction_id %q is not served here", j)
		}
	}
	if err != nil {
		d.fail(w, r, format, err)
		return nil, nil, false
	}
	tok, err := d.minter.Token(p)
	if err != nil {
		d.fail(w, r, format, err)
		return nil, nil, false
	}
	ctx, cancel := context.WithTimeout(r.Context(), d.opts.CallTimeout)
	return metadata.AppendToOutgoingContext(ctx, "authorization", "Bearer "+tok), cancel, true
}

func badField(field, reason string) error {
	var vs fault.Violations
	vs.Add(field, "%s", reason)
	return vs.Err()
}

// Service is one Open311 service.
type Service struct {
	XMLName     xml.Name `json:"-" xml:"service"`
	ServiceCode string   `json:"service_code" xml:"service_code"`
	ServiceName string   `json:"service_name" xml:"service_name"`
	Description string   `json:"description" xml:"description"`
	Metadata    bool     `json:"metadata" xml:"metadata"`
	Type        string   `json:"type" xml:"type"`
	Keywords    string   `json:"keywords" xml:"keywords"`
	Group       string   `json:"group" xml:"group"`
}

type servicesXML struct {
	XMLName  xml.Name  `xml:"services"`
	Services []Service `xml:"service"`
}

// catalogue lists the urban-management tree's items (the services the
// public may ask for), each with its class as group.
func (d *Door) catalogue(ctx context.Context) ([]Service, error) {
	var items []*classifyv1.CatalogueItem
	tok := ""
	for {
		resp, err := d.b.Classify.ListCatalogue(ctx, &classifyv1.ListCatalogueRequest{Tree: classifyv1.CatalogueTree_CATALOGUE_TREE_URBAN,
			PageSize: 500, PageToken: tok})
		if err != nil {
			return nil, err
		}
		items = append(items, resp.GetItems()...)
		if tok = resp.GetNextPageToken(); tok == "" {
			break
		}
	}
	class := map[string]string{}
	for _, it := range items {
		if it.GetIsClass() {
			class[it.GetCode()] = it.GetName()
		}
	}
	out := []Service{}
	for _, it := range items {
		if it.GetIsClass() {
			continue
		}
		out = append(out, Service{ServiceCode: it.GetCode(), ServiceName: it.GetName(), Description: it.GetName(),
			Metadata: false, Type: "realtime", Keywords: strings.Join(it.GetSynonyms(), ","), Group: class[it.GetParent()]})
	}
	return out, nil
}

func (d *Door) services(format string) http.HandlerFunc {
	pattern := "GET " + Prefix + "services." + format
	return func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel, ok := d.prepare(w, r, format, pattern, false)
		if !ok {
			return
		}
		defer cancel()
		list, err := d.catalogue(ctx)
		if err != nil {
			d.fail(w, r, format, err)
			return
		}
		d.write(w, r, format, http.StatusOK, list, servicesXML{Services: list})
	}
}

// Definition is a service's definition: gridflow's services take no
// attributes beyond the description (metadata is false for all).
type Definition struct {
	XMLName     xml.Name   `json:"-" xml:"service_definition"`
	ServiceCode string     `json:"service_code" xml:"service_code"`
	Attributes  []struct{} `json:"attributes" xml:"attributes"`
}

func (d *Door) service(w http.ResponseWriter, r *http.Request, code, format string) {
	ctx, cancel, ok := d.prepare(w, r, format, "GET "+Prefix+"services/{file}", false)
	if !ok {
		return
	}
	defer cancel()
	list, err := d.catalogue(ctx)
	if err != nil {
		d.fail(w, r, format, err)
		return
	}
	for _, s := range list {
		if s.ServiceCode == code {
			def := Definition{ServiceCode: code, Attributes: []struct{}{}}
			d.write(w, r, format, http.StatusOK, def, def)
			return
		}
	}
	d.fail(w, r, format, fault.NotFoundf("", "service_code %q is not a service", code))
}

// Created is a POST's answer.
type Created struct {
	XMLName          xml.Name `json:"-" xml:"request"`
	ServiceRequestID string   `json:"service_request_id" xml:"service_request_id"`
	ServiceNotice    string   `json:"service_notice" xml:"service_notice"`
}

type createdXML struct {
	XMLName  xml.Name  `xml:"service_requests"`
	Requests []Created `xml:"request"`
}

func (d *Door) submit(format string) http.HandlerFunc {
	pattern := "POST " + Prefix + "requests." + format
	return func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel, ok := d.prepare(w, r, format, pattern, true)
		if !ok {
			return
		}
		defer cancel()
		req := &intakev1.PublicRequest{RequestId: "o311-" + uuid.NewString(), ServiceCode: r.PostFormValue("service_code"),
			Description: r.PostFormValue("description"), Address: r.PostFormValue("address_string"), MediaUrl: r.PostFormValue("media_url")}
		var vs fault.Violations
		lat, latErr := strconv.ParseFloat(r.PostFormValue("lat"), 64)
		lng, lngErr := strconv.ParseFloat(r.PostFormValue("long"), 64)
		switch {
		case r.PostFormValue("lat") == "" && r.PostFormValue("long") == "":
			vs.Add("lat", "lat and long are required: this city places a request by its point")
		case latErr != nil || lat < -90 || lat > 90:
			vs.Add("lat", "is not a latitude")
		case lngErr != nil || lng < -180 || lng > 180:
			vs.Add("long", "is not a longitude")
		default:
			req.Location = &typesv1.LatLng{Lat: lat, Lng: lng, Datum: typesv1.Datum_DATUM_WGS84}
		}
		if err := vs.Err(); err != nil {
			d.fail(w, r, format, err)
			return
		}
		resp, err := d.b.Intake.SubmitPublicRequest(ctx, &intakev1.SubmitPublicRequestRequest{Request: req})
		if err != nil {
			d.fail(w, r, format, err)
			return
		}
		c := Created{ServiceRequestID: resp.GetCaseNumber(), ServiceNotice: "已受理，案件编号 " + resp.GetCaseNumber()}
		d.write(w, r, format, http.StatusCreated, []Created{c}, createdXML{Requests: []Created{c}})
	}
}

// Request is one Open311 service request. Nullable fields are pointers: the
// schema's null, the XML's empty element.
type Request struct {
	XMLName           xml.Name `json:"-" xml:"request"`
	ServiceRequestID  string   `json:"service_request_id" xml:"service_request_id"`
	Status            string   `json:"status" xml:"status"`
	StatusNotes       *string  `json:"status_notes" xml:"status_notes"`
	ServiceName       *string  `json:"service_name" xml:"service_name"`
	ServiceCode       string   `json:"service_code" xml:"service_code"`
	Description       *string  `json:"description" xml:"description"`
	AgencyResponsible *string  `json:"agency_responsible" xml:"agency_responsible"`
	ServiceNotice     *string  `json:"service_notice" xml:"service_notice"`
	RequestedDatetime string   `json:"requested_datetime" xml:"requested_datetime"`
	UpdatedDatetime   *string  `json:"updated_datetime" xml:"updated_datetime"`
	ExpectedDatetime  *string  `json:"expected_datetime" xml:"expected_datetime"`
	Address           *string  `json:"address" xml:"address"`
	AddressID         *string  `json:"address_id" xml:"address_id"`
	Zipcode           *string  `json:"zipcode" xml:"zipcode"`
	Lat               *float64 `json:"lat" xml:"lat"`
	Long              *float64 `json:"long" xml:"long"`
	MediaURL          *string  `json:"media_url" xml:"media_url"`
}

type requestsXML struct {
	XMLName  xml.Name  `xml:"service_requests"`
	Requests []Request `xml:"request"`
}

var shanghai = func() *time.Location {
	l, err := time.LoadLocation("Asia/Shanghai")
	if err != nil {
		return time.FixedZone("CST", 8*3600)
	}
	return l
}()

// w3c formats a time as W3C (RFC 3339) with the city's zone.
func w3c(ts *timestamppb.Timestamp) string { return ts.AsTime().In(shanghai).Format(time.RFC3339) }

func ptr[T any](v T) *T { return &v }

func nonEmpty(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

// requestOf is what Open311 shows of a public case.
func (d *Door) requestOf(c *feedbackv1.PublicCase, names map[string]string) Request {
	out := Request{ServiceRequestID: c.GetCaseNumber(), Status: "open", ServiceCode: c.GetServiceCode(),
		Description: ptr(redact.Text(c.GetDescription())), RequestedDatetime: w3c(c.GetReceivedAt())}
	if c.GetClosed() {
		out.Status = "closed"
	}
	if c.GetUpdatedAt() != nil {
		out.UpdatedDatetime = ptr(w3c(c.GetUpdatedAt()))
	}
	// The photo the submitter linked to, echoed: intake takes only an http(s)
	// URL as media_url (the public uploads nothing through the door), and
	// feedback answers no other.
	out.MediaURL = nonEmpty(c.GetMediaUrl())
	// The public reply, or the reason a case was closed without one.
	out.StatusNotes = nonEmpty(redact.Text(c.GetReply()))
	if out.StatusNotes == nil {
		out.StatusNotes = nonEmpty(redact.Text(c.GetStateReason()))
	}
	if n, ok := names[c.GetServiceCode()]; ok {
		out.ServiceName = &n
	}
	ref := d.opts.Reference()
	if dep, ok := ref.Department(c.GetLeadDepartmentCode()); ok {
		out.AgencyResponsible = &dep.Name
	}
	// The street, no finer: district and street names from the reference
	// data (the submitter's own words may hold a house number).
	var parts []string
	for _, code := range []string{c.GetArea().GetDistrictCode(), c.GetArea().GetStreetCode()} {
		if a, ok := ref.Area(code); ok {
			parts = append(parts, a.Name)
		}
	}
	out.Address = nonEmpty(strings.Join(parts, ""))
	if l := c.GetLocation(); l != nil {
		out.Lat, out.Long = ptr(l.GetLat()), ptr(l.GetLng())
	}
	return out
}

// names maps service codes to names, for service_name.
func (d *Door) names(ctx context.Context) map[string]string {
	list, err := d.catalogue(ctx)
	out := map[string]string{}
	if err != nil {
		d.log.WarnContext(ctx, "open311: catalogue unavailable for service names", "err", err)
		return out
	}
	for _, s := range list {
		out[s.ServiceCode] = s.ServiceName
	}
	return out
}

// MaxRequests is the most one GET requests answers (the spec's 1000), and
// DefaultSpan the window it covers without dates (the spec's 90 days).
const (
	MaxRequests = 1000
	DefaultSpan = 90 * 24 * time.Hour
)

func (d *Door) requests(format string) http.HandlerFunc {
	pattern := "GET " + Prefix + "requests." + format
	return func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel, ok := d.prepare(w, r, format, pattern, false)
		if !ok {
			return
		}
		defer cancel()
		req := &feedbackv1.ListPublicCasesRequest{ServiceCode: r.FormValue("service_code"), PageSize: 500}
		var vs fault.Violations
		if ids := r.FormValue("service_request_id"); ids != "" {
			// The spec: ids override every other argument.
			req = &feedbackv1.ListPublicCasesRequest{PageSize: 500}
			for _, id := range strings.Split(ids, ",") {
				if id = strings.TrimSpace(id); id != "" {
					req.CaseIds = append(req.CaseIds, id)
				}
			}
		} else {
			now := time.Now()
			from, to := now.Add(-DefaultSpan), now.Add(time.Minute)
			if s := r.FormValue("start_date"); s != "" {
				t, err := time.Parse(time.RFC3339, s)
				if err != nil {
					vs.Add("start_date", "is not a W3C date-time with a zone (2026-11-20T22:40:00+08:00)")
				}
				from = t
			}
			if s := r.FormValue("end_date"); s != "" {
				t, err := time.Parse(time.RFC3339, s)
				if err != nil {
					vs.Add("end_date", "is not a W3C date-time with a zone (2026-11-20T22:40:00+08:00)")
				}
				to = t
			}
			if len(vs) == 0 && !to.After(from) {
				vs.Add("end_date", "is not after start_date")
			}
			req.ReceivedFrom, req.ReceivedTo = timestamppb.New(from), timestamppb.New(to)
			switch r.FormValue("status") {
			case "":
			case "open":
				req.Status = feedbackv1.PublicStatus_PUBLIC_STATUS_OPEN
			case "closed":
				req.Status = feedbackv1.PublicStatus_PUBLIC_STATUS_CLOSED
			default:
				vs.Add("status", "is open or closed")
			}
		}
		if err := vs.Err(); err != nil {
			d.fail(w, r, format, err)
			return
		}
		var cases []*feedbackv1.PublicCase
		for len(cases) < MaxRequests {
			resp, err := d.b.Feedback.ListPublicCases(ctx, req)
			if err != nil {
				d.fail(w, r, format, err)
				return
			}
			cases = append(cases, resp.GetCases()...)
			if req.PageToken = resp.GetNextPageToken(); req.PageToken == "" {
				break
			}
		}
		cases = cases[:min(len(cases), MaxRequests)]
		names := d.names(ctx)
		out := make([]Request, 0, len(cases))
		for _, c := range cases {
			out = append(out, d.requestOf(c, names))
		}
		d.write(w, r, format, http.StatusOK, out, requestsXML{Requests: out})
	}
}

func (d *Door) request(w http.ResponseWriter, r *http.Request, id, format string) {
	ctx, cancel, ok := d.prepare(w, r, format, "GET "+Prefix+"requests/{file}", false)
	if !ok {
		return
	}
	defer cancel()
	resp, err := d.b.Feedback.GetPublicCase(ctx, &feedbackv1.GetPublicCaseRequest{CaseId: id})
	if status.Code(err) == codes.PermissionDenied {
		// Not a public request (a 12345 case, say) or none at all: the
		// public learns which of the two it is no more than anyone.
		err = fault.NotFoundf("", "service_request_id %q is not a public request", id)
	}
	if err != nil {
		d.fail(w, r, format, err)
		return
	}
	one := []Request{d.requestOf(resp.GetCase(), d.names(ctx))}
	d.write(w, r, format, http.StatusOK, one, requestsXML{Requests: one})
}

// Error is one entry of the spec's error list.
type Error struct {
	XMLName     xml.Name `json:"-" xml:"error"`
	Code        int      `json:"code" xml:"code"`
	Description string   `json:"description" xml:"description"`
}

type errorsXML struct {
	XMLName xml.Name `xml:"errors"`
	Errors  []Error  `xml:"error"`
}

var statusOf = map[fault.Kind]int{
	fault.InvalidArgument: http.StatusBadRequest, fault.NotFound: http.StatusNotFound, fault.AlreadyExists: http.StatusConflict,
	fault.FailedPrecondition: http.StatusBadRequest, fault.PermissionDenied: http.StatusForbidden,
	fault.Unauthenticated: http.StatusUnauthorized, fault.Unavailable: http.StatusServiceUnavailable,
}

var grpcStatus = map[codes.Code]int{
	codes.InvalidArgument: http.StatusBadRequest, codes.NotFound: http.StatusNotFound, codes.AlreadyExists: http.StatusConflict,
	codes.FailedPrecondition: http.StatusBadRequest, codes.PermissionDenied: http.StatusForbidden,
	codes.Unauthenticated: http.StatusUnauthorized, codes.ResourceExhausted: http.StatusTooManyRequests,
	codes.Unavailable: http.StatusServiceUnavailable, codes.DeadlineExceeded: http.StatusServiceUnavailable,
}

// openField is the Open311 parameter a service's field is.
var openField = map[string]string{"request.service_code": "service_code", "request.description": "description",
	"request.location": "lat", "request.address": "address_string", "request.media_url": "media_url"}

// fail is the door's one error boundary: the spec's error list, one entry
// per field at fault, with the HTTP status as its code. Internal errors are
// logged and answered without their text.
func (d *Door) fail(w http.ResponseWriter, r *http.Request, format string, err error) {
	code, list := http.StatusInternalServerError, []Error(nil)
	var f *fault.Error
	if st, ok := status.FromError(err); ok {
		if c, ok := grpcStatus[st.Code()]; ok {
			code = c
			for _, det := range st.Details() {
				if br, ok := det.(*errdetails.BadRequest); ok {
					for _, v := range br.GetFieldViolations() {
						list = append(list, Error{Code: code, Description: fieldName(v.GetField()) + ": " + v.GetDescription()})
					}
				}
			}
			if len(list) == 0 {
				list = []Error{{Code: code, Description: st.Message()}}
			}
		}
	} else if errors.As(err, &f) {
		if c, ok := statusOf[f.Kind]; ok {
			code = c
			for _, v := range f.Violations {
				list = append(list, Error{Code: code, Description: v.Field + ": " + v.Reason})
			}
			if len(list) == 0 {
				list = []Error{{Code: code, Description: f.Message}}
			}
		}
	}
	if code == http.StatusInternalServerError {
		d.log.ErrorContext(r.Context(), "open311: request failed", "path", r.URL.Path, "err", err)
		list = []Error{{Code: code, Description: "internal error"}}
	}
	d.write(w, r, format, code, list, errorsXML{Errors: list})
}

func fieldName(f string) string {
	if n, ok := openField[f]; ok {
		return n
	}
	return f
}

// write answers v as JSON, or x as XML, with status.
func (d *Door) write(w http.ResponseWriter, r *http.Request, format string, code int, v, x any) {
	var b []byte
	var err error
	if format == "json" {
		w.Header().Set("Content-Type", "application/json; charset=utf-8")
		b, err = json.Marshal(v)
	} else {
		w.Header().Set("Content-Type", "text/xml; charset=utf-8")
		b, err = xml.Marshal(x)
		b = append([]byte(xml.Header), b...)
	}
	if err != nil {
		d.log.ErrorContext(r.Context(), "open311: encode failed", "err", err)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	w.WriteHeader(code)
	_, _ = w.Write(b)
}
