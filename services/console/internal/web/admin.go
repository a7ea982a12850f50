package web

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/gridflow/gridflow/pkg/auth"
	"github.com/gridflow/gridflow/pkg/fault"
	"github.com/gridflow/gridflow/pkg/policy"
	"github.com/gridflow/gridflow/services/console/internal/accounts"
)

// The admin API: JSON over the console's HTTP port, for gridctl user.
// Every call carries `authorization: Bearer <token>` of the admin
// principal, checked against the same key set and deny list the services
// use (GRIDFLOW_AUTH_KEY_DIR, GRIDFLOW_AUTH_DENY_LIST_FILE), so managing
// accounts needs exactly what calling the services as admin needs, and the
// admin's actor (with the person, when the token names one) is stored as
// who last changed each account. There are no cookies here, hence no CSRF.
//
//	GET  /api/admin/accounts                       → {"accounts": [...]}
//	POST /api/admin/accounts                       {"person_id","name","principal","password"} → 201 {"account"}
//	POST /api/admin/accounts/{person_id}/disable   → 204
//	POST /api/admin/accounts/{person_id}/enable    → 204
//	POST /api/admin/accounts/{person_id}/password  {"password"} → 204
//
// Refusals are {"code", "message", "field_violations": [{"field", "description"}]}
// with the gRPC code's name and its HTTP status.
func (s *Server) adminRoutes() {
	s.api("GET /api/admin/accounts", s.listAccounts)
	s.api("POST /api/admin/accounts", s.addAccount)
	s.api("POST /api/admin/accounts/{person_id}/disable", s.setEnabled(false))
	s.api("POST /api/admin/accounts/{person_id}/enable", s.setEnabled(true))
	s.api("POST /api/admin/accounts/{person_id}/password", s.resetPassword)
}

// AccountJSON is an account as the admin API shows it (never its hash).
type AccountJSON struct {
	PersonID  string    `json:"person_id"`
	Name      string    `json:"name"`
	Principal string    `json:"principal"`
	Enabled   bool      `json:"enabled"`
	UpdatedBy string    `json:"updated_by"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
}

func accountJSON(a accounts.Account) AccountJSON {
	return AccountJSON{PersonID: a.PersonID, Name: a.Name, Principal: a.Principal.String(), Enabled: a.Enabled,
		UpdatedBy: a.UpdatedBy, CreatedAt: a.CreatedAt, UpdatedAt: a.UpdatedAt}
}

type adminHandler func(w http.ResponseWriter, r *http.Request, by auth.Principal) error

// api registers an admin API route: a bearer token whose principal
// pkg/policy admits to the route (admin).
func (s *Server) api(pattern string, h adminHandler) {
	s.handle(pattern, s.admin(policy.Route(policy.Console, pattern), h))
}

// admin admits a bearer token whose principal the policy admits to route.
func (s *Server) admin(route string, h adminHandler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		token, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		if !ok || token == "" {
			s.apiError(w, r, fault.New(fault.Unauthenticated, "missing bearer token (authorization: Bearer <admin token>)"))
			return
		}
		p, err := s.verifier.Verify(token)
		if err != nil {
			s.apiError(w, r, fault.New(fault.Unauthenticated, "%s", err.Error()))
			return
		}
		if err := policy.CheckRoute(p, route); err != nil {
			s.apiError(w, r, err)
			return
		}
		r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
		if err := h(w, r, p); err != nil {
			s.apiError(w, r, err)
		}
	})
}

func (s *Server) listAccounts(w http.ResponseWriter, r *http.Request, _ auth.Principal) error {
	list, err := s.accounts.List(r.Context())
	if err != nil {
		return err
	}
	out := struct {
		Accounts []AccountJSON `json:"accounts"`
	}{Accounts: []AccountJSON{}}
	for _, a := range list {
		out.Accounts = append(out.Accounts, accountJSON(a))
	}
	return writeJSON(w, http.StatusOK, out)
}

// AddAccountRequest is POST /api/admin/accounts's body.
type AddAccountRequest struct {
	PersonID  string `json:"person_id"`
	Name      string `json:"name"`
	Principal string `json:"principal"`
	Password  string `json:"password"`
}

func (s *Server) addAccount(w http.ResponseWriter, r *http.Request, by auth.Principal) error {
	var req AddAccountRequest
	if err := decode(r.Body, &req); err != nil {
		return err
	}
	a, err := s.accounts.Add(r.Context(), accounts.NewAccount(req), by.Actor())
	if err != nil {
		return err
	}
	s.log.InfoContext(r.Context(), "account added", "person_id", a.PersonID, "principal", a.Principal.String(), "by", by.Actor())
	return writeJSON(w, http.StatusCreated, struct {
		Account AccountJSON `json:"account"`
	}{accountJSON(a)})
}

func (s *Server) setEnabled(enabled bool) adminHandler {
	return func(w http.ResponseWriter, r *http.Request, by auth.Principal) error {
		id := r.PathValue("person_id")
		if err := s.accounts.SetEnabled(r.Context(), id, enabled, by.Actor()); err != nil {
			return err
		}
		s.log.InfoContext(r.Context(), "account changed", "person_id", id, "enabled", enabled, "by", by.Actor())
		w.WriteHeader(http.StatusNoContent)
		return nil
	}
}

// ResetPasswordRequest is POST …/password's body.
type ResetPasswordRequest struct {
	Password string `json:"password"`
}

func (s *Server) resetPassword(w http.ResponseWriter, r *http.Request, by auth.Principal) error {
	var req ResetPasswordRequest
	if err := decode(r.Body, &req); err != nil {
		return err
	}
	id := r.PathValue("person_id")
	if err := s.accounts.Reset(r.Context(), id, req.Password, by.Actor()); err != nil {
		return err
	}
	s.log.InfoContext(r.Context(), "account password reset", "person_id", id, "by", by.Actor())
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// decode reads one JSON object, refusing unknown fields and trailing data.
func decode(body io.Reader, v any) error {
	dec := json.NewDecoder(body)
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		var vs fault.Violations
		vs.Add("body", "not the expected JSON object: %v", err)
		return vs.Err()
	}
	if dec.More() {
		var vs fault.Violations
		vs.Add("body", "has data after the JSON object")
		return vs.Err()
	}
	return nil
}

// APIError is the admin API's refusal.
type APIError struct {
	Code            string           `json:"code"`
	Message         string           `json:"message"`
	FieldViolations []FieldViolation `json:"field_violations,omitempty"`
}

// FieldViolation is one field at fault.
type FieldViolation struct {
	Field       string `json:"field"`
	Description string `json:"description"`
}

var apiCodes = map[fault.Kind]struct {
	name   string
	status int
}{
	fault.InvalidArgument: {"INVALID_ARGUMENT", http.StatusBadRequest}, fault.NotFound: {"NOT_FOUND", http.StatusNotFound},
	fault.AlreadyExists: {"ALREADY_EXISTS", http.StatusConflict}, fault.FailedPrecondition: {"FAILED_PRECONDITION", http.StatusBadRequest},
	fault.PermissionDenied: {"PERMISSION_DENIED", http.StatusForbidden}, fault.Unauthenticated: {"UNAUTHENTICATED", http.StatusUnauthorized},
	fault.Unavailable: {"UNAVAILABLE", http.StatusServiceUnavailable},
}

// apiError is the admin API's one error boundary: a fault's kind picks
// the code, anything else is logged and answered INTERNAL without its text.
func (s *Server) apiError(w http.ResponseWriter, r *http.Request, err error) {
	var f *fault.Error
	code, ok := apiCodes[fault.KindOf(err)]
	if !ok || !errors.As(err, &f) {
		s.log.ErrorContext(r.Context(), "admin API failed", "path", r.URL.Path, "err", err)
		_ = writeJSON(w, http.StatusInternalServerError, APIError{Code: "INTERNAL", Message: "internal error"})
		return
	}
	out := APIError{Code: code.name, Message: f.Message}
	for _, v := range f.Violations {
		out.FieldViolations = append(out.FieldViolations, FieldViolation{Field: v.Field, Description: v.Reason})
	}
	_ = writeJSON(w, code.status, out)
}

func writeJSON(w http.ResponseWriter, status int, v any) error {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	return json.NewEncoder(w).Encode(v)
}
