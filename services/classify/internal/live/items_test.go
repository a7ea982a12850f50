package live_test

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

	"github.com/gridflow/gridflow/pkg/auth"
	"github.com/gridflow/gridflow/pkg/reference"
	"github.com/gridflow/gridflow/pkg/testenv"
	"github.com/gridflow/gridflow/services/classify/internal/classifier"
	"github.com/gridflow/gridflow/services/classify/internal/classify"
	"github.com/gridflow/gridflow/services/classify/internal/itemmodel"
	"github.com/gridflow/gridflow/services/classify/internal/live"
	"github.com/gridflow/gridflow/services/classify/internal/postgres"
)

// itemCity is a tiny city with known answers for items: a history of two
// first-level classes (城乡建设 H01000, 劳动和社会保障), and messages read by
// hand — property charges (item H01002), road damage (class only, H01000),
// pensions (H15004) — every third of them in the held-out slice.
type itemCity struct {
	dir, classModel, labels, texts string
	history                        []classifier.Example
	hand                           []itemmodel.Labelled // the tuning slice's labels
}

func newItemCity(t *testing.T) itemCity {
	t.Helper()
	c := itemCity{dir: t.TempDir()}
	for i := range 40 {
		c.history = append(c.history,
			classifier.Example{ID: fmt.Sprintf("T%03d", 2*i), Label: "城乡建设", Text: fmt.Sprintf("小区物业第%d次乱收费，门口道路坑洼积水，业主不满", i)},
			classifier.Example{ID: fmt.Sprintf("T%03d", 2*i+1), Label: "劳动和社会保障", Text: fmt.Sprintf("退休金第%d个月没有发放，社保待遇迟迟不到账", i)})
	}
	c.classModel = filepath.Join(c.dir, "city.model")
	trainTo(t, c.classModel, c.history, nil, 3)
	var dev, labels []string
	add := func(id, label, code, slice, text string) {
		b, err := json.Marshal(map[string]string{"id": id, "label": label, "text": text})
		if err != nil {
			t.Fatal(err)
		}
		dev = append(dev, string(b))
		labels = append(labels, id+"\t"+code+"\t"+slice)
		if slice == "tuning" {
			c.hand = append(c.hand, itemmodel.Labelled{ID: id, Text: text, Code: code})
		}
	}
	for i := range 30 {
		slice := "tuning"
		if i%3 == 0 {
			slice = "held-out"
		}
		add(fmt.Sprintf("D%03d", 3*i), "城乡建设", "H01002", slice, fmt.Sprintf("物业乱收费%d，物业公司不公示账目，物业费太贵", i))
		add(fmt.Sprintf("D%03d", 3*i+1), "城乡建设", "H01000", slice, fmt.Sprintf("小区门口道路坑洼%d，下雨积水，道路没人修", i))
		add(fmt.Sprintf("D%03d", 3*i+2), "劳动和社会保障", "H15004", slice, fmt.Sprintf("退休金%d年没有调整，退休工资太低", i))
	}
	c.texts, c.labels = filepath.Join(c.dir, "dev.jsonl"), filepath.Join(c.dir, "labels.tsv")
	for path, lines := range map[string][]string{c.texts: dev, c.labels: labels} {
		if err := os.WriteFile(path, []byte(strings.Join(lines, "\n")+"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return c
}

// writeItems trains an item model on the tuning labels, relabelled by swap
// (a worse model takes one code for another), and writes it to path.
func (c itemCity) writeItems(t *testing.T, path string, swap map[string]string, svmC float64, th itemmodel.Thresholds) string {
	t.Helper()
	ref, err := reference.LoadFrom("")
	if err != nil {
		t.Fatal(err)
	}
	var ex []itemmodel.Labelled
	for _, e := range c.hand {
		if to, ok := swap[e.Code]; ok {
			e.Code = to
		}
		ex = append(ex, e)
	}
	o := itemmodel.DefaultOptions()
	o.Classifier.SVM.C = svmC
	classOf := func(code string) (string, bool) {
		fl, ok := ref.FirstLevel(code)
		return fl.Code, ok
	}
	s, err := itemmodel.Train(context.Background(), ex, classOf, th, o)
	if err != nil {
		t.Fatal(err)
	}
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := s.Save(f); err != nil {
		t.Fatal(err)
	}
	return s.Version()
}

// The item model goes through the gate as the class model does: the first
// goes live and is recorded beside the class model; a worse one is refused
// with its item figures (ReloadModel fails, a SIGHUP keeps the live one);
// a second replica without the file serves the registry's live item model
// and follows the next promotion without a restart.
func TestGateRefusesAWorseItemModelAndKeepsTheLiveOne(t *testing.T) {
	pool := testenv.Pool(t, postgres.Schema, 4, postgres.Migrations...)
	reg := postgres.New(pool, nil, nil)
	c := newItemCity(t)
	ref, err := reference.LoadFrom("")
	if err != nil {
		t.Fatal(err)
	}
	holdout, err := live.LoadItemHoldout(c.labels, c.texts, "held-out", ref, classify.DefaultConfig())
	if err != nil {
		t.Fatal(err)
	}
	if len(holdout.Texts) != 30 {
		t.Fatalf("held-out item slice of %d messages, want 30", len(holdout.Texts))
	}
	_, held := classifier.SplitHoldout(c.history)
	clock := time.Date(2026, 3, 2, 8, 0, 0, 0, time.UTC)
	gate := live.Gate{Registry: reg, Holdout: held, HoldoutName: "history.jsonl", Items: holdout, Margin: live.DefaultMargin,
		Now: func() time.Time { clock = clock.Add(time.Minute); return clock }}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	ctx := context.Background()
	itemsPath := filepath.Join(c.dir, "items.model")
	filing := itemmodel.Thresholds{Agree: 0.3, Alone: 0.5}
	good := c.writeItems(t, itemsPath, nil, 1, filing)
	lv, err := live.LoadGated(ctx, live.Sources{ModelFile: c.classModel, ItemModelFile: itemsPath}, gate, log)
	if err != nil {
		t.Fatal(err)
	}
	if got := lv.ItemSet().Version(); got != good {
		t.Fatalf("serving item model %s, want the first %s", got, good)
	}
	if lv.Items() == nil || lv.Items().Version() != good {
		t.Fatalf("the service's item model is %v, want %s", lv.Items(), good)
	}
	recs := models(t, reg)
	classVer := lv.Model().Version()
	if r := recs[classVer]; r.State != classify.ModelLive || r.Kind != classify.ModelKindClass {
		t.Errorf("class model's record %+v", r)
	}
	first := recs[good]
	if first.Kind != classify.ModelKindItems || first.State != classify.ModelLive || first.LiveBy != "start" || first.Figures == nil ||
		first.Figures.N != 30 || first.Figures.ItemPrecision < 0.9 || first.Figures.ItemShare < 0.3 || first.Labels != 1 {
		t.Fatalf("first item model's record %+v (figures %+v)", first, first.Figures)
	}

	t.Logf("first item model: %+v", *first.Figures)
	// An item model that learnt road damage as property charges and
	// property charges as class only, and files its best item however
	// unsure (Alone 0), is refused, with its figures.
	worse := c.writeItems(t, itemsPath, map[string]string{"H01002": "H01000", "H01000": "H01002"}, 1, itemmodel.Thresholds{Agree: 1.01, Alone: 0})
	admin := auth.WithPrincipal(ctx, auth.Principal{Role: auth.RoleAdmin})
	_, err = lv.Reload(admin)
	if err == nil || !live.IsRefused(err) || !strings.Contains(err.Error(), "item_precision") {
		t.Fatalf("reload of a worse item model: %v (%+v)", err, models(t, reg)[worse].Figures)
	}
	if got := lv.ItemSet().Version(); got != good {
		t.Fatalf("serving item model %s after a refusal, want %s kept", got, good)
	}
	recs = models(t, reg)
	r := recs[worse]
	if r.Kind != classify.ModelKindItems || r.State != classify.ModelRefused || r.DecidedBy != "admin" || r.AgainstVersion != good ||
		r.Figures == nil || r.Against == nil || !(r.Figures.ItemPrecision < r.Against.ItemPrecision-live.DefaultMargin) ||
		!strings.Contains(r.Reason, "worse than the live item model") {
		t.Errorf("refused item model's record %+v (figures %+v against %+v)", r, r.Figures, r.Against)
	}
	t.Logf("refused: %s", r.Reason)
	if recs[good].State != classify.ModelLive || recs[classVer].State != classify.ModelLive || len(recs) != 3 {
		t.Errorf("registry after the refusal: %+v", recs)
	}

	// A SIGHUP with the refused file on disk keeps the live item model.
	if err := lv.Holder().Refresh(ctx); err != nil || lv.ItemSet().Version() != good {
		t.Fatalf("SIGHUP with a refused item model on disk: %v, serving %s", err, lv.ItemSet().Version())
	}

	// A second replica with no item model file serves the registry's.
	lv2, err := live.LoadGated(ctx, live.Sources{ModelFile: c.classModel}, gate, log)
	if err != nil || lv2.ItemSet() == nil || lv2.ItemSet().Version() != good {
		t.Fatalf("second replica: %v, serving %v", err, lv2.ItemSet())
	}

	// An item model as good goes live through the first replica …
	better := c.writeItems(t, itemsPath, nil, 3, filing)
	if better == good {
		t.Fatal("the fixture trained the same item model twice")
	}
	res, err := lv.Reload(admin)
	if err != nil || res.ItemModelVersion != better || res.PreviousItemModelVersion != good || res.ItemFigures == nil || res.ItemAgainst == nil {
		t.Fatalf("reload of a good item model = %+v, %v", res, err)
	}
	recs = models(t, reg)
	if recs[better].State != classify.ModelLive || recs[good].State != classify.ModelRetired || recs[classVer].State != classify.ModelLive {
		t.Errorf("states after the promotion: better %s, good %s, class %s", recs[better].State, recs[good].State, recs[classVer].State)
	}
	if v, err := reg.LiveItemVersion(ctx); err != nil || v != better {
		t.Errorf("live item version %q, %v", v, err)
	}

	// … and the second replica follows it without a restart.
	fctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { defer close(done); _ = lv2.Follow(fctx, 20*time.Millisecond) }()
	deadline := time.Now().Add(5 * time.Second)
	for lv2.ItemSet().Version() != better && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	cancel()
	<-done
	if got := lv2.ItemSet().Version(); got != better {
		t.Errorf("second replica serves item model %s, want the registry's live %s", got, better)
	}
	if got := lv2.Model().Version(); got != classVer {
		t.Errorf("second replica serves class model %s, want %s", got, classVer)
	}
}
