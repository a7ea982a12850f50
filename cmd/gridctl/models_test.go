package main

import (
	"bytes"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	classifyv1 "github.com/gridflow/gridflow/proto/gen/go/gridflow/classify/v1"
)

func TestPrintModels(t *testing.T) {
	t.Parallel()
	var w bytes.Buffer
	printModels(&w, []*classifyv1.Model{
		{Version: "bbb", Origin: "/m/worse.model", Labels: 7, Examples: 1600, CvMacroF1: 0.7, State: classifyv1.ModelState_MODEL_STATE_REFUSED,
			DecidedBy: "admin", DecidedAt: ts("2026-03-02 10:05"), AgainstVersion: "aaa",
			Figures: &classifyv1.ModelFigures{Accuracy: 0.5, MacroF1: 0.4, N: 180}, Against: &classifyv1.ModelFigures{Accuracy: 0.9, MacroF1: 0.89, N: 180},
			Reason: "worse than the live model aaa"},
		{Version: "aaa", Origin: "default", Labels: 120, Examples: 521, CvMacroF1: 0.8, State: classifyv1.ModelState_MODEL_STATE_LIVE,
			DecidedBy: "start", DecidedAt: ts("2026-03-02 09:00"), LiveBy: "start", LiveAt: ts("2026-03-02 09:00"),
			Sources: []*classifyv1.ModelSource{{Kind: "history", Name: "train.jsonl", Weight: 2, Examples: 1660, HeldOut: 182}}},
	})
	want := []string{
		"bbb  refused  /m/worse.model  7 labels, 1600 examples, cv macro-F1 0.7000  decided 2026-03-02 10:05:00 CST by admin",
		"    held-out: accuracy 0.5000 macro-F1 0.4000 n=180; live aaa then: accuracy 0.9000 macro-F1 0.8900 n=180",
		"    worse than the live model aaa",
		"aaa  live     default  120 labels, 521 examples, cv macro-F1 0.8000  decided 2026-03-02 09:00:00 CST by start",
		"    made live 2026-03-02 09:00:00 CST by start",
		"    held-out: not measured",
		"    source history train.jsonl weight 2: 1660 examples (182 held out)",
	}
	if diff := cmp.Diff(want, strings.Split(strings.TrimSuffix(w.String(), "\n"), "\n")); diff != "" {
		t.Errorf("mismatch (-want +got):\n%s", diff)
	}
	w.Reset()
	printModels(&w, nil)
	if w.String() != "no model recorded yet\n" {
		t.Errorf("empty registry: %q", w.String())
	}
}
