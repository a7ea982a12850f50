package main

import (
	"bytes"
	"strings"
	"testing"

	dispatchv1 "github.com/gridflow/gridflow/proto/gen/go/gridflow/dispatch/v1"
	eventsv1 "github.com/gridflow/gridflow/proto/gen/go/gridflow/events/v1"
	feedbackv1 "github.com/gridflow/gridflow/proto/gen/go/gridflow/feedback/v1"
)

// The lever commands check what they can before anything is dialled, and
// the error names the flag or argument (as TestFlagErrors does for the
// others). Nothing listens on the port: a value that slipped through would
// fail with Unavailable instead.
func TestLeverFlagErrors(t *testing.T) {
	t.Setenv("GRIDFLOW_RUN_DIR", t.TempDir())
	t.Setenv("GRIDFLOW_TOKEN", "")
	const task = "0194f5c0-0000-7000-8000-00000000000a"
	const number = "GF-20260302-000001"
	for _, tc := range []struct {
		args []string
		want []string
	}{
		{[]string{"dispatch", "task", "forward", task}, []string{`required flag(s) "to" not set`}},
		{[]string{"dispatch", "task", "forward"}, []string{"accepts 1 arg(s), received 0"}},
		{[]string{"dispatch", "task", "progress", task}, []string{`required flag(s) "text" not set`}},
		{[]string{"dispatch", "task", "review", task}, []string{"exactly one of --approve, --return"}},
		{[]string{"dispatch", "task", "review", task, "--approve", "--return"}, []string{"exactly one of --approve, --return"}},
		{[]string{"dispatch", "task", "supervise"}, []string{"accepts 1 arg(s), received 0"}},
		{[]string{"dispatch", "task", "supervise", task, "--as", "boss"}, []string{"--as", `unknown role "boss"`}},
		{[]string{"dispatch", "case", "reassign", number}, []string{`required flag(s) "to" not set`}},
		{[]string{"dispatch", "case", "reassign", "GF-1", "--to", "310106022-cgzd"}, []string{`"GF-1" is not a case number`}},
		{[]string{"dispatch", "case", "arbitrate", number}, []string{`required flag(s) "to" not set`}},
		{[]string{"dispatch", "case", "cancel", number}, []string{`required flag(s) "reason" not set`}},
		{[]string{"dispatch", "case", "park", number, "--reason", "r"}, []string{`required flag(s) "review-date" not set`}},
		{[]string{"dispatch", "case", "park", number, "--reason", "r", "--review-date", "next week"}, []string{`--review-date "next week"`, "YYYY-MM-DD"}},
		{[]string{"dispatch", "case", "exclude", number}, []string{`required flag(s) "reason" not set`}},
		{[]string{"dispatch", "case", "unpark", "order no 1"}, []string{`"order no 1" is not a case reference`}},
		{[]string{"recheck", "record"}, []string{`required flag(s) "case" not set`}},
		{[]string{"recheck", "record", "--case", number}, []string{"exactly one of --passed, --failed"}},
		{[]string{"recheck", "record", "--case", "GF-1", "--passed"}, []string{"--case", "is not a case number"}},
		{[]string{"figures", "pareto", "--from", "March"}, []string{`--from "March"`, "YYYY-MM-DD"}},
		{[]string{"figures", "hotspots", "--from", "2026-03-10", "--to", "2026-03-01"}, []string{"--to 2026-03-01 is before --from 2026-03-10"}},
	} {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			args := append([]string{"--addr", "127.0.0.1:1", "--token", "t", "--timeout", "5s"}, tc.args...)
			out, _, err := gridctl(t, args...)
			if err == nil {
				t.Fatalf("gridctl %v succeeded:\n%s", tc.args, out)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("gridctl %v: error %q, want it to contain %q", tc.args, err, w)
				}
			}
			if strings.Contains(err.Error(), "Unavailable") {
				t.Errorf("gridctl %v dialled before checking its flags: %v", tc.args, err)
			}
		})
	}
}

func TestLeverOutput(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name  string
		print func(w *bytes.Buffer) error
		want  []string
	}{
		{"forward", func(w *bytes.Buffer) error {
			printForwarded(w, &dispatchv1.ForwardTaskResponse{Task: &dispatchv1.Task{TaskId: "T1"},
				NewTask: &dispatchv1.Task{TaskId: "T2", DepartmentCode: "310106022-cgzd",
					Deadlines: &eventsv1.Deadlines{Complete: deadline("2026-03-23 10:00", "2026-03-18 10:00")}}})
			return nil
		}, []string{"task T1 forwarded → task T2 for 310106022-cgzd (complete by 2026-03-23 10:00)"}},
		{"parked case", func(w *bytes.Buffer) error {
			_, err := w.WriteString(caseLine(&dispatchv1.DispatchCase{CaseId: "C1", CaseNumber: "GF-20260302-000001",
				Status: dispatchv1.CaseStatus_CASE_STATUS_PARKED, ParkReviewDate: "2026-03-09", Excluded: true}) + "\n")
			return err
		}, []string{"case GF-20260302-000001 C1: parked until review on 2026-03-09, excluded from assessment"}},
		{"routed case", func(w *bytes.Buffer) error {
			_, err := w.WriteString(caseLine(&dispatchv1.DispatchCase{CaseId: "C1", CaseNumber: "GF-20260302-000001",
				Status: dispatchv1.CaseStatus_CASE_STATUS_ROUTED, Deadlines: &eventsv1.Deadlines{Complete: deadline("2026-03-23 10:00", "2026-03-18 10:00")}}) + "\n")
			return err
		}, []string{"case GF-20260302-000001 C1: routed (complete by 2026-03-23 10:00)"}},
		{"pareto", func(w *bytes.Buffer) error {
			return printPareto(w, &feedbackv1.GetParetoResponse{Total: 10, Rows: []*feedbackv1.ParetoRow{
				{ItemCode: "06022", ItemName: "露天烧烤", Count: 8, Share: 0.8, Cumulative: 0.8, VitalFew: true},
				{ItemCode: "03001", ItemName: "垃圾箱破损", Count: 2, Share: 0.2, Cumulative: 1}}})
		}, []string{"ITEM NAME COUNT SHARE CUMULATIVE VITAL FEW", "06022 露天烧烤 8 80.0% 80.0% yes", "03001 垃圾箱破损 2 20.0% 100.0%", "total 10"}},
		{"hotspots", func(w *bytes.Buffer) error {
			return printHotspots(w, []*feedbackv1.Hotspot{{Kind: "place", Key: "共和新路1200弄", Current: 6, Baseline: 1.5, Score: 4, CaseIds: []string{"a", "b"}}})
		}, []string{"KIND KEY CURRENT BASELINE SCORE CASES", "place 共和新路1200弄 6 1.5 4.0 2"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var b bytes.Buffer
			if err := tc.print(&b); err != nil {
				t.Fatal(err)
			}
			if got := lines(b.String()); strings.Join(got, "\n") != strings.Join(tc.want, "\n") {
				t.Errorf("output:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(tc.want, "\n"))
			}
		})
	}
}
