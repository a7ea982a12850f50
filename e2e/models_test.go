package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/gridflow/gridflow/pkg/auth"
	"google.golang.org/protobuf/proto"

	eventsv1 "github.com/gridflow/gridflow/proto/gen/go/gridflow/events/v1"
	intakev1 "github.com/gridflow/gridflow/proto/gen/go/gridflow/intake/v1"
)

// writeHistory writes a small city history with known answers: three
// first-level classes, each with its own words.
func writeHistory(t *testing.T, path string) {
	t.Helper()
	subjects := map[string][]string{
		"城乡建设": {"违章搭建", "物业不作为", "电梯故障", "群租房", "装修扰民拆墙"},
		"环境保护": {"油烟污染", "工厂排污", "河道发臭", "烧垃圾冒烟", "粉尘污染"},
		"交通运输": {"公交不停站", "出租车拒载", "道路拥堵", "公交线路调整", "网约车绕路"},
	}
	fillers := []string{"我们小区", "请尽快处理", "已经好几天了", "居民反映", "希望相关部门解决", "多次投诉无果"}
	var b strings.Builder
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	for _, label := range []string{"城乡建设", "环境保护", "交通运输"} {
		s := subjects[label]
		for i := range 80 {
			text := fmt.Sprintf("%s%s，%s%s。%s", fillers[i%6], s[i%5], s[(i+2)%5], fillers[(i+1)%6], fillers[(i+3)%6])
			if err := enc.Encode(map[string]string{"id": fmt.Sprintf("%s-%03d", label, i), "label": label, "text": text}); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
}

var modelWritten = regexp.MustCompile(`model ([0-9a-f]{12}) written`)

func trainModel(t *testing.T, bin string, args ...string) string {
	t.Helper()
	out, err := exec.Command(filepath.Join(bin, "classify"), append([]string{"train"}, args...)...).CombinedOutput()
	if err != nil {
		t.Fatalf("classify train %v: %v\n%s", args, err, out)
	}
	m := modelWritten.FindSubmatch(out)
	if m == nil {
		t.Fatalf("classify train %v names no model:\n%s", args, out)
	}
	return string(m[1])
}

// The promotion gate with real processes: classify starts with a city's
// model trained by `classify train --source history=…`, which becomes the
// first live model; a worse model put in its place is refused by `gridctl
// classify reload` with its figures and the live one stays; `gridctl
// classify models` shows both, to admin and dispatchers only.
func TestModelGateWithGridctl(t *testing.T) {
	bin := binDir(t)
	dir := t.TempDir()
	hist := filepath.Join(dir, "history.jsonl")
	writeHistory(t, hist)
	modelPath := filepath.Join(dir, "city.model")
	good := trainModel(t, bin, "--source", "history="+hist, "--cv", "2", "--out", modelPath)
	worse := trainModel(t, bin, "--default", "--out", filepath.Join(dir, "worse.model"))
	t.Setenv("CLASSIFY_MODEL_FILE", modelPath)
	t.Setenv("CLASSIFY_HISTORY_FILE", hist)
	s := startStack(t, "classify")
	s.pointGridctl(t)

	out, err := s.gridctl(t, "classify", "models")
	if err != nil || !strings.Contains(out, good+"  live") || !strings.Contains(out, "made live") ||
		!strings.Contains(out, "source history "+hist+" weight 1") {
		t.Fatalf("classify models at start = %v\n%s", err, out)
	}

	worseBytes, err := os.ReadFile(filepath.Join(dir, "worse.model"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(modelPath, worseBytes, 0o644); err != nil {
		t.Fatal(err)
	}
	s.gridctlFails(t, []string{"FailedPrecondition", "model " + worse + " refused by the gate", "accuracy", good + " stays live"},
		"classify", "reload")

	dispatcher, hotline := gridctlToken(t, s, "dispatcher", "310106022"), gridctlToken(t, s, "hotline", "")
	out, err = s.gridctl(t, "--token", dispatcher, "classify", "models")
	if err != nil || !strings.Contains(out, worse+"  refused") || !strings.Contains(out, good+"  live") ||
		!strings.Contains(out, "live "+good+" then: accuracy") {
		t.Errorf("classify models after the refusal = %v\n%s", err, out)
	}
	s.gridctlFails(t, []string{"PermissionDenied"}, "--token", hotline, "classify", "models")
	s.gridctlFails(t, []string{"PermissionDenied"}, "--token", dispatcher, "classify", "retrain")
	// No corrections yet: retraining has nothing to learn from.
	s.gridctlFails(t, []string{"FailedPrecondition", "no dispatcher corrections"}, "classify", "retrain")
}

// gridctlToken mints a token for role (and subject) with the stack's key.
func gridctlToken(t *testing.T, s *stack, role, subject string) string {
	t.Helper()
	args := []string{"auth", "issue", "--role", role}
	if subject != "" {
		args = append(args, "--subject", subject)
	}
	out, err := s.gridctl(t, args...)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	return lines[len(lines)-1]
}

// Retraining on demand with real processes: a dispatcher's correction of a
// case whose text holds a phone number is exported masked, and `gridctl
// classify retrain` trains on the history and that correction (weight 2)
// and puts the model through the gate, which records it as retrained.
func TestRetrainOnDemandWithGridctl(t *testing.T) {
	bin := binDir(t)
	dir := t.TempDir()
	hist := filepath.Join(dir, "history.jsonl")
	writeHistory(t, hist)
	modelPath := filepath.Join(dir, "city.model")
	first := trainModel(t, bin, "--source", "history="+hist, "--cv", "2", "--out", modelPath)
	t.Setenv("CLASSIFY_MODEL_FILE", modelPath)
	t.Setenv("CLASSIFY_HISTORY_FILE", hist)
	s := startStack(t, "intake", "classify")
	s.pointGridctl(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()

	hotline := intakev1.NewIntakeServiceClient(s.dial(t, "intake", auth.Principal{Role: auth.RoleHotline}))
	wo := workOrder(fmt.Sprintf("E2E-RETRAIN-%d", time.Now().UnixNano()))
	wo.Title, wo.Content = "楼道充电", "楼道里有人给电动车飞线充电，很危险，请回电13812345678。"
	resp, err := hotline.SubmitWorkOrder(ctx, &intakev1.SubmitWorkOrderRequest{WorkOrder: wo})
	if err != nil {
		t.Fatal(err)
	}
	caseID := resp.GetSubmission().GetCaseId()
	// The case's first two events: intake's case.received, then classify's
	// decision — only after that does classify hold the case to correct.
	var env eventsv1.Envelope
	if err := proto.Unmarshal(s.events(t, "grid.case.*.310106.310106022", 2, time.Minute)[1].Data(), &env); err != nil {
		t.Fatal(err)
	}
	// Whatever the model made of it, a dispatcher files it under 违章搭建.
	verb := []string{"classify", "reclassify"}
	if env.GetType() == "case.review_needed" {
		verb = []string{"review", "resolve"}
	}
	if out, err := s.gridctl(t, append(verb, caseID, "H01001", "--note", "飞线充电")...); err != nil {
		t.Fatalf("%v: %v\n%s", verb, err, out)
	}
	out, err := s.gridctl(t, "export", "corrections")
	if err != nil || !strings.Contains(out, "请回电138****5678") || strings.Contains(out, "13812345678") {
		t.Fatalf("export corrections = %v\n%s\nwant the phone number masked", err, out)
	}

	out, err = s.gridctl(t, "classify", "retrain")
	if err != nil || !strings.Contains(out, "is live (was "+first+")") {
		t.Fatalf("classify retrain = %v\n%s", err, out)
	}
	out, err = s.gridctl(t, "classify", "models")
	if err != nil || !strings.Contains(out, "live     retrained") || !strings.Contains(out, "source corrections classify.corrections weight 2: 1 examples") ||
		!strings.Contains(out, first+"  retired") {
		t.Errorf("classify models after retraining = %v\n%s", err, out)
	}
}

// issue 15, the item model in the registry: writeItemLabels writes
// messages with hand-read item labels (property charges H01002, road damage
// class only H01000), every third in the held-out slice, and the labels; swap
// labels the tuning slice the wrong way round (a worse item model's
// training).
func writeItemLabels(t *testing.T, dir string, swap bool) (labels, texts string) {
	t.Helper()
	var lb, tx strings.Builder
	enc := json.NewEncoder(&tx)
	enc.SetEscapeHTML(false)
	for i := range 30 {
		slice := "tuning"
		if i%3 == 0 {
			slice = "held-out"
		}
		for j, m := range []struct{ code, other, text string }{
			{"H01002", "H01000", fmt.Sprintf("物业乱收费%d，物业公司不公示账目，物业费太贵", i)},
			{"H01000", "H01002", fmt.Sprintf("小区门口道路坑洼%d，下雨积水，道路没人修", i)},
		} {
			id := fmt.Sprintf("D%03d", 2*i+j)
			if err := enc.Encode(map[string]string{"id": id, "label": "城乡建设", "text": m.text}); err != nil {
				t.Fatal(err)
			}
			code := m.code
			if swap && slice == "tuning" {
				code = m.other
			}
			fmt.Fprintf(&lb, "%s\t%s\t%s\n", id, code, slice)
		}
	}
	name := "labels.tsv"
	if swap {
		name = "swapped.tsv"
	}
	labels, texts = filepath.Join(dir, name), filepath.Join(dir, "dev.jsonl")
	for p, s := range map[string]string{labels: lb.String(), texts: tx.String()} {
		if err := os.WriteFile(p, []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return labels, texts
}

// writeItemHistory writes a city history whose model knows the item
// labels' messages well: 城乡建设 (property charges, road damage) and
// 劳动和社会保障 (pensions).
func writeItemHistory(t *testing.T, path string) {
	t.Helper()
	var b strings.Builder
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	for i := range 60 {
		for j, m := range []struct{ label, text string }{
			{"城乡建设", fmt.Sprintf("物业乱收费第%d回，物业公司不公示账目，物业费太贵", i)},
			{"城乡建设", fmt.Sprintf("门口道路坑洼第%d回，下雨积水，道路没人修", i)},
			{"劳动和社会保障", fmt.Sprintf("退休金第%d个月没有发放，社保待遇迟迟不到账", i)},
		} {
			if err := enc.Encode(map[string]string{"id": fmt.Sprintf("T%03d", 3*i+j), "label": m.label, "text": m.text}); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
}

var itemModelWritten = regexp.MustCompile(`item model (items-[0-9a-f]{12}) written`)

func trainItems(t *testing.T, bin string, args ...string) string {
	t.Helper()
	out, err := exec.Command(filepath.Join(bin, "classify"), append([]string{"train-items"}, args...)...).CombinedOutput()
	if err != nil {
		t.Fatalf("classify train-items %v: %v\n%s", args, err, out)
	}
	m := itemModelWritten.FindSubmatch(out)
	if m == nil {
		t.Fatalf("classify train-items %v names no item model:\n%s", args, out)
	}
	return string(m[1])
}

// The item model through the gate with real processes (issue 15): classify
// starts with an item model trained by `classify train-items --leave-out
// held-out`, which becomes the first live item model beside the class
// model; a worse one put in its place is refused by `gridctl classify
// reload` with its item figures and the live one stays; `gridctl classify
// models` shows both kinds.
func TestItemModelGateWithGridctl(t *testing.T) {
	bin := binDir(t)
	dir := t.TempDir()
	hist := filepath.Join(dir, "history.jsonl")
	writeItemHistory(t, hist)
	modelPath := filepath.Join(dir, "city.model")
	class := trainModel(t, bin, "--source", "history="+hist, "--cv", "2", "--out", modelPath)
	labels, texts := writeItemLabels(t, dir, false)
	swapped, _ := writeItemLabels(t, dir, true)
	itemsPath := filepath.Join(dir, "items.model")
	// Only the hand-read labels teach these item models, so the fixture knows their answers.
	common := []string{"--history", hist, "--data", texts, "--model", modelPath, "--leave-out", "held-out", "--item-w-builtin", "0", "--item-w-weak", "0", "--item-w-weak-class", "0"}
	good := trainItems(t, bin, append(common, "--items", labels, "--out", itemsPath)...)
	worse := trainItems(t, bin, append(common, "--items", swapped, "--out", filepath.Join(dir, "worse.items"))...)
	t.Setenv("CLASSIFY_MODEL_FILE", modelPath)
	t.Setenv("CLASSIFY_HISTORY_FILE", hist)
	t.Setenv("CLASSIFY_ITEM_MODEL_FILE", itemsPath)
	t.Setenv("CLASSIFY_ITEM_LABELS_FILE", labels)
	t.Setenv("CLASSIFY_ITEM_TEXTS_FILE", texts)
	s := startStack(t, "classify")
	s.pointGridctl(t)

	out, err := s.gridctl(t, "classify", "models")
	if err != nil || !strings.Contains(out, good+"  live     items") || !strings.Contains(out, class+"  live") ||
		!strings.Contains(out, "held-out: item_share") || !strings.Contains(out, "n=20") {
		t.Fatalf("classify models at start = %v\n%s", err, out)
	}
	worseBytes, err := os.ReadFile(filepath.Join(dir, "worse.items"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(itemsPath, worseBytes, 0o644); err != nil {
		t.Fatal(err)
	}
	s.gridctlFails(t, []string{"FailedPrecondition", "item model " + worse + " refused by the gate", "item_precision", good + " stays live"},
		"classify", "reload")
	out, err = s.gridctl(t, "classify", "models")
	if err != nil || !strings.Contains(out, worse+"  refused  items") || !strings.Contains(out, good+"  live     items") ||
		!strings.Contains(out, "live "+good+" then: item_share") {
		t.Errorf("classify models after the refusal = %v\n%s", err, out)
	}
	// The class model was not touched by the item model's refusal.
	if !strings.Contains(out, class+"  live") {
		t.Errorf("the class model is no longer live:\n%s", out)
	}
}
