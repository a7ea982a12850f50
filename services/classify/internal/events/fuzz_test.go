package events

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/gridflow/gridflow/pkg/envelope"
	"github.com/gridflow/gridflow/pkg/fault"
	"github.com/gridflow/gridflow/pkg/reference"
	"github.com/gridflow/gridflow/services/classify/internal/classify"
	"github.com/gridflow/gridflow/services/classify/internal/classify/memstore"
	"github.com/gridflow/gridflow/services/classify/internal/convert"
	"github.com/gridflow/gridflow/services/classify/internal/rules"
	"google.golang.org/protobuf/proto"

	eventsv1 "github.com/gridflow/gridflow/proto/gen/go/gridflow/events/v1"
	typesv1 "github.com/gridflow/gridflow/proto/gen/go/gridflow/types/v1"
)

// fuzzModel is unsure of everything but noise, so fuzzed cases reach both
// the review queue and grouping.
type fuzzModel struct{}

func (fuzzModel) Version() string { return "fuzz1" }

func (fuzzModel) Predict(text string) []classify.Choice {
	if strings.Contains(text, "噪声") {
		return []classify.Choice{{Code: "06020", Label: "06020", Confidence: 0.95}}
	}
	return []classify.Choice{{Code: "H13001", Label: "H13001", Confidence: 0.2}}
}

// FuzzDecode: whatever arrives on grid.case.received or grid.case.answered
// is decoded and turned into a case, or refused, without a panic. An
// envelope decode accepts has a payload and round-trips through protobuf;
// caseOf takes only the two payloads classify subscribes to; the case it
// makes is placed (PlaceOf) and classified by the domain (Receive, on the
// in-memory store) without an internal error, and a case with an id is then
// known — filed or waiting for review. Seeds: testdata/fuzz/FuzzDecode.
func FuzzDecode(f *testing.F) {
	good, _ := proto.Marshal(&eventsv1.Envelope{EventId: "e", Payload: &eventsv1.Envelope_CaseReceived{CaseReceived: &eventsv1.CaseReceived{
		CaseId: "c", Content: "噪声", Address: &typesv1.Address{Raw: "共和新路1234号"},
		Location: &typesv1.LatLng{Lat: 31.2, Lng: 121.4, Datum: typesv1.Datum_DATUM_GCJ02}}}})
	f.Add(good)
	f.Add([]byte("not protobuf"))
	f.Add([]byte{})
	ref, err := reference.LoadDefault()
	if err != nil {
		f.Fatal(err)
	}
	rs, err := rules.Load("", ref)
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		env, err := decode(b)
		if err != nil {
			return
		}
		if env.GetPayload() == nil {
			t.Fatal("decoded an envelope without a payload")
		}
		again, err := proto.Marshal(env)
		if err != nil {
			t.Fatalf("re-marshal: %v", err)
		}
		back, err := decode(again)
		if err != nil || !proto.Equal(env, back) {
			t.Fatalf("envelope does not round-trip: %v", err)
		}
		c, ok := caseOf(env)
		switch env.GetPayload().(type) {
		case *eventsv1.Envelope_CaseReceived, *eventsv1.Envelope_CaseAnswered:
			if !ok {
				t.Fatalf("%s not taken", envelope.Name(env))
			}
		default:
			if ok {
				t.Fatalf("took %s, which classify does not subscribe to", envelope.Name(env))
			}
			return
		}
		if p := env.GetCaseReceived(); p != nil {
			c := convert.CaseIn(p, false)
			_ = classify.PlaceOf(&c, "静安区", classify.DefaultCellSize)
		}
		if c.ID == "" {
			return // Handler: poison
		}
		store := memstore.New()
		svc := classify.New(classify.DefaultConfig(), store, classify.Deps{
			Reference: func() *reference.Set { return ref }, Rules: func() *rules.Set { return rs },
			Model: func() classify.Model { return fuzzModel{} },
		})
		err = store.InTx(context.Background(), func(tx classify.Tx) error { return svc.Receive(context.Background(), tx, c) })
		if err != nil {
			var f *fault.Error
			if !errors.As(err, &f) {
				t.Fatalf("Receive(%+v): %v", c, err)
			}
			return
		}
		if _, err := store.GetRecord(context.Background(), c.ID); err != nil {
			t.Fatalf("case %q received but not known: %v", c.ID, err)
		}
	})
}
