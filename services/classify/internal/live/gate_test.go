package live_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gridflow/gridflow/pkg/auth"
	"github.com/gridflow/gridflow/pkg/testenv"
	"github.com/gridflow/gridflow/services/classify/internal/classifier"
	"github.com/gridflow/gridflow/services/classify/internal/classify"
	"github.com/gridflow/gridflow/services/classify/internal/live"
	"github.com/gridflow/gridflow/services/classify/internal/postgres"
)

// history is a tiny city history with known answers: three first-level
// classes, each with its own subject words.
func history() []classifier.Example {
	subjects := map[string][]string{
		"城乡建设": {"违章搭建", "物业不作为", "电梯故障", "群租房", "装修扰民拆墙"},
		"环境保护": {"油烟污染", "工厂排污", "河道发臭", "烧垃圾冒烟", "粉尘污染"},
		"交通运输": {"公交不停站", "出租车拒载", "道路拥堵", "公交线路调整", "网约车绕路"},
	}
	fillers := []string{"我们小区", "请尽快处理", "已经好几天了", "居民反映", "希望相关部门解决", "多次投诉无果"}
	var out []classifier.Example
	for _, label := range []string{"城乡建设", "环境保护", "交通运输"} {
		s := subjects[label]
		for i := range 80 {
			text := fmt.Sprintf("%s%s，%s%s。%s", fillers[i%6], s[i%5], s[(i+2)%5], fillers[(i+1)%6], fillers[(i+3)%6])
			out = append(out, classifier.Example{ID: fmt.Sprintf("%s-%03d", label, i), Label: label, Text: text})
		}
	}
	return out
}

// trainTo trains on the history's training part, relabelled by swap (a
// worse model confuses two classes), and writes the model to path.
func trainTo(t *testing.T, path string, train []classifier.Example, swap map[string]string, c float64) string {
	t.Helper()
	ex := make([]classifier.Example, len(train))
	for i, e := range train {
		if to, ok := swap[e.Label]; ok && i%2 == 0 {
			e.Label = to
		}
		ex[i] = e
	}
	o := classifier.DefaultOptions()
	o.Features.MinDF, o.CVFolds, o.SVM.C = 1, 2, c
	// The plain options these fixtures were written for (issue 15 round 2's
	// title features and NB scaling were measured on real messages).
	o.Features.Opening, o.SVM.NBAlpha = 0, 0
	m, err := classifier.Train(context.Background(), ex, o, nil)
	if err != nil {
		t.Fatal(err)
	}
	tmp := path + ".tmp"
	f, err := os.Create(tmp)
	if err != nil {
		t.Fatal(err)
	}
	if err := m.Save(f); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, path); err != nil {
		t.Fatal(err)
	}
	return m.Version()
}

func models(t *testing.T, reg classify.ModelRegistry) map[string]classify.ModelRecord {
	t.Helper()
	recs, _, err := reg.ListModels(context.Background(), classify.ModelFilter{PageSize: 100})
	if err != nil {
		t.Fatal(err)
	}
	out := make(map[string]classify.ModelRecord)
	for _, r := range recs {
		out[r.Version] = r
	}
	return out
}

// The gate against a real registry: a worse model is refused with its
// figures and the live one kept (ReloadModel fails, a SIGHUP still reloads
// the rest), the registry records both, a better model goes live and
// retires the old, and a second replica started with the stale file serves
// the registry's live model and follows the next promotion.
func TestGateRefusesAWorseModelAndKeepsTheLiveOne(t *testing.T) {
	pool := testenv.Pool(t, postgres.Schema, 4, postgres.Migrations...)
	reg := postgres.New(pool, nil, nil)
	train, held := classifier.SplitHoldout(history())
	if len(held) < 15 {
		t.Fatalf("held-out slice of %d cases: the fixture is too small", len(held))
	}
	dir := t.TempDir()
	path := filepath.Join(dir, "city.model")
	good := trainTo(t, path, train, nil, 3)
	goodFile, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	clock := time.Date(2026, 3, 2, 8, 0, 0, 0, time.UTC)
	gate := live.Gate{Registry: reg, Holdout: held, HoldoutName: "history.jsonl", Margin: live.DefaultMargin,
		Now: func() time.Time { clock = clock.Add(time.Minute); return clock }}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	ctx := context.Background()
	lv, err := live.LoadGated(ctx, live.Sources{ModelFile: path}, gate, log)
	if err != nil {
		t.Fatal(err)
	}
	if lv.Model().Version() != good {
		t.Fatalf("serving %s, want the first model %s", lv.Model().Version(), good)
	}
	first := models(t, reg)[good]
	if first.State != classify.ModelLive || first.LiveBy != "start" || first.Figures == nil || first.Figures.Accuracy < 0.9 ||
		first.Figures.N != len(held) {
		t.Fatalf("first model's record %+v (figures %+v)", first, first.Figures)
	}

	// A model that confuses half of 城乡建设 with 环境保护 is refused.
	worse := trainTo(t, path, train, map[string]string{"城乡建设": "环境保护"}, 3)
	admin := auth.WithPrincipal(ctx, auth.Principal{Role: auth.RoleAdmin})
	_, err = lv.Reload(admin)
	if err == nil || !live.IsRefused(err) || !strings.Contains(err.Error(), "accuracy") {
		t.Fatalf("reload of a worse model: %v", err)
	}
	if lv.Model().Version() != good {
		t.Fatalf("serving %s after a refusal, want %s kept", lv.Model().Version(), good)
	}
	recs := models(t, reg)
	r := recs[worse]
	if r.State != classify.ModelRefused || r.DecidedBy != "admin" || r.AgainstVersion != good || r.Figures == nil || r.Against == nil ||
		!(r.Figures.Accuracy < r.Against.Accuracy-live.DefaultMargin) || r.LiveBy != "" || !strings.Contains(r.Reason, "worse than") {
		t.Errorf("refused model's record %+v (figures %+v against %+v)", r, r.Figures, r.Against)
	}
	if recs[good].State != classify.ModelLive || len(recs) != 2 {
		t.Errorf("registry after the refusal: %+v", recs)
	}

	// A SIGHUP is never blocked by the gate: it reloads, keeping the live model.
	if err := lv.Holder().Refresh(ctx); err != nil || lv.Model().Version() != good {
		t.Fatalf("SIGHUP with a refused model on disk: %v, serving %s", err, lv.Model().Version())
	}

	// Nor by a model file that does not load.
	if err := os.WriteFile(path, []byte("not a model"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := lv.Holder().Refresh(ctx); err != nil || lv.Model().Version() != good {
		t.Fatalf("SIGHUP with garbage on disk: %v, serving %s", err, lv.Model().Version())
	}
	if _, err := lv.Reload(admin); err == nil || lv.Model().Version() != good {
		t.Fatalf("ReloadModel with garbage on disk: %v, serving %s", err, lv.Model().Version())
	}
	worse = trainTo(t, path, train, map[string]string{"城乡建设": "环境保护"}, 3)

	// A second replica configured with the refused file serves the live model.
	lv2, err := live.LoadGated(ctx, live.Sources{ModelFile: path}, gate, log)
	if err != nil || lv2.Model().Version() != good {
		t.Fatalf("second replica: %v, serving %v", err, lv2)
	}

	// A model as good goes live through the first replica and retires the old one.
	better := trainTo(t, path, train, nil, 10)
	if better == good {
		t.Fatal("the fixture trained the same model twice")
	}
	res, err := lv.Reload(admin)
	if err != nil || res.ModelVersion != better || res.PreviousModelVersion != good || res.Figures == nil || res.Against == nil {
		t.Fatalf("reload of a good model = %+v, %v", res, err)
	}
	recs = models(t, reg)
	if b := recs[better]; b.State != classify.ModelLive || b.LiveBy != "admin" || b.LiveAt.IsZero() || b.AgainstVersion != good {
		t.Errorf("promoted model's record %+v", b)
	}
	if recs[good].State != classify.ModelRetired || recs[worse].State != classify.ModelRefused {
		t.Errorf("states after promotion: good %s, worse %s", recs[good].State, recs[worse].State)
	}
	if v, err := reg.LiveVersion(ctx); err != nil || v != better {
		t.Errorf("live version %q, %v", v, err)
	}

	// The retired model put back in the file does not flip the city back:
	// the gate decided on it before.
	if err := os.WriteFile(path, goodFile, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := lv.Holder().Refresh(ctx); err != nil || lv.Model().Version() != better {
		t.Fatalf("SIGHUP with the retired model on disk: %v, serving %s", err, lv.Model().Version())
	}
	if _, err := lv.Reload(admin); !live.IsRefused(err) || !strings.Contains(err.Error(), "retired") {
		t.Errorf("ReloadModel of the retired model: %v", err)
	}
	if st := models(t, reg)[good].State; st != classify.ModelRetired {
		t.Errorf("retired model now %s", st)
	}

	// The second replica follows the registry without being told.
	fctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { defer close(done); _ = lv2.Follow(fctx, 20*time.Millisecond) }()
	deadline := time.Now().Add(5 * time.Second)
	for lv2.Model().Version() != better && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	cancel()
	<-done
	if lv2.Model().Version() != better {
		t.Errorf("second replica serves %s, want the registry's live %s", lv2.Model().Version(), better)
	}
}

// Without a held-out slice a new model cannot be measured, so it does not
// go live; the city's first model does.
func TestGateWithoutHoldoutKeepsTheFirstModel(t *testing.T) {
	pool := testenv.Pool(t, postgres.Schema, 4, postgres.Migrations...)
	reg := postgres.New(pool, nil, nil)
	train, _ := classifier.SplitHoldout(history())
	path := filepath.Join(t.TempDir(), "city.model")
	first := trainTo(t, path, train, nil, 3)
	ctx := context.Background()
	lv, err := live.LoadGated(ctx, live.Sources{ModelFile: path}, live.Gate{Registry: reg}, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	trainTo(t, path, train, nil, 10)
	_, err = lv.Reload(auth.WithPrincipal(ctx, auth.Principal{Role: auth.RoleAdmin}))
	if !live.IsRefused(err) || !strings.Contains(err.Error(), "CLASSIFY_HISTORY_FILE") || lv.Model().Version() != first {
		t.Errorf("reload without a held-out slice: %v, serving %s", err, lv.Model().Version())
	}
}
