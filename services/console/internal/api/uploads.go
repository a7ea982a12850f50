package api

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"mime"
	"net/http"
	"net/url"
	"path"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/gabriel-vasile/mimetype"
	"github.com/gridflow/gridflow/pkg/auth"
	"github.com/gridflow/gridflow/pkg/fault"
	"github.com/gridflow/gridflow/pkg/freetext"
	"github.com/gridflow/gridflow/pkg/policy"
	dispatchv1 "github.com/gridflow/gridflow/proto/gen/go/gridflow/dispatch/v1"
	feedbackv1 "github.com/gridflow/gridflow/proto/gen/go/gridflow/feedback/v1"
	intakev1 "github.com/gridflow/gridflow/proto/gen/go/gridflow/intake/v1"
	typesv1 "github.com/gridflow/gridflow/proto/gen/go/gridflow/types/v1"
	"github.com/gridflow/gridflow/services/console/internal/objects"
)

// Uploads. A phone or a department's system uploads a photo or a piece of
// evidence first, gets back an attachment whose uri is "gridflow-upload:<key>"
// (key: 128 random bits, hex), and refers to it where the RPCs take
// attachments: SubmitWorkOrder's attachments, SubmitPatrolReport's photos,
// CompleteTask's evidence (the uri as the reference). Nothing binds an upload
// to a case at upload time — the case does not exist yet — so reading is
// decided when the bytes are asked for:
//
//   - GET /api/v1/uploads/{key}: the uploader alone (the same principal),
//     to show what it just sent; anyone else is PERMISSION_DENIED, whether
//     the key exists or not (admin is told NOT_FOUND);
//   - GET /api/v1/cases/{case_number}/attachments/{key}: whoever's read of
//     the case shows the upload, asked as the caller through the service
//     that owns the reference — intake's GetSubmission (a work order's
//     attachments, a patrol report's photos) for those who read
//     submissions, dispatch's ListTasks (the case's attachments as the task
//     shows them, a completion's evidence) for departments and dispatchers,
//     feedback's ListReplies (each unit's result and evidence in the reply)
//     for the hotline, which answers the citizen and lists no tasks —
//     so the service's own scope decides, and a case the caller may not read
//     is refused as the service refuses it.
//
// An upload is checked before it is stored: at most MaxUploadBytes, not
// empty, and its content — sniffed from the bytes; the file name and the
// declared Content-Type are never trusted — one of UploadTypes. The name is
// kept (free text, checked) and served back only in Content-Disposition.

// URIScheme prefixes an upload's key in the attachment that refers to it.
const URIScheme = "gridflow-upload:"

var keyRE = regexp.MustCompile(`^[0-9a-f]{32}$`)

// maxNameRunes bounds an upload's name, as intake bounds an attachment's.
const maxNameRunes = 200

// Upload is POST /api/v1/uploads's answer.
type Upload struct {
	// Attachment is what to put in a request's attachments or photos (its
	// uri alone in CompleteTask's evidence).
	Attachment attachmentJSON `json:"attachment"`
	Key        string         `json:"key"`
	Size       int64          `json:"size,string"`
	SHA256     string         `json:"sha256"`
}

type attachmentJSON struct {
	URI       string `json:"uri"`
	MediaType string `json:"media_type"`
	Name      string `json:"name,omitempty"`
}

// Object metadata keys.
const (
	metaOwner = "owner"
	metaName  = "name"
)

func (s *Server) upload(w http.ResponseWriter, r *http.Request, c caller) {
	// The body may carry a multipart envelope around the file: allow for
	// it here and bound the file itself below.
	r.Body = http.MaxBytesReader(w, r.Body, s.opts.MaxUploadBytes+64<<10)
	body, name, err := s.readUpload(r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	var v fault.Violations
	freetext.Check("name", name, maxNameRunes, false, &v)
	if strings.ContainsAny(name, `/\`) {
		v.Add("name", "must be a file name, without a directory")
	}
	mt := mimetype.Detect(body)
	allowed := slices.ContainsFunc(s.opts.UploadTypes, func(t string) bool { return mt.Is(t) })
	switch {
	case len(body) == 0:
		v.Add("file", "is empty")
	case !allowed:
		v.Add("file", "content is %s, not one of %s (the content decides, not the name or the declared type)",
			mt.String(), strings.Join(s.opts.UploadTypes, ", "))
	}
	if err := v.Err(); err != nil {
		s.fail(w, r, err)
		return
	}
	mediaType, _, _ := mime.ParseMediaType(mt.String())
	for _, t := range s.opts.UploadTypes {
		if mt.Is(t) {
			mediaType = t // the configured name of an alias (image/heif for heic …)
			break
		}
	}
	key, err := newKey()
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if err := s.store.Put(r.Context(), objects.Object{Key: key, ContentType: mediaType, Body: body,
		Meta: map[string]string{metaOwner: c.Principal.String(), metaName: name}}); err != nil {
		s.fail(w, r, err)
		return
	}
	sum := sha256.Sum256(body)
	s.log.InfoContext(r.Context(), "upload stored", "key", key, "by", c.Principal.String(), "media_type", mediaType, "size", len(body))
	writeJSON(w, http.StatusCreated, Upload{Attachment: attachmentJSON{URI: URIScheme + key, MediaType: mediaType, Name: name},
		Key: key, Size: int64(len(body)), SHA256: hex.EncodeToString(sum[:])})
}

// readUpload reads the file of a multipart form (its field "file") or the
// raw body (named by ?name=), refusing more than MaxUploadBytes.
func (s *Server) readUpload(r *http.Request) ([]byte, string, error) {
	ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	src, name := io.Reader(r.Body), r.URL.Query().Get("name")
	if ct == "multipart/form-data" {
		mr, err := r.MultipartReader()
		if err != nil {
			return nil, "", badField("body", "is not a multipart form: %v", err)
		}
		for {
			part, err := mr.NextPart()
			if errors.Is(err, io.EOF) {
				return nil, "", badField("file", "is required (a multipart field named \"file\")")
			}
			if err != nil {
				return nil, "", tooLargeOr(err, s.opts.MaxUploadBytes, badField("body", "is not a readable multipart form: %v", err))
			}
			if part.FormName() == "file" {
				src = part
				if name == "" {
					name = path.Base(part.FileName())
					if name == "." || name == "/" {
						name = ""
					}
				}
				break
			}
		}
	}
	body, err := io.ReadAll(io.LimitReader(src, s.opts.MaxUploadBytes+1))
	if err != nil {
		return nil, "", tooLargeOr(err, s.opts.MaxUploadBytes, badField("file", "could not be read: %v", err))
	}
	if int64(len(body)) > s.opts.MaxUploadBytes {
		return nil, "", badField("file", "is larger than %d bytes", s.opts.MaxUploadBytes)
	}
	return body, name, nil
}

func tooLargeOr(err error, limit int64, other error) error {
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) {
		return badField("file", "is larger than %d bytes", limit)
	}
	return other
}

func badField(field, format string, args ...any) error {
	var v fault.Violations
	v.Add(field, format, args...)
	return v.Err()
}

func newKey() (string, error) {
	b := make([]byte, 16)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	return hex.EncodeToString(b), nil
}

// ownUpload serves an upload to its uploader.
func (s *Server) ownUpload(w http.ResponseWriter, r *http.Request, c caller) {
	key := r.PathValue("key")
	if !keyRE.MatchString(key) {
		s.fail(w, r, badField("key", "must be an upload key (32 hexadecimal digits)"))
		return
	}
	o, err := s.store.Get(r.Context(), key)
	switch {
	case errors.Is(err, objects.ErrNotFound) && c.Role == auth.RoleAdmin:
		s.fail(w, r, fault.NotFoundf("uploads/"+key, "no upload %s", key))
		return
	case err != nil && !errors.Is(err, objects.ErrNotFound):
		s.fail(w, r, err)
		return
	case err != nil || (o.Meta[metaOwner] != c.Principal.String() && c.Role != auth.RoleAdmin):
		s.fail(w, r, fault.New(fault.PermissionDenied, "%s may read only its own uploads by key; an upload a case refers to is read through the case (GET /api/v1/cases/{case_number}/attachments/{key})", c.Principal))
		return
	}
	serveObject(w, o)
}

// caseAttachment serves an upload the case refers to, when the caller's
// read of the case shows the reference.
func (s *Server) caseAttachment(w http.ResponseWriter, r *http.Request, c caller) {
	number, key := r.PathValue("case_number"), r.PathValue("key")
	if !keyRE.MatchString(key) {
		s.fail(w, r, badField("key", "must be an upload key (32 hexadecimal digits)"))
		return
	}
	ctx, cancel := context.WithTimeout(c.outgoing(r.Context()), s.opts.CallTimeout)
	defer cancel()
	found, err := s.refers(ctx, c.Principal, number, URIScheme+key)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if !found {
		s.fail(w, r, fault.NotFoundf("cases/"+number+"/attachments/"+key, "case %s refers to no upload %s", number, key))
		return
	}
	o, err := s.store.Get(r.Context(), key)
	if errors.Is(err, objects.ErrNotFound) {
		s.fail(w, r, fault.NotFoundf("uploads/"+key, "upload %s is no longer stored", key))
		return
	}
	if err != nil {
		s.fail(w, r, err)
		return
	}
	serveObject(w, o)
}

// refers asks, as the caller, the reads the caller may make whether the
// case refers to uri. A case no read shows to the caller is refused — with
// the service's own refusal when there is one (a malformed number, a case
// outside the scope), else PERMISSION_DENIED — never answered as a case
// without the upload; a case a read shows without uri is (false, nil).
func (s *Server) refers(ctx context.Context, p auth.Principal, number, uri string) (bool, error) {
	var refusal error
	seen := false
	if _, err := policy.Check(p, policy.Method(policy.IntakeService, "GetSubmission")); err == nil {
		resp, err := s.intake.GetSubmission(ctx, &intakev1.GetSubmissionRequest{Key: &intakev1.GetSubmissionRequest_CaseNumber{CaseNumber: number}})
		if err != nil {
			refusal = err
		} else {
			seen = true
			sub := resp.GetSubmission()
			if hasURI(sub.GetWorkOrder().GetAttachments(), uri) || hasURI(sub.GetPatrolReport().GetPhotos(), uri) {
				return true, nil
			}
		}
	}
	if _, err := policy.Check(p, policy.Method(policy.DispatchService, "ListTasks")); err == nil {
		req := &dispatchv1.ListTasksRequest{CaseNumber: number, PageSize: 500}
		for {
			resp, err := s.dispatch.ListTasks(ctx, req)
			if err != nil {
				if refusal == nil {
					refusal = err
				}
				break
			}
			// Lists are filtered by the caller's scope: tasks listed
			// mean the caller sees the case through them.
			seen = seen || len(resp.GetTasks()) > 0
			for _, t := range resp.GetTasks() {
				if hasURI(t.GetCase().GetAttachments(), uri) || slices.Contains(t.GetCompletion().GetEvidence(), uri) {
					return true, nil
				}
			}
			if resp.GetNextPageToken() == "" {
				break
			}
			req.PageToken = resp.GetNextPageToken()
		}
	}
	// Hotline evidence (issue 19): the hotline answers the citizen, and
	// feedback's replies show it each unit's result and its evidence — the
	// hotline lists no tasks, so this is the read that shows it.
	if _, err := policy.Check(p, policy.Method(policy.FeedbackService, "ListReplies")); err == nil {
		inReply, err := s.replyRefers(ctx, number, uri)
		switch {
		case err != nil:
			if refusal == nil {
				refusal = err
			}
		case inReply:
			return true, nil
		default:
			seen = true
		}
	}
	switch {
	case seen:
		return false, nil
	case refusal != nil:
		return false, refusal
	}
	return false, fault.New(fault.PermissionDenied, "%s may not read case %s's attachments", p, number)
}

// replyRefers reports whether a reply of the case, read as the caller,
// shows uri as a unit's evidence.
func (s *Server) replyRefers(ctx context.Context, number, uri string) (bool, error) {
	c, err := s.feedback.GetCase(ctx, &feedbackv1.GetCaseRequest{CaseNumber: number})
	if err != nil {
		return false, err
	}
	req := &feedbackv1.ListRepliesRequest{CaseId: c.GetCase().GetCaseId(), PageSize: 100}
	for {
		resp, err := s.feedback.ListReplies(ctx, req)
		if err != nil {
			return false, err
		}
		for _, r := range resp.GetReplies() {
			for _, res := range r.GetResults() {
				if slices.Contains(res.GetEvidence(), uri) {
					return true, nil
				}
			}
		}
		if resp.GetNextPageToken() == "" {
			return false, nil
		}
		req.PageToken = resp.GetNextPageToken()
	}
}

func hasURI(as []*typesv1.Attachment, uri string) bool {
	return slices.ContainsFunc(as, func(a *typesv1.Attachment) bool { return a.GetUri() == uri })
}

// serveObject writes an upload's bytes as a download: its sniffed type,
// never rendered by the browser as a page of the console's origin.
func serveObject(w http.ResponseWriter, o objects.Object) {
	h := w.Header()
	h.Set("Content-Type", o.ContentType)
	h.Set("Content-Length", strconv.Itoa(len(o.Body)))
	h.Set("Content-Security-Policy", "sandbox; default-src 'none'")
	disp := "attachment"
	if name := o.Meta[metaName]; name != "" {
		disp += "; filename*=UTF-8''" + url.PathEscape(name)
	}
	h.Set("Content-Disposition", disp)
	if len(o.SHA256) > 0 {
		h.Set("ETag", `"`+hex.EncodeToString(o.SHA256)+`"`)
	}
	w.WriteHeader(http.StatusOK)
	_, _ = io.Copy(w, bytes.NewReader(o.Body))
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(v)
}
