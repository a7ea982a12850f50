package cli

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gridflow/gridflow/services/classify/internal/classifier"
)

func writeJSONL(t *testing.T, path string, rows [][3]string) string {
	t.Helper()
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	for _, r := range rows {
		if err := enc.Encode(map[string]string{"id": r[0], "label": r[1], "text": r[2]}); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// Three sources mixed with weights, on fixtures with known answers: the
// history says a contested text (楼顶水箱噪音) is 环境保护, the corrections say
// 城乡建设; the corrections win when they weigh more, the history when it
// does. The built-in corpus (item codes) is mapped to first-level names with
// the rest, and the history's held-out slice is left out.
func TestTrainMixesSourcesWithWeights(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	const contested = "楼顶水箱噪音"
	var hist, corr [][3]string
	for i := range 12 {
		hist = append(hist,
			[3]string{fmt.Sprintf("H%03d", i), "环境保护", fmt.Sprintf("第%d次反映 小区噪音扰民 油烟污染 排污", i)},
			[3]string{fmt.Sprintf("C%03d", i), "城乡建设", fmt.Sprintf("第%d次反映 小区违章搭建 物业 电梯故障", i)})
	}
	for i := range 3 {
		hist = append(hist, [3]string{fmt.Sprintf("X%03d", i), "环境保护", contested})
		corr = append(corr, [3]string{fmt.Sprintf("GF-20260301-%06d", i), "城乡建设", contested})
	}
	histPath := writeJSONL(t, filepath.Join(dir, "history.jsonl"), hist)
	corrPath := writeJSONL(t, filepath.Join(dir, "corrections.jsonl"), corr)

	var heldOut int
	for _, r := range hist {
		if classifier.InHoldout(r[0]) {
			heldOut++
		}
	}
	for _, tc := range []struct {
		histWeight, corrWeight string
		want                   string
	}{
		{"1", "10", "城乡建设"},
		{"10", "1", "环境保护"},
	} {
		model := filepath.Join(dir, "m-"+tc.histWeight+".model")
		var out, errOut bytes.Buffer
		args := []string{"--source", "history:" + tc.histWeight + "=" + histPath, "--source", "corrections:" + tc.corrWeight + "=" + corrPath,
			"--source", "builtin:0.5", "--label", "first-level", "--cv", "2", "--out", model}
		if err := Train(t.Context(), args, &out, &errOut); err != nil {
			t.Fatalf("train %v: %v\n%s", args, err, errOut.String())
		}
		m, err := readModel(model)
		if err != nil {
			t.Fatal(err)
		}
		if got := m.Predict(contested, 1)[0].Label; got != tc.want {
			t.Errorf("history weight %s, corrections %s: %s predicted %s, want %s", tc.histWeight, tc.corrWeight, contested, got, tc.want)
		}
		info := m.Info()
		if len(info.Sources) != 3 {
			t.Fatalf("sources %+v", info.Sources)
		}
		h, c, b := info.Sources[0], info.Sources[1], info.Sources[2]
		if h.Kind != KindHistory || h.HeldOut != heldOut || h.Examples != len(hist)-heldOut || h.Weight != map[string]float64{"1": 1, "10": 10}[tc.histWeight] {
			t.Errorf("history source %+v, want %d examples, %d held out", h, len(hist)-heldOut, heldOut)
		}
		if c.Kind != KindCorrections || c.Examples != 3 || c.HeldOut != 0 || b.Kind != KindBuiltin || b.Weight != 0.5 || b.Examples < 500 {
			t.Errorf("corrections %+v, builtin %+v", c, b)
		}
		// Every label is a first-level class name, the built-in corpus's
		// item codes included.
		for _, l := range m.Labels() {
			if strings.HasPrefix(l, "H") || strings.ContainsAny(l, "0123456789") {
				t.Errorf("label %q is not a first-level class name", l)
			}
		}
		if !strings.Contains(out.String(), "source history "+histPath+" weight=") {
			t.Errorf("train output names no sources:\n%s", out.String())
		}
	}
}

func TestSourceFlagIsChecked(t *testing.T) {
	t.Parallel()
	for _, bad := range []string{"history", "history:0=x.jsonl", "history:-1=x", "history:abc=x", "builtin=x.jsonl", "other=x", "corrections:"} {
		if _, err := parseSource(bad); err == nil {
			t.Errorf("--source %q accepted", bad)
		}
	}
	got, err := parseSource("corrections:2.5=/tmp/a=b.jsonl")
	if err != nil || got != (sourceSpec{kind: KindCorrections, path: "/tmp/a=b.jsonl", weight: 2.5}) {
		t.Errorf("parse = %+v, %v", got, err)
	}
	var out, errOut bytes.Buffer
	if err := Train(t.Context(), []string{"--source", "builtin", "--default", "--out", "x"}, &out, &errOut); err == nil {
		t.Error("--source with --default accepted")
	}
}
