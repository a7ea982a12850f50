// Package memstore is an in-memory classify.Store: the domain's unit tests
// run on it, and so does `classify group`, which replays a file of messages
// through the real grouping without a database. Values are kept encoded, so
// what a caller changes is stored only when it saves, and a failed
// transaction leaves nothing behind, as in PostgreSQL.
package memstore

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/gridflow/gridflow/pkg/caseref"
	"github.com/gridflow/gridflow/pkg/fault"
	"github.com/gridflow/gridflow/pkg/idempotency"
	"github.com/gridflow/gridflow/pkg/pagetoken"
	"github.com/gridflow/gridflow/pkg/policy"
	"github.com/gridflow/gridflow/services/classify/internal/classify"
)

// Store implements classify.Store in memory.
type Store struct {
	mu sync.Mutex
	st state
}

type state struct {
	cases       map[string][]byte
	order       []string // case ids in creation order
	versions    map[string][][]byte
	incidents   map[string][]byte
	bySite      map[string]map[string]bool        // site → incident ids
	byCell      map[classify.Cell]map[string]bool // cell → incident ids
	places      map[string][]byte
	timers      map[string]time.Time
	corrections [][]byte
	requests    map[string]storedRequest
	events      []classify.Event
}

// New returns an empty store.
func New() *Store {
	return &Store{st: state{cases: map[string][]byte{}, versions: map[string][][]byte{}, incidents: map[string][]byte{},
		bySite: map[string]map[string]bool{}, byCell: map[classify.Cell]map[string]bool{},
		places: map[string][]byte{}, timers: map[string]time.Time{}, requests: map[string]storedRequest{}}}
}

var _ classify.Store = (*Store)(nil)

// InTx runs fn with the store locked; an error undoes what fn changed.
func (s *Store) InTx(ctx context.Context, fn func(classify.Tx) error) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	t := &tx{s: &s.st}
	if err := fn(t); err != nil {
		for i := len(t.undo) - 1; i >= 0; i-- {
			t.undo[i]()
		}
		return err
	}
	return nil
}

// Events returns every event emitted so far, in order.
func (s *Store) Events() []classify.Event {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.st.events)
}

// DueFallbacks returns the cases whose review timer is due at now.
func (s *Store) DueFallbacks(now time.Time) []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []string
	for id, at := range s.st.timers {
		if !at.After(now) {
			out = append(out, id)
		}
	}
	slices.Sort(out)
	return out
}

// Fallback returns a case's review timer, if armed.
func (s *Store) Fallback(caseID string) (time.Time, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	at, ok := s.st.timers[caseID]
	return at, ok
}

// Incidents returns every incident, oldest first.
func (s *Store) Incidents() []*classify.Incident {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []*classify.Incident
	for _, b := range s.st.incidents {
		out = append(out, decode[classify.Incident](b))
	}
	slices.SortFunc(out, func(a, b *classify.Incident) int {
		return cmp.Or(a.CreatedAt.Compare(b.CreatedAt), cmp.Compare(a.ID, b.ID))
	})
	return out
}

// SourcePlaces returns every source place.
func (s *Store) SourcePlaces() []*classify.SourcePlace {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []*classify.SourcePlace
	for _, b := range s.st.places {
		out = append(out, decode[classify.SourcePlace](b))
	}
	slices.SortFunc(out, func(a, b *classify.SourcePlace) int { return cmp.Compare(a.ID, b.ID) })
	return out
}

// ReceiveFunc is a transactional handler (Service.Receive, ReviewTimedOut).
type ReceiveFunc func(ctx context.Context, tx classify.Tx) error

// Tx runs fn in a transaction: how tests feed events the way the consumer
// runner does.
func (s *Store) Tx(ctx context.Context, fn ReceiveFunc) error {
	return s.InTx(ctx, func(t classify.Tx) error { return fn(ctx, t) })
}

func encode(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err) // domain types always encode
	}
	return b
}

func decode[T any](b []byte) *T {
	var v T
	if err := json.Unmarshal(b, &v); err != nil {
		panic(err)
	}
	return &v
}

type tx struct {
	s *state
	// undo puts back, in reverse order, what the transaction changed.
	undo []func()
}

// keep records how to put m[k] back as it is now.
func keep[V any](t *tx, m map[string]V, k string) {
	old, had := m[k]
	t.undo = append(t.undo, func() {
		if had {
			m[k] = old
		} else {
			delete(m, k)
		}
	})
}

// keepLen records how to cut a slice back to its current length.
func keepLen[V any](t *tx, sl *[]V) {
	n := len(*sl)
	t.undo = append(t.undo, func() { *sl = (*sl)[:n] })
}

func (t *tx) LockGrouping(context.Context) error { return nil }

func (t *tx) LockPlaces(context.Context, []string) error { return nil }

func (t *tx) CreateCase(_ context.Context, r *classify.Record) (bool, error) {
	if _, ok := t.s.cases[r.Case.ID]; ok {
		return false, nil
	}
	keep(t, t.s.cases, r.Case.ID)
	keepLen(t, &t.s.order)
	t.s.cases[r.Case.ID] = encode(r)
	t.s.order = append(t.s.order, r.Case.ID)
	return true, nil
}

func (t *tx) GetCase(_ context.Context, id string) (*classify.Record, error) {
	b, ok := t.s.cases[id]
	if !ok {
		return nil, classify.ErrNotFound
	}
	return decode[classify.Record](b), nil
}

func (t *tx) SaveCase(_ context.Context, r *classify.Record) error {
	if _, ok := t.s.cases[r.Case.ID]; !ok {
		return fmt.Errorf("save case %s: %w", r.Case.ID, classify.ErrNotFound)
	}
	keep(t, t.s.cases, r.Case.ID)
	t.s.cases[r.Case.ID] = encode(r)
	return nil
}

func (t *tx) AddVersion(_ context.Context, c *classify.Classification) error {
	vs := t.s.versions[c.CaseID]
	for _, b := range vs {
		if decode[classify.Classification](b).Version == c.Version {
			return fmt.Errorf("case %s version %d already exists", c.CaseID, c.Version)
		}
	}
	keep(t, t.s.versions, c.CaseID)
	t.s.versions[c.CaseID] = append(slices.Clip(vs), encode(c))
	return nil
}

func (t *tx) FindIncidents(_ context.Context, q classify.IncidentQuery) ([]*classify.Incident, error) {
	ids := map[string]bool{}
	if q.Site != "" {
		for id := range t.s.bySite[q.Site] {
			ids[id] = true
		}
	}
	for _, c := range q.Cells {
		for id := range t.s.byCell[c] {
			ids[id] = true
		}
	}
	var out []*classify.Incident
	for id := range ids {
		inc := decode[classify.Incident](t.s.incidents[id])
		from, to := q.From, q.To
		if q.Others && inc.Subject != q.Subject {
			from, to = q.OthersFrom, q.OthersTo
		} else if q.Subject != "" && inc.Subject != q.Subject {
			continue
		}
		if (q.ExcludeSubject != "" && inc.Subject == q.ExcludeSubject) || inc.LastAt.Before(from) || inc.FirstAt.After(to) {
			continue
		}
		out = append(out, inc)
	}
	slices.SortFunc(out, func(a, b *classify.Incident) int { return cmp.Compare(a.ID, b.ID) })
	return out, nil
}

// index adds (on) or removes an incident's entries in the site and cell
// indexes.
func (t *tx) index(id string, p classify.Place, on bool) {
	if p.Site != "" {
		if t.s.bySite[p.Site] == nil {
			t.s.bySite[p.Site] = map[string]bool{}
		}
		if on {
			t.s.bySite[p.Site][id] = true
		} else {
			delete(t.s.bySite[p.Site], id)
		}
	}
	if p.Cell != nil {
		if t.s.byCell[*p.Cell] == nil {
			t.s.byCell[*p.Cell] = map[string]bool{}
		}
		if on {
			t.s.byCell[*p.Cell][id] = true
		} else {
			delete(t.s.byCell[*p.Cell], id)
		}
	}
}

func (t *tx) GetIncident(_ context.Context, id string) (*classify.Incident, error) {
	b, ok := t.s.incidents[id]
	if !ok {
		return nil, classify.ErrNotFound
	}
	return decode[classify.Incident](b), nil
}

func (t *tx) SaveIncident(_ context.Context, inc *classify.Incident) error {
	var prev *classify.Place
	if b, ok := t.s.incidents[inc.ID]; ok {
		prev = &decode[classify.Incident](b).Place
		t.index(inc.ID, *prev, false)
	}
	next := inc.Place
	t.index(inc.ID, next, true)
	keep(t, t.s.incidents, inc.ID)
	t.undo = append(t.undo, func() {
		t.index(inc.ID, next, false)
		if prev != nil {
			t.index(inc.ID, *prev, true)
		}
	})
	t.s.incidents[inc.ID] = encode(inc)
	return nil
}

func (t *tx) GetSourcePlace(_ context.Context, id string) (*classify.SourcePlace, error) {
	b, ok := t.s.places[id]
	if !ok {
		return nil, classify.ErrNotFound
	}
	return decode[classify.SourcePlace](b), nil
}

func (t *tx) SaveSourcePlace(_ context.Context, p *classify.SourcePlace) error {
	keep(t, t.s.places, p.ID)
	t.s.places[p.ID] = encode(p)
	return nil
}

func (t *tx) ScheduleFallback(_ context.Context, caseID string, at time.Time) error {
	keep(t, t.s.timers, caseID)
	t.s.timers[caseID] = at
	return nil
}

func (t *tx) CancelFallback(_ context.Context, caseID string) error {
	keep(t, t.s.timers, caseID)
	delete(t.s.timers, caseID)
	return nil
}

func (t *tx) AddCorrection(_ context.Context, c *classify.Correction) error {
	keepLen(t, &t.s.corrections)
	t.s.corrections = append(t.s.corrections, encode(c))
	return nil
}

// storedRequest is a first request and its answer. Requests are compared
// as in PostgreSQL, by pkg/idempotency; transactions here run one at a
// time, so a twin always finds its first request done.
type storedRequest struct {
	key    idempotency.Request
	answer classify.StoredRequest
}

func (t *tx) BeginRequest(_ context.Context, req classify.Request) (*classify.StoredRequest, error) {
	key, err := idempotency.NewRequest(req.Principal, req.ID, req.Method, req.Content)
	if err != nil {
		return nil, err
	}
	r, ok := t.s.requests[req.Principal+"\x00"+req.ID]
	if !ok {
		return nil, nil
	}
	if err := idempotency.Check(r.key, key, r.answer.Resource()); err != nil {
		return nil, err
	}
	return &r.answer, nil
}

func (t *tx) SaveRequest(_ context.Context, req classify.Request, r classify.StoredRequest) error {
	key, err := idempotency.NewRequest(req.Principal, req.ID, req.Method, req.Content)
	if err != nil {
		return err
	}
	keep(t, t.s.requests, req.Principal+"\x00"+req.ID)
	t.s.requests[req.Principal+"\x00"+req.ID] = storedRequest{key: key, answer: r}
	return nil
}

func (t *tx) Emit(_ context.Context, evs ...classify.Event) error {
	keepLen(t, &t.s.events)
	t.s.events = append(t.s.events, evs...)
	return nil
}

// ListReviews lists records that entered the review queue, oldest first.
func (s *Store) ListReviews(_ context.Context, f classify.ReviewFilter) ([]*classify.Record, string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var all []*classify.Record
	for _, id := range s.st.order {
		r := decode[classify.Record](s.st.cases[id])
		if r.Review == nil || (!f.IncludeResolved && r.Review.State == classify.ReviewResolved) {
			continue
		}
		if (f.District != "" && r.Case.Area.District != f.District) || (f.Street != "" && r.Case.Area.Street != f.Street) ||
			!f.Scope.AllowsCase(policy.CaseFacts{Source: string(r.Case.Source), District: r.Case.Area.District,
				Street: r.Case.Area.Street, Community: r.Case.Area.Community}) {
			continue
		}
		all = append(all, r)
	}
	return page(all, f.PageSize, f.PageToken)
}

// page reads all by position, with pkg/pagetoken's tokens as the postgres
// store has them.
func page[T any](all []T, size int, token string) ([]T, string, error) {
	off := 0
	if token != "" {
		n, err := pagetoken.DecodeSeq(token)
		if err != nil || n > int64(len(all)) {
			var v fault.Violations
			v.Add("page_token", "is not a token this list returned")
			return nil, "", v.Err()
		}
		off = int(n)
	}
	if size <= 0 {
		size = len(all)
	}
	end := min(off+size, len(all))
	next := ""
	if end < len(all) {
		next = pagetoken.EncodeSeq(int64(end))
	}
	return all[off:end], next, nil
}

// GetRecord reads a case's record.
func (s *Store) GetRecord(_ context.Context, id string) (*classify.Record, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	b, ok := s.st.cases[id]
	if !ok {
		return nil, classify.ErrNotFound
	}
	return decode[classify.Record](b), nil
}

// FindRecord reads a case's record by id, case number or hotline order
// number.
func (s *Store) FindRecord(ctx context.Context, r caseref.Ref) (*classify.Record, error) {
	if r.Kind == caseref.ID {
		return s.GetRecord(ctx, r.Value)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, b := range s.st.cases {
		rec := decode[classify.Record](b)
		if (r.Kind == caseref.Number && rec.Case.Number == r.Value) || (r.Kind == caseref.OrderNo && rec.Case.HotlineOrderNo == r.Value) {
			return rec, nil
		}
	}
	return nil, classify.ErrNotFound
}

// Versions lists a case's classification versions, newest first.
func (s *Store) Versions(_ context.Context, id string) ([]classify.Classification, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []classify.Classification
	for _, b := range s.st.versions[id] {
		out = append(out, *decode[classify.Classification](b))
	}
	slices.SortFunc(out, func(a, b classify.Classification) int { return cmp.Compare(b.Version, a.Version) })
	return out, nil
}

// ReadIncident reads an incident and its source place.
func (s *Store) ReadIncident(_ context.Context, id string) (*classify.Incident, *classify.SourcePlace, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	b, ok := s.st.incidents[id]
	if !ok {
		return nil, nil, classify.ErrNotFound
	}
	inc := decode[classify.Incident](b)
	var sp *classify.SourcePlace
	if inc.SourcePlaceID != "" {
		if pb, ok := s.st.places[inc.SourcePlaceID]; ok {
			sp = decode[classify.SourcePlace](pb)
		}
	}
	return inc, sp, nil
}

// ListIncidents lists incidents, most recently reported first.
func (s *Store) ListIncidents(_ context.Context, f classify.IncidentFilter) ([]*classify.Incident, string, error) {
	s.mu.Lock()
	var all []*classify.Incident
	for _, b := range s.st.incidents {
		inc := decode[classify.Incident](b)
		if inc.Reports() < f.MinReports || (f.District != "" && inc.Area.District != f.District) ||
			(f.Street != "" && inc.Area.Street != f.Street) ||
			!f.Scope.AllowsCase(policy.CaseFacts{District: inc.Area.District, Street: inc.Area.Street, Community: inc.Area.Community}) {
			continue
		}
		all = append(all, inc)
	}
	s.mu.Unlock()
	slices.SortFunc(all, func(a, b *classify.Incident) int {
		return cmp.Or(b.LastAt.Compare(a.LastAt), cmp.Compare(a.ID, b.ID))
	})
	return page(all, f.PageSize, f.PageToken)
}

// ListCorrections lists corrections, oldest first.
func (s *Store) ListCorrections(_ context.Context, f classify.CorrectionFilter) ([]classify.Correction, string, error) {
	s.mu.Lock()
	var all []classify.Correction
	for _, b := range s.st.corrections {
		c := decode[classify.Correction](b)
		if c.At.After(f.After) {
			all = append(all, *c)
		}
	}
	s.mu.Unlock()
	return page(all, f.PageSize, f.PageToken)
}
