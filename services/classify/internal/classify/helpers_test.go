package classify_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gridflow/gridflow/pkg/auth"
	"github.com/gridflow/gridflow/pkg/reference"
	"github.com/gridflow/gridflow/services/classify/internal/classify"
	"github.com/gridflow/gridflow/services/classify/internal/classify/memstore"
	"github.com/gridflow/gridflow/services/classify/internal/rules"
)

var (
	refOnce sync.Once
	refSet  *reference.Set
	rulesV  *rules.Set
)

func defaults(t *testing.T) (*reference.Set, *rules.Set) {
	t.Helper()
	refOnce.Do(func() {
		var err error
		if refSet, err = reference.LoadDefault(); err != nil {
			panic(err)
		}
		if rulesV, err = rules.Load("", refSet); err != nil {
			panic(err)
		}
	})
	return refSet, rulesV
}

// fakeModel says what its table says: the first keyword found in the text
// decides the choice, everything else gets a spread of low confidences.
type fakeModel struct {
	version string
	table   []fakeRule
}

type fakeRule struct {
	word string
	code string
	conf float64
}

func (m fakeModel) Version() string { return m.version }

func (m fakeModel) Predict(text string) []classify.Choice {
	for _, r := range m.table {
		if strings.Contains(text, r.word) {
			rest := (1 - r.conf) / 2
			return []classify.Choice{
				{Code: r.code, Label: r.code, Confidence: r.conf},
				{Code: "H02999", Label: "H02999", Confidence: rest},
				{Code: "10999", Label: "10999", Confidence: rest},
			}
		}
	}
	return []classify.Choice{
		{Code: "H13001", Label: "H13001", Confidence: 0.2},
		{Code: "H01002", Label: "H01002", Confidence: 0.15},
		{Code: "H04001", Label: "H04001", Confidence: 0.15},
		{Code: "06020", Label: "06020", Confidence: 0.1},
		{Code: "H02999", Label: "H02999", Confidence: 0.1},
		{Code: "10999", Label: "10999", Confidence: 0.1},
		{Code: "H06003", Label: "H06003", Confidence: 0.1},
		{Code: "06010", Label: "06010", Confidence: 0.1},
	}
}

var testModel = fakeModel{version: "fake01", table: []fakeRule{
	{"油烟", "06021", 0.8},
	{"噪声", "06020", 0.8},
	{"垃圾", "06010", 0.7},
	{"私拉电线", "H13003", 0.9},
	{"坑", "06013", 0.75},
	{"停车", "09010", 0.6},
	// Item unsure, class sure: 城乡建设 (H01000) items share 0.7.
	{"小区管理", "H01002", 0.25},
}}

// harness is a service over a memstore with a clock the test moves.
type harness struct {
	t     *testing.T
	svc   *classify.Service
	store *memstore.Store
	now   time.Time
	ids   int
}

var t0 = time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)

func newHarness(t *testing.T, mut ...func(*classify.Config)) *harness {
	t.Helper()
	ref, rs := defaults(t)
	h := &harness{t: t, store: memstore.New(), now: t0}
	cfg := classify.DefaultConfig()
	// The fake model's second choice for the class case sums to 0.7 in H01000.
	for _, m := range mut {
		m(&cfg)
	}
	h.svc = classify.New(cfg, h.store, classify.Deps{
		Reference: func() *reference.Set { return ref },
		Rules:     func() *rules.Set { return rs },
		Model:     func() classify.Model { return testModel },
		Now:       func() time.Time { return h.now },
		NewID: func() string {
			h.ids++
			return fmt.Sprintf("id-%03d", h.ids)
		},
	})
	return h
}

// caseSeq numbers cases across every test; the tests run in parallel, so it is atomic.
var caseSeq atomic.Int64

// hotline builds a hotline case in 芷江西路街道 received at the harness's now.
func (h *harness) hotline(content, addr string) classify.Case {
	n := caseSeq.Add(1)
	return classify.Case{
		ID: fmt.Sprintf("case-%04d", n), Number: fmt.Sprintf("GF-20260302-%06d", n),
		Source: reference.FromHotline, AppealType: "complaint", Content: content, Address: addr,
		Area:       reference.AreaCodes{District: "310106", Street: "310106022", Community: "0", Grid: "0"},
		ReceivedAt: h.now, AcceptedAt: h.now,
	}
}

func (h *harness) receive(c classify.Case) {
	h.t.Helper()
	if err := h.store.Tx(context.Background(), func(ctx context.Context, tx classify.Tx) error {
		return h.svc.Receive(ctx, tx, c)
	}); err != nil {
		h.t.Fatalf("receive %s: %v", c.ID, err)
	}
}

// current returns a case's classification in force.
func (h *harness) current(caseID string) *classify.Classification {
	h.t.Helper()
	rec, err := h.store.GetRecord(context.Background(), caseID)
	if err != nil {
		h.t.Fatalf("record %s: %v", caseID, err)
	}
	return rec.Current
}

func (h *harness) record(caseID string) *classify.Record {
	h.t.Helper()
	rec, err := h.store.GetRecord(context.Background(), caseID)
	if err != nil {
		h.t.Fatalf("record %s: %v", caseID, err)
	}
	return rec
}

// fireFallbacks fires every due review timer, as the timer worker would.
func (h *harness) fireFallbacks() {
	h.t.Helper()
	for _, id := range h.store.DueFallbacks(h.now) {
		if err := h.store.Tx(context.Background(), func(ctx context.Context, tx classify.Tx) error {
			if err := tx.CancelFallback(ctx, id); err != nil {
				return err
			}
			return h.svc.ReviewTimedOut(ctx, tx, id)
		}); err != nil {
			h.t.Fatalf("fallback %s: %v", id, err)
		}
	}
}

func as(p string) context.Context {
	pr, err := auth.ParsePrincipal(p)
	if err != nil {
		panic(err)
	}
	return auth.WithPrincipal(context.Background(), pr)
}

// events returns the emitted events of type T.
func eventsOf[T classify.Event](h *harness) []T {
	var out []T
	for _, e := range h.store.Events() {
		if x, ok := e.(T); ok {
			out = append(out, x)
		}
	}
	return out
}
