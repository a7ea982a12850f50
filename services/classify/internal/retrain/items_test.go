package retrain

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gridflow/gridflow/pkg/reference"
	"github.com/gridflow/gridflow/pkg/testenv"
	"github.com/gridflow/gridflow/pkg/timer"
	"github.com/gridflow/gridflow/services/classify/internal/classifier"
	"github.com/gridflow/gridflow/services/classify/internal/classify"
	"github.com/gridflow/gridflow/services/classify/internal/live"
	"github.com/gridflow/gridflow/services/classify/internal/postgres"
)

// itemLabels writes hand-read item labels (property charges H01002, road
// damage class only) and their messages, every third in the held-out slice.
func itemLabels(t *testing.T, dir string) (labels, texts string) {
	t.Helper()
	var lb, tx strings.Builder
	for i := range 30 {
		slice := "tuning"
		if i%3 == 0 {
			slice = "held-out"
		}
		for j, m := range []struct{ code, text string }{
			{"H01002", fmt.Sprintf("物业乱收费%d，物业公司不公示账目，物业费太贵", i)},
			{"H01000", fmt.Sprintf("小区门口道路坑洼%d，下雨积水，道路没人修", i)},
		} {
			id := fmt.Sprintf("D%03d", 2*i+j)
			b, err := json.Marshal(map[string]string{"id": id, "label": "城乡建设", "text": m.text})
			if err != nil {
				t.Fatal(err)
			}
			fmt.Fprintf(&tx, "%s\n", b)
			fmt.Fprintf(&lb, "%s\t%s\t%s\n", id, m.code, slice)
		}
	}
	labels, texts = filepath.Join(dir, "labels.tsv"), filepath.Join(dir, "dev.jsonl")
	for p, s := range map[string]string{labels: lb.String(), texts: tx.String()} {
		if err := os.WriteFile(p, []byte(s), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return labels, texts
}

// A retraining also builds an item model under the class model it made
// live, from the corrections among the rest, and offers it to the gate:
// the city's first goes live and is recorded as an item model; the
// corrections' item is what it now knows the corrections' words by; the
// gate's held-out labels were not trained on.
func TestRetrainBuildsTheItemModel(t *testing.T) {
	pool := testenv.Pool(t, postgres.Schema, 4, postgres.Migrations...)
	clock := timer.NewManualClock(time.Date(2026, 3, 2, 8, 0, 0, 0, time.UTC))
	store := postgres.New(pool, nil, clock.Now)
	dir := t.TempDir()
	histPath, hist := history(t, dir)
	_, held := classifier.SplitHoldout(hist)
	labels, texts := itemLabels(t, dir)
	ref, err := reference.LoadFrom("")
	if err != nil {
		t.Fatal(err)
	}
	cfg := classify.DefaultConfig()
	holdout, err := live.LoadItemHoldout(labels, texts, "held-out", ref, cfg)
	if err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	ctx := context.Background()
	lv, err := live.LoadGated(ctx, live.Sources{},
		live.Gate{Registry: store, Holdout: held, HoldoutName: histPath, Items: holdout, Margin: live.DefaultMargin, Now: clock.Now}, log)
	if err != nil {
		t.Fatal(err)
	}
	if lv.ItemSet() != nil {
		t.Fatal("an item model is served before any was offered")
	}
	r := New(Config{HistoryFile: histPath, HistoryWeight: 1, CorrectionsWeight: 3, ItemLabelsFile: labels, ItemTextsFile: texts,
		ItemHoldoutSlice: "held-out", Decision: cfg}, store, lv, log, clock.Now)
	if err := store.InTx(ctx, func(tx classify.Tx) error {
		for i := range 12 {
			if err := tx.AddCorrection(ctx, &classify.Correction{CaseID: fmt.Sprint("case-", i), CaseNumber: fmt.Sprintf("GF-20260302-%06d", i),
				Text: fmt.Sprintf("第%d栋电动车楼道充电，飞线充电很危险", i), ItemCode: "H01001", Actor: "dispatcher:310106022", At: clock.Now()}); err != nil {
				return err
			}
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	res, err := r.Retrain(ctx)
	if err != nil || res.ItemModelVersion == "" || res.PreviousItemModelVersion != "" || res.ItemFigures == nil {
		t.Fatalf("retrain = %+v, %v", res, err)
	}
	if lv.ItemSet() == nil || lv.ItemSet().Version() != res.ItemModelVersion {
		t.Fatalf("serving item model %v, want %s", lv.ItemSet(), res.ItemModelVersion)
	}
	if p := lv.ItemSet().Predict("H01000", "楼道里电动车充电", nil); len(p) == 0 || p[0].Label != "H01001" {
		t.Errorf("the retrained item model ranks %v for the corrections' words, want H01001 first", p)
	}
	recs, _, err := store.ListModels(ctx, classify.ModelFilter{PageSize: 10})
	if err != nil {
		t.Fatal(err)
	}
	kinds := map[string]classify.ModelRecord{}
	for _, m := range recs {
		if m.State == classify.ModelLive {
			kinds[m.Kind] = m
		}
	}
	if it := kinds[classify.ModelKindItems]; it.Version != res.ItemModelVersion || it.Origin != Origin || it.Figures == nil ||
		it.Figures.N != 20 || it.Figures.Holdout != labels+"#held-out" {
		t.Errorf("the item model's registry row %+v (figures %+v)", it, it.Figures)
	}
	if c := kinds[classify.ModelKindClass]; c.Version != res.ModelVersion {
		t.Errorf("the class model's registry row %+v, want %s live", c, res.ModelVersion)
	}
}

// With the history's hand-read item labels (issue 15) a retraining's item
// model learns from them and chooses its thresholds on them: it goes live
// through the gate as before; a label outside its message's class stops
// the item model, never the class model's retraining.
func TestRetrainItemsOnHistoryLabels(t *testing.T) {
	pool := testenv.Pool(t, postgres.Schema, 4, postgres.Migrations...)
	clock := timer.NewManualClock(time.Date(2026, 3, 2, 8, 0, 0, 0, time.UTC))
	store := postgres.New(pool, nil, clock.Now)
	dir := t.TempDir()
	histPath, hist := history(t, dir)
	_, held := classifier.SplitHoldout(hist)
	labels, texts := itemLabels(t, dir)
	// Every 城乡建设 history message read: 违章搭建 H01001, 物业不作为
	// H01002, the rest class only (the fixture's subjects, by i%5).
	var hl strings.Builder
	for i := range 80 {
		code := "H01000"
		switch i % 5 {
		case 0:
			code = "H01001"
		case 1:
			code = "H01002"
		}
		fmt.Fprintf(&hl, "城乡建设-%03d\t%s\tread-1\n", i, code)
	}
	historyLabels := filepath.Join(dir, "history_items.tsv")
	if err := os.WriteFile(historyLabels, []byte(hl.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	ref, err := reference.LoadFrom("")
	if err != nil {
		t.Fatal(err)
	}
	cfg := classify.DefaultConfig()
	holdout, err := live.LoadItemHoldout(labels, texts, "held-out", ref, cfg)
	if err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	ctx := context.Background()
	lv, err := live.LoadGated(ctx, live.Sources{},
		live.Gate{Registry: store, Holdout: held, HoldoutName: histPath, Items: holdout, Margin: live.DefaultMargin, Now: clock.Now}, log)
	if err != nil {
		t.Fatal(err)
	}
	if err := store.InTx(ctx, func(tx classify.Tx) error {
		for i := range 12 {
			if err := tx.AddCorrection(ctx, &classify.Correction{CaseID: fmt.Sprint("case-", i), CaseNumber: fmt.Sprintf("GF-20260302-%06d", i),
				Text: fmt.Sprintf("第%d栋电动车楼道充电，飞线充电很危险", i), ItemCode: "H01001", Actor: "dispatcher:310106022", At: clock.Now()}); err != nil {
				return err
			}
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	conf := Config{HistoryFile: histPath, HistoryWeight: 1, CorrectionsWeight: 3, ItemLabelsFile: labels, ItemTextsFile: texts,
		ItemHoldoutSlice: "held-out", ItemHistoryLabelsFile: historyLabels, Decision: cfg}
	res, err := New(conf, store, lv, log, clock.Now).Retrain(ctx)
	if err != nil || res.ItemModelVersion == "" || res.ItemFigures == nil {
		t.Fatalf("retrain = %+v, %v", res, err)
	}
	if lv.ItemSet() == nil || lv.ItemSet().Version() != res.ItemModelVersion {
		t.Fatalf("serving item model %v, want %s", lv.ItemSet(), res.ItemModelVersion)
	}
	if p := lv.ItemSet().Predict("H01000", "居民反映违章搭建，请尽快处理", nil); len(p) == 0 || p[0].Label != "H01001" {
		t.Errorf("the item model ranks %v for the history labels' words, want H01001 first", p)
	}

	// A label outside its message's class: the item model is not built.
	bad := filepath.Join(dir, "bad_items.tsv")
	if err := os.WriteFile(bad, []byte("环境保护-000\tH01002\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	conf.ItemHistoryLabelsFile = bad
	if err := store.InTx(ctx, func(tx classify.Tx) error {
		return tx.AddCorrection(ctx, &classify.Correction{CaseID: "case-x", CaseNumber: "GF-20260302-000100",
			Text: "楼道里又有人飞线充电", ItemCode: "H01001", Actor: "dispatcher:310106022", At: clock.Now()})
	}); err != nil {
		t.Fatal(err)
	}
	if _, err := New(conf, store, lv, log, clock.Now).Retrain(ctx); err == nil || !strings.Contains(err.Error(), "not inside the message's class") {
		t.Errorf("retrain with a label outside its class: %v", err)
	}
	if lv.ItemSet().Version() != res.ItemModelVersion {
		t.Errorf("the live item model changed to %s", lv.ItemSet().Version())
	}
}
