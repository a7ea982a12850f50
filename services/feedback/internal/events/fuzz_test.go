package events

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/gridflow/gridflow/services/feedback/internal/feedback"
)

// FuzzDecode: whatever arrives on feedback's consumer (every case, incident
// and task event) or is read back from its log is decoded by Decode.
// Properties: no panic; an event Decode accepts is named (its type), carries
// its raw bytes, and has a fact unless it is the local retry marker; folded
// into a case after the case's receipt (Project, the view feedback rebuilds
// from its log) it yields a case in a state, which the store can keep (JSON);
// and one of feedback's own facts survives Encode and Decode unchanged.
// Seeds: testdata/fuzz/FuzzDecode.
func FuzzDecode(f *testing.F) {
	t0 := time.Date(2026, 3, 2, 2, 0, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, b []byte) {
		e, err := Decode(b)
		if err != nil {
			return // Handler: consumer.Permanent
		}
		if e.Type == "" || string(e.Raw) != string(b) {
			t.Fatalf("decoded event without a type or its bytes: %+v", e)
		}
		if e.Fact == nil && e.Type != retryDue {
			t.Fatalf("%s decoded without a fact", e.Type)
		}
		if e.CaseID == "" {
			return // Handler: poison, it names no case
		}
		received := feedback.Event{ID: "r", Type: "case.received", CaseID: e.CaseID, At: t0, Seq: 1,
			Fact: &feedback.CaseReceived{Number: "GF-20260302-000001", Source: feedback.Hotline, ReceivedAt: t0}}
		e.Seq = 2
		c := feedback.Project(e.CaseID, []feedback.Event{received, e})
		if c.State == "" {
			t.Fatalf("%s leaves the case in no state", e.Type)
		}
		if _, err := json.Marshal(c); err != nil {
			t.Fatalf("%s makes a case the store cannot keep: %v", e.Type, err)
		}
		raw, name, err := Encode(&e)
		if err != nil {
			return // not one of feedback's own facts
		}
		again, err := Decode(raw)
		if err != nil || name != e.Type || again.Type != e.Type {
			t.Fatalf("own %s re-encoded as %s, decodes as %q: %v", e.Type, name, again.Type, err)
		}
		if diff := cmp.Diff(e.Fact, again.Fact); diff != "" {
			t.Fatalf("own %s does not survive Encode and Decode (-first +again):\n%s", e.Type, diff)
		}
	})
}
