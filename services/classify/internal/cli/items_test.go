package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/gridflow/gridflow/services/classify/internal/classify"
	"github.com/gridflow/gridflow/services/classify/internal/itemmodel"
)

// itemFixture writes a tiny city: a history of two first-level classes,
// messages with hand-read item labels, and their label file.
func itemFixture(t *testing.T) (dir string) {
	t.Helper()
	dir = t.TempDir()
	write := func(name string, lines []string) {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(strings.Join(lines, "\n")+"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	line := func(id, label, text string) string {
		b, err := json.Marshal(map[string]string{"id": id, "label": label, "text": text})
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	var history, dev, labels []string
	for i := range 20 {
		history = append(history,
			line(fmt.Sprintf("T%03d", 2*i), "城乡建设", fmt.Sprintf("小区物业乱收费第%d次，物业费年年涨，业主不满", i)),
			line(fmt.Sprintf("T%03d", 2*i+1), "劳动和社会保障", fmt.Sprintf("退休金第%d个月没有发放，退休工资迟迟不到账", i)))
	}
	for i := range 15 {
		dev = append(dev,
			line(fmt.Sprintf("D%03d", 3*i), "城乡建设", fmt.Sprintf("物业乱收费%d，物业公司不公示账目", i)),
			line(fmt.Sprintf("D%03d", 3*i+1), "城乡建设", fmt.Sprintf("小区门口道路坑洼%d，下雨积水，物业说不归它管", i)),
			line(fmt.Sprintf("D%03d", 3*i+2), "劳动和社会保障", fmt.Sprintf("退休金%d年没有调整，退休工资太低", i)))
		labels = append(labels,
			fmt.Sprintf("D%03d\tH01002\ttuning", 3*i),
			fmt.Sprintf("D%03d\tH01000\ttuning", 3*i+1),
			fmt.Sprintf("D%03d\tH15004\theld-out", 3*i+2))
	}
	// Hand-read labels of history messages: every fourth message (issue 15:
	// the thresholds are chosen on these, not on labels.tsv).
	var historyItems []string
	for i := 0; i < 40; i += 4 {
		historyItems = append(historyItems, fmt.Sprintf("T%03d\tH01002\tread-1", i), fmt.Sprintf("T%03d\tH15004\tread-1", i+1))
	}
	write("history_items.tsv", historyItems)
	write("history.jsonl", history)
	write("dev.jsonl", dev)
	write("labels.tsv", labels)
	var out, errb bytes.Buffer
	if err := Train(context.Background(), []string{"--data", filepath.Join(dir, "history.jsonl"), "--out", filepath.Join(dir, "city.model")}, &out, &errb); err != nil {
		t.Fatalf("train: %v\n%s", err, errb.String())
	}
	return dir
}

// TestItemModelCommands: train-items writes an item model that served
// loads and serves; --cross-fit-items says its figures are cross-fitted,
// decides every message with the model of its fold, and ends with the
// served line.
func TestItemModelCommands(t *testing.T) {
	t.Parallel()
	dir := itemFixture(t)
	p := func(name string) string { return filepath.Join(dir, name) }
	var out, errb bytes.Buffer
	if err := TrainItems(context.Background(), []string{"--history", p("history.jsonl"), "--data", p("dev.jsonl"), "--items", p("labels.tsv"),
		"--model", p("city.model"), "--out", p("items.model")}, &out, &errb); err != nil {
		t.Fatalf("train-items: %v\n%s", err, errb.String())
	}
	if !strings.Contains(out.String(), "not an honest figure") {
		t.Errorf("train-items does not warn that its estimate is on its own labels:\n%s", out.String())
	}
	im, err := LoadItemModel(p("items.model"))
	if err != nil {
		t.Fatal(err)
	}
	last := regexp.MustCompile(`(?m)^review_share=[0-9.]+ class_accuracy=[0-9.]+ item_share=([0-9.]+) item_precision=([0-9.]+) n=45$`)
	out.Reset()
	if err := Served(context.Background(), []string{"--model", p("city.model"), "--data", p("dev.jsonl"), "--items", p("labels.tsv"),
		"--item-model", p("items.model")}, &out, &errb); err != nil {
		t.Fatalf("served --item-model: %v", err)
	}
	if !strings.Contains(out.String(), "item model "+im.Version()) || !last.MatchString(out.String()) {
		t.Errorf("served --item-model:\n%s", out.String())
	}
	out.Reset()
	if err := Served(context.Background(), []string{"--model", p("city.model"), "--data", p("dev.jsonl"), "--items", p("labels.tsv"),
		"--cross-fit-items", "--history", p("history.jsonl")}, &out, &errb); err != nil {
		t.Fatalf("served --cross-fit-items: %v\n%s", err, errb.String())
	}
	s := out.String()
	if !strings.Contains(s, "CROSS-FITTED over 5 folds of the 45 hand-read labels") || strings.Count(s, "\nfold ") != 5 ||
		!strings.Contains(s, "slice=held-out labelled=15") || !last.MatchString(s) {
		t.Errorf("served --cross-fit-items:\n%s", s)
	}
	// The fixture is plain: items a rule names and the model learns are
	// filed, right.
	m := last.FindStringSubmatch(s)
	if m == nil || m[1] == "0.0000" || m[2] != "1.0000" {
		t.Errorf("cross-fitted item share %v and precision: want items filed, all right\n%s", m, s)
	}
	if err := Served(context.Background(), []string{"--model", p("city.model"), "--data", p("dev.jsonl"), "--items", p("labels.tsv"),
		"--cross-fit-items", "--item-model", p("items.model")}, &out, &errb); err == nil {
		t.Error("--cross-fit-items with --item-model was accepted: its figures would be on the model's own labels")
	}
}

// TestItemModelCommandsHistoryItems: with --history-items the thresholds
// are chosen on the history's hand-read labels and the --items labels
// together (cross-fitted: the other folds'), and both commands say so; the
// cross-fitted figures still end with the served line.
func TestItemModelCommandsHistoryItems(t *testing.T) {
	t.Parallel()
	dir := itemFixture(t)
	p := func(name string) string { return filepath.Join(dir, name) }
	var out, errb bytes.Buffer
	if err := TrainItems(context.Background(), []string{"--history", p("history.jsonl"), "--history-items", p("history_items.tsv"),
		"--data", p("dev.jsonl"), "--items", p("labels.tsv"), "--leave-out", "held-out",
		"--model", p("city.model"), "--out", p("items.model")}, &out, &errb); err != nil {
		t.Fatalf("train-items: %v\n%s", err, errb.String())
	}
	if s := out.String(); !strings.Contains(s, "30 hand-read labels, 20 hand-read history labels") ||
		!strings.Contains(s, "(the --history-items and --items labels together; not an honest figure)") {
		t.Errorf("train-items --history-items:\n%s", s)
	}
	if _, err := LoadItemModel(p("items.model")); err != nil {
		t.Fatal(err)
	}
	out.Reset()
	if err := Served(context.Background(), []string{"--model", p("city.model"), "--data", p("dev.jsonl"), "--items", p("labels.tsv"),
		"--cross-fit-items", "--history", p("history.jsonl"), "--history-items", p("history_items.tsv")}, &out, &errb); err != nil {
		t.Fatalf("served --cross-fit-items --history-items: %v\n%s", err, errb.String())
	}
	s := out.String()
	last := regexp.MustCompile(`(?m)^review_share=[0-9.]+ class_accuracy=[0-9.]+ item_share=([0-9.]+) item_precision=([0-9.]+) n=45$`)
	m := last.FindStringSubmatch(s)
	if !strings.Contains(s, "thresholds chosen on the out-of-fold predictions of 20 hand-read history labels and the other folds' labels, never its own fold's") ||
		m == nil || m[1] == "0.0000" || m[2] != "1.0000" {
		t.Errorf("served --cross-fit-items --history-items:\n%s", s)
	}
	// Without --history there is no message to read the labels of.
	if err := TrainItems(context.Background(), []string{"--history-items", p("history_items.tsv"), "--data", p("dev.jsonl"),
		"--items", p("labels.tsv"), "--model", p("city.model"), "--out", p("x.model")}, &out, &errb); err == nil {
		t.Error("--history-items without --history was accepted")
	}
}

// TestTrainItemsCalibratesOnEveryLabel: the item model served (train-items
// --history-items) is trained and calibrated on every hand-read label, the
// history's and --items' (issue 15), the gate's held-out slice left out of
// both with --leave-out.
func TestTrainItemsCalibratesOnEveryLabel(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	dir := itemFixture(t)
	p := func(name string) string { return filepath.Join(dir, name) }
	env, err := loadItemEnv(ctx, "", "", p("city.model"), p("history.jsonl"), p("dev.jsonl"), p("labels.tsv"))
	if err != nil {
		t.Fatal(err)
	}
	if err := env.readHistoryLabels(p("history_items.tsv")); err != nil {
		t.Fatal(err)
	}
	cfg := classify.DefaultConfig()
	o, w := itemmodel.DefaultOptions(), defaultItemSources()
	read := Codes(env.historyLabels, "")
	base, err := itemBase(env.ref, env.rules, env.history, read, cfg.ItemWindow, w)
	if err != nil {
		t.Fatal(err)
	}
	calib, err := env.historyTuned(ctx, cfg, read, w.hand)
	if err != nil {
		t.Fatal(err)
	}
	for _, leaveOut := range []string{"", "held-out"} {
		tuned := env.itemTuned(cfg, env.texts, CodesExcept(env.labels, leaveOut), w.hand)
		want, _, err := itemmodel.BuildOn(ctx, base, nil, itemmodel.Calibrated(calib, tuned), itemClassOf(env.ref), o)
		if err != nil {
			t.Fatal(err)
		}
		var out, errb bytes.Buffer
		if err := TrainItems(ctx, []string{"--history", p("history.jsonl"), "--history-items", p("history_items.tsv"),
			"--data", p("dev.jsonl"), "--items", p("labels.tsv"), "--leave-out", leaveOut,
			"--model", p("city.model"), "--out", p("items.model")}, &out, &errb); err != nil {
			t.Fatalf("train-items --leave-out %q: %v\n%s", leaveOut, err, errb.String())
		}
		got, err := readItemModel(p("items.model"))
		if err != nil {
			t.Fatal(err)
		}
		if got.Version() != want.Version() || got.Thresholds() != want.Thresholds() {
			t.Errorf("--leave-out %q: train-items wrote %s (%s); built and calibrated on the %d history and %d --items labels: %s (%s)",
				leaveOut, got.Version(), got.Thresholds(), len(calib), len(tuned), want.Version(), want.Thresholds())
		}
	}
}

// TestHistoryItemLabelsRefused: a history label must name a message of the
// history, and an item (or the class) inside that message's gold class.
func TestHistoryItemLabelsRefused(t *testing.T) {
	t.Parallel()
	dir := itemFixture(t)
	env, err := loadItemEnv(context.Background(), "", "", filepath.Join(dir, "city.model"), filepath.Join(dir, "history.jsonl"),
		filepath.Join(dir, "dev.jsonl"), "")
	if err != nil {
		t.Fatal(err)
	}
	for name, tc := range map[string]struct{ body, want string }{
		"not in the history":     {"T999\tH01002\n", "not a message of the history"},
		"item of another class":  {"T000\tH15004\n", "not inside the message's class"},
		"class of another class": {"T001\tH01000\n", "not inside the message's class"},
	} {
		path := filepath.Join(t.TempDir(), "history_items.tsv")
		if err := os.WriteFile(path, []byte(tc.body), 0o600); err != nil {
			t.Fatal(err)
		}
		if err := env.readHistoryLabels(path); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v, want an error saying %q", name, err, tc.want)
		}
	}
	if err := env.readHistoryLabels(filepath.Join(dir, "history_items.tsv")); err != nil || len(env.historyLabels) != 20 {
		t.Errorf("the fixture's labels: %v, %d read", err, len(env.historyLabels))
	}
}
