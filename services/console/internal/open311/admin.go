package open311

import (
	"encoding/json"
	"net/http"
	"strings"

	"github.com/gridflow/gridflow/pkg/auth"
	"github.com/gridflow/gridflow/pkg/fault"
	"github.com/gridflow/gridflow/pkg/policy"
)

// The keys' admin API, JSON beside the console's accounts API (gridctl
// open311 key): a bearer token of admin, checked like every service checks
// tokens.
//
//	GET  /api/admin/open311/keys                   → {"keys": [...]}
//	POST /api/admin/open311/keys {"name"}          → 201 {"key": {...}, "api_key": "o311_…"} (shown once)
//	POST /api/admin/open311/keys/{key_id}/revoke   → 204
func (d *Door) adminRoutes() {
	d.admin("GET /api/admin/open311/keys", func(w http.ResponseWriter, r *http.Request, _ auth.Principal) error {
		keys, err := d.keys.Store.ListKeys(r.Context())
		if err != nil {
			return err
		}
		if keys == nil {
			keys = []Key{}
		}
		return writeJSON(w, http.StatusOK, map[string]any{"keys": keys})
	})
	d.admin("POST /api/admin/open311/keys", func(w http.ResponseWriter, r *http.Request, by auth.Principal) error {
		var req struct {
			Name string `json:"name"`
		}
		dec := json.NewDecoder(r.Body)
		dec.DisallowUnknownFields()
		if err := dec.Decode(&req); err != nil {
			return badField("body", "is not the JSON object {\"name\": …}")
		}
		k, key, err := d.keys.Issue(r.Context(), req.Name, by)
		if err != nil {
			return err
		}
		d.log.InfoContext(r.Context(), "open311 key issued", "key_id", k.ID, "name", k.Name, "by", by.Actor())
		return writeJSON(w, http.StatusCreated, map[string]any{"key": k, "api_key": key})
	})
	d.admin("POST /api/admin/open311/keys/{key_id}/revoke", func(w http.ResponseWriter, r *http.Request, by auth.Principal) error {
		id := r.PathValue("key_id")
		if err := d.keys.Store.RevokeKey(r.Context(), id, d.keys.Now().UTC()); err != nil {
			return err
		}
		d.log.InfoContext(r.Context(), "open311 key revoked", "key_id", id, "by", by.Actor())
		w.WriteHeader(http.StatusNoContent)
		return nil
	})
}

func (d *Door) admin(pattern string, h func(w http.ResponseWriter, r *http.Request, by auth.Principal) error) {
	route := policy.Route(policy.Open311, pattern)
	d.route(pattern, func(w http.ResponseWriter, r *http.Request) {
		err := func() error {
			token, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
			if !ok || token == "" {
				return fault.New(fault.Unauthenticated, "missing bearer token (authorization: Bearer <admin token>)")
			}
			p, err := d.verifier.Verify(token)
			if err != nil {
				return fault.New(fault.Unauthenticated, "%s", err.Error())
			}
			if err := policy.CheckRoute(p, route); err != nil {
				return err
			}
			r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
			return h(w, r, p)
		}()
		if err != nil {
			d.fail(w, r, "json", err)
		}
	})
}

func writeJSON(w http.ResponseWriter, code int, v any) error {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(code)
	return json.NewEncoder(w).Encode(v)
}
