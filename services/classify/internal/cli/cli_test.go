package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// writeFixture writes a small, easily separable labelled JSONL file.
func writeFixture(t *testing.T, dir string) string {
	t.Helper()
	subjects := map[string][]string{
		"供水": {"停水", "自来水", "水压低", "水管爆裂", "供水"},
		"噪声": {"噪音", "扰民", "深夜施工", "广场舞音响", "喇叭声"},
		"道路": {"路面破损", "坑洼", "井盖缺失", "人行道塌陷", "道路开裂"},
	}
	fillers := []string{"我们小区", "请尽快处理", "已经好几天了", "居民反映", "希望相关部门解决"}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	for _, label := range []string{"供水", "噪声", "道路"} {
		for i := range 8 {
			s := subjects[label]
			text := fmt.Sprintf("%s%s，%s%s。%s", fillers[i%5], s[i%5], s[(i+2)%5], fillers[(i+1)%5], fillers[(i+3)%5])
			if err := enc.Encode(map[string]string{"id": fmt.Sprintf("%s%d", label, i), "label": label, "text": text}); err != nil {
				t.Fatal(err)
			}
		}
	}
	path := filepath.Join(dir, "data.jsonl")
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

var lastLine = regexp.MustCompile(`^accuracy=[01]\.\d{4} macro_f1=[01]\.\d{4} n=\d+$`)

func TestTrainThenEval(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	data := writeFixture(t, dir)
	model := filepath.Join(dir, "model.bin")
	var out, errOut bytes.Buffer
	if err := Train(t.Context(), []string{"--data", data, "--out", model, "--cv", "3"}, &out, &errOut); err != nil {
		t.Fatalf("train: %v\nstderr:\n%s", err, errOut.String())
	}
	if !strings.Contains(out.String(), "cv_folds=3 cv_accuracy=") || !strings.Contains(errOut.String(), "cv fold 3/3") {
		t.Errorf("train output lacks the CV estimate or progress:\nstdout:\n%s\nstderr:\n%s", out.String(), errOut.String())
	}
	if st, err := os.Stat(model); err != nil || st.Mode().Perm() != 0o644 {
		t.Fatalf("model file: %v, %v", st, err)
	}
	if leftovers, _ := filepath.Glob(filepath.Join(dir, ".model.bin.tmp*")); len(leftovers) > 0 {
		t.Errorf("temporary files left behind: %v", leftovers)
	}

	out.Reset()
	errOut.Reset()
	if err := Eval(t.Context(), []string{"--model", model, "--data", data}, &out, &errOut); err != nil {
		t.Fatalf("eval: %v\nstderr:\n%s", err, errOut.String())
	}
	lines := strings.Split(strings.TrimRight(out.String(), "\n"), "\n")
	if got := lines[len(lines)-1]; !lastLine.MatchString(got) {
		t.Errorf("last line %q does not match %s", got, lastLine)
	}
	if diff := cmp.Diff("accuracy=1.0000 macro_f1=1.0000 n=24", lines[len(lines)-1]); diff != "" {
		t.Errorf("eval on the training fixture: last line mismatch (-want +got):\n%s", diff)
	}
	for _, want := range []string{"precision", "噪声", "confusion matrix"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("eval output lacks %q:\n%s", want, out.String())
		}
	}
}

func TestTrainDefault(t *testing.T) {
	t.Parallel()
	model := filepath.Join(t.TempDir(), "default.bin")
	var out, errOut bytes.Buffer
	if err := Train(t.Context(), []string{"--default", "--out", model}, &out, &errOut); err != nil {
		t.Fatalf("train --default: %v\nstderr:\n%s", err, errOut.String())
	}
	if !strings.Contains(out.String(), "cv_folds=5 cv_accuracy=") {
		t.Errorf("train --default output:\n%s", out.String())
	}
	// issue 15, round 3: the default catalogue model keeps its own options,
	// whatever cv's model flags default to.
	if !strings.Contains(out.String(), " C=0.3 ") || strings.Contains(out.String(), "nb_mix=") {
		t.Errorf("train --default did not train with DefaultCorpusOptions:\n%s", out.String())
	}
}

// issue 15, round 3: train --data takes cv's model options.
func TestTrainTakesTheModelOptions(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	data := writeFixture(t, dir)
	var out, errOut bytes.Buffer
	args := []string{"--data", data, "--out", filepath.Join(dir, "m"), "--cv", "3", "--C", "0.7", "--nb-mix", "0.25", "--balance-power", "1.5", "--words", "3"}
	if err := Train(t.Context(), args, &out, &errOut); err != nil {
		t.Fatalf("train: %v\nstderr:\n%s", err, errOut.String())
	}
	for _, want := range []string{" C=0.7 ", " words=3-3 ", " nb_mix=0.25 balance_power=1.5"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("train output lacks %q:\n%s", want, out.String())
		}
	}
}

func TestErrors(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	data := writeFixture(t, dir)
	bad := filepath.Join(dir, "bad.jsonl")
	if err := os.WriteFile(bad, []byte("{\"id\":\"1\",\"label\":\"a\",\"text\":\"x\"}\n{oops\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	notModel := filepath.Join(dir, "not-a-model.bin")
	if err := os.WriteFile(notModel, []byte("this is not a model file at all"), 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		cmd     func(context.Context, []string, io.Writer, io.Writer) error
		args    []string
		wantMsg string
	}{
		{"train without flags", Train, nil, "--out and exactly one of --data and --default are required"},
		{"train with both data sources", Train, []string{"--data", data, "--default", "--out", filepath.Join(dir, "m")}, "exactly one of --data and --default"},
		{"train unknown flag", Train, []string{"--bogus"}, "flag provided but not defined"},
		{"train stray argument", Train, []string{"--data", data, "--out", filepath.Join(dir, "m"), "extra"}, `unexpected argument "extra"`},
		{"train bad data names the line", Train, []string{"--data", bad, "--out", filepath.Join(dir, "m")}, "bad.jsonl: line 2:"},
		{"train missing file", Train, []string{"--data", filepath.Join(dir, "nope.jsonl"), "--out", filepath.Join(dir, "m")}, "no such file"},
		{"train one fold", Train, []string{"--data", data, "--out", filepath.Join(dir, "m"), "--cv", "1"}, "cv folds 1"},
		{"eval without flags", Eval, nil, "--model and --data are required"},
		{"eval not a model", Eval, []string{"--model", notModel, "--data", data}, "not a gridflow classifier model"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var out, errOut bytes.Buffer
			err := tt.cmd(t.Context(), tt.args, &out, &errOut)
			if err == nil || !strings.Contains(err.Error(), tt.wantMsg) {
				t.Errorf("error = %v, want one containing %q", err, tt.wantMsg)
			}
		})
	}
	if _, err := os.Stat(filepath.Join(dir, "m")); !os.IsNotExist(err) {
		t.Errorf("a failed train left a model file behind: %v", err)
	}
}

var cvLast = regexp.MustCompile(`(?m)^macro_f1=[01]\.\d{4} sd=\d\.\d{4} folds=3 pooled_macro_f1=[01]\.\d{4} served_macro_f1=[01]\.\d{4} served_sd=\d\.\d{4}\n\z`)

func TestCV(t *testing.T) {
	t.Parallel()
	data := writeFixture(t, t.TempDir())
	run := func(args ...string) string {
		var out, errOut bytes.Buffer
		if err := CV(t.Context(), append([]string{"--data", data, "--folds", "3"}, args...), &out, &errOut); err != nil {
			t.Fatalf("cv: %v\nstderr:\n%s", err, errOut.String())
		}
		return out.String()
	}
	first := run()
	for i := 1; i <= 3; i++ {
		if !regexp.MustCompile(fmt.Sprintf(`(?m)^fold=%d macro_f1=[01]\.\d{4} accuracy=[01]\.\d{4} served_macro_f1=[01]\.\d{4} served_accuracy=[01]\.\d{4} n=8$`, i)).MatchString(first) {
			t.Errorf("no line for fold %d:\n%s", i, first)
		}
	}
	if !cvLast.MatchString(first) {
		t.Errorf("last line is not the mean, sd and pooled figure:\n%s", first)
	}
	if again := run(); again != first {
		t.Errorf("same seed, different output:\n%s\nthen:\n%s", first, again)
	}
	if !strings.Contains(run("--C", "0.5"), " C=0.5 ") {
		t.Error("--C is not applied")
	}
	// issue 15, round 3: the mean over fold seeds, and the new options.
	two := run("--seeds", "2")
	firstLast := first[strings.LastIndex(strings.TrimSuffix(first, "\n"), "\n")+1:]
	if !strings.Contains(two, "\nseed=1 "+firstLast) || !strings.Contains(two, "\nseed=2 fold=3 ") {
		t.Errorf("--seeds 2 does not repeat seed 1's figures and add seed 2's:\n%s", two)
	}
	if !regexp.MustCompile(`(?m)^seeds=1-2 macro_f1=[01]\.\d{4} seed_sd=\d\.\d{4} min=[01]\.\d{4} max=[01]\.\d{4} served_macro_f1=[01]\.\d{4} served_seed_sd=\d\.\d{4}\n\z`).MatchString(two) {
		t.Errorf("--seeds 2: last line is not the mean over seeds:\n%s", two)
	}
	if !strings.Contains(run("--nb-mix", "0.25", "--balance-power", "1.5"), " nb_mix=0.25 balance_power=1.5") {
		t.Error("--nb-mix or --balance-power is not applied")
	}
	if !strings.Contains(run("--words", "3", "--word-scp", "0.1"), " words=3-3 word_min_df=0 word_scp=0.1 ") {
		t.Error("--words or --word-scp is not applied")
	}
	var out, errOut bytes.Buffer
	if err := CV(t.Context(), []string{"--folds", "3"}, &out, &errOut); err == nil {
		t.Error("cv without --data succeeded")
	}
	if err := CV(t.Context(), []string{"--data", data, "--folds", "3", "--seeds", "0"}, &out, &errOut); err == nil {
		t.Error("cv with --seeds 0 succeeded")
	}
}
