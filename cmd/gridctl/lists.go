package main

// The three lists (issue 20): gridctl needs import FILE.csv, and gridctl
// export lists, which writes a community's lists and month's figures as
// Excel-safe CSV files (pkg/excelcsv) for it to hand in (减负).

import (
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/gridflow/gridflow/pkg/excelcsv"
	"github.com/spf13/cobra"
	"google.golang.org/grpc"
	"google.golang.org/protobuf/types/known/timestamppb"

	feedbackv1 "github.com/gridflow/gridflow/proto/gen/go/gridflow/feedback/v1"
)

// addListsCommands adds gridctl needs and gridctl export lists.
func addListsCommands(root *cobra.Command, g *globals) {
	root.AddCommand(newNeedsCmd(g))
	for _, c := range root.Commands() {
		if c.Name() == "export" {
			c.AddCommand(newExportListsCmd(g))
			return
		}
	}
}

func listsCall[T any](cmd *cobra.Command, g *globals, fn func(context.Context, feedbackv1.ListsServiceClient) (T, error)) (T, error) {
	var zero T
	conn, err := g.dial(svcFeedback)
	if err != nil {
		return zero, err
	}
	defer conn.Close()
	ctx, cancel := g.ctx(cmd.Context())
	defer cancel()
	out, err := fn(ctx, feedbackv1.NewListsServiceClient(conn))
	if err != nil {
		return zero, explain(err)
	}
	return out, nil
}

// surveyColumns are the needs survey CSV's columns, found by name in its
// header (any order; other columns are ignored).
var surveyColumns = []string{"household", "community", "category", "level"}

func newNeedsCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{Use: "needs", Short: "Needs surveys (社区分析工具): import a survey"}
	var id, title string
	var batch int
	imp := &cobra.Command{
		Use:   "import FILE.csv",
		Short: "Import a needs survey: one row per household answer (household,community,category,level)",
		Long: "Import a needs survey. The CSV has a header naming the columns household (the questionnaire's\n" +
			"number: counts households, never stored), community (12-digit code), category (a code or name of\n" +
			"servicecategories.yaml) and level (0–3 or 无/低/中/高). feedback aggregates the answers on import to\n" +
			"counts per community × category × level; importing the same survey id again with the same answers\n" +
			"returns the first result, with other answers it is refused. Progress goes to stderr.",
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if id == "" {
				return errors.New("--survey-id is required: the import's idempotency key")
			}
			if batch < 1 || batch > 10000 {
				return fmt.Errorf("--batch %d: want 1–10000", batch)
			}
			f, err := os.Open(args[0])
			if err != nil {
				return err
			}
			defer f.Close()
			return importSurvey(cmd, g, f, id, title, batch)
		},
	}
	imp.Flags().StringVar(&id, "survey-id", "", "the survey's id (required; the same id imports once)")
	imp.Flags().StringVar(&title, "title", "", "the survey's title")
	imp.Flags().IntVar(&batch, "batch", 500, "answers per message")
	cmd.AddCommand(imp)
	return cmd
}

func importSurvey(cmd *cobra.Command, g *globals, in io.Reader, id, title string, batch int) error {
	r := csv.NewReader(in)
	r.FieldsPerRecord = -1
	header, err := r.Read()
	if err != nil {
		return fmt.Errorf("the survey's header: %w", err)
	}
	col := map[string]int{}
	for i, h := range header {
		col[strings.ToLower(strings.TrimSpace(strings.TrimPrefix(h, excelcsv.BOM)))] = i
	}
	for _, c := range surveyColumns {
		if _, ok := col[c]; !ok {
			return fmt.Errorf("the survey's header lacks column %q (want %s)", c, strings.Join(surveyColumns, ","))
		}
	}
	conn, err := g.dial(svcFeedback)
	if err != nil {
		return err
	}
	defer conn.Close()
	ctx, cancel := g.ctx(cmd.Context())
	defer cancel()
	stream, err := feedbackv1.NewListsServiceClient(conn).ImportNeedsSurvey(ctx)
	if err != nil {
		return explain(err)
	}
	progress := cmd.ErrOrStderr()
	req := &feedbackv1.ImportNeedsSurveyRequest{SurveyId: id, Title: title}
	sent := 0
	send := func() error {
		if err := stream.Send(req); err != nil {
			return err
		}
		sent += len(req.Answers)
		fmt.Fprintf(progress, "sent %d answers\n", sent)
		req = &feedbackv1.ImportNeedsSurveyRequest{SurveyId: id}
		return nil
	}
	cell := func(rec []string, name string) string {
		if i := col[name]; i < len(rec) {
			return strings.TrimSpace(rec[i])
		}
		return ""
	}
	for line := 2; ; line++ {
		rec, err := r.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return fmt.Errorf("%s: %w", "the survey", err)
		}
		req.Answers = append(req.Answers, &feedbackv1.SurveyAnswer{Line: int32(line), Household: cell(rec, "household"),
			CommunityCode: cell(rec, "community"), Category: cell(rec, "category"), Level: cell(rec, "level")})
		if len(req.Answers) == batch {
			if err := send(); err != nil {
				return closeErr(stream, err)
			}
		}
	}
	if len(req.Answers) > 0 || sent == 0 {
		if err := send(); err != nil {
			return closeErr(stream, err)
		}
	}
	res, err := stream.CloseAndRecv()
	if err != nil {
		return explain(err)
	}
	if g.asJSON {
		return printProto(cmd.OutOrStdout(), res)
	}
	again := ""
	if res.GetReplayed() {
		again = " (imported before with the same answers: nothing changed)"
	}
	fmt.Fprintf(cmd.OutOrStdout(), "survey %s: %d answers, %d households in %d communities%s\n", res.GetSurveyId(), res.GetAnswers(),
		res.GetHouseholds(), res.GetCommunities(), again)
	return nil
}

// closeErr is the server's answer when a Send failed because the server
// ended the stream (a refused answer): io.EOF from Send means the status
// waits in CloseAndRecv.
func closeErr(stream grpc.ClientStreamingClient[feedbackv1.ImportNeedsSurveyRequest, feedbackv1.ImportNeedsSurveyResponse], err error) error {
	if errors.Is(err, io.EOF) {
		_, err = stream.CloseAndRecv()
	}
	return explain(err)
}

// The export's files and their columns (README: "gridctl export lists").
var (
	problemsColumns = []string{"community_code", "month", "kind", "rank", "key", "name", "count", "share", "cumulative", "vital_few"}
	needsColumns    = []string{"community_code", "rank", "category_code", "category_name", "households", "asking", "share",
		"level_无", "level_低", "level_中", "level_高", "cases", "services"}
	servicesColumns = []string{"community_code", "category_code", "category_name", "asking", "share", "cases", "answered",
		"service_id", "organisation", "service_name", "contact"}
	figuresColumns = []string{"month", "level", "area_code", "area_name", "cases", "valid_callbacks", "response_rate",
		"resolution_rate", "satisfaction_rate", "composite", "to_handle", "handled_on_time", "on_time_rate", "self_disposed",
		"inspections_done", "inspections_missed"}
	subjectsColumns = []string{"month", "level", "area_code", "area_name", "item_code", "item_name", "count"}
)

func newExportListsCmd(g *globals) *cobra.Command {
	var community, month, out string
	var limit int
	cmd := &cobra.Command{
		Use:   "lists",
		Short: "A community's three lists and month's figures as CSV files in a directory (减负)",
		Long: "Write problems.csv, needs.csv, services.csv, figures.csv and subjects.csv for a community and month\n" +
			"into --out: UTF-8 with a byte-order mark (Excel), text cells that would start a formula prefixed\n" +
			"with an apostrophe. The columns are documented in README.md (\"gridctl export lists\").",
		RunE: func(cmd *cobra.Command, _ []string) error {
			if community == "" || month == "" || out == "" {
				return errors.New("--community, --month and --out are required")
			}
			start, err := time.ParseInLocation("2006-01", month, shanghai)
			if err != nil {
				return fmt.Errorf("--month %q: want YYYY-MM", month)
			}
			period := &feedbackv1.Period{Start: timestamppb.New(start), End: timestamppb.New(start.AddDate(0, 1, 0))}
			files, err := exportLists(cmd, g, community, month, period, int32(limit))
			if err != nil {
				return err
			}
			if err := os.MkdirAll(out, 0o755); err != nil {
				return err
			}
			for _, f := range files {
				if err := writeCSV(filepath.Join(out, f.name), f.rows); err != nil {
					return err
				}
				fmt.Fprintf(cmd.OutOrStdout(), "%s\t%d rows\n", filepath.Join(out, f.name), len(f.rows)-1)
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&community, "community", "", "the 12-digit community code (required)")
	cmd.Flags().StringVar(&month, "month", "", "the month, YYYY-MM in Asia/Shanghai (required)")
	cmd.Flags().StringVar(&out, "out", "", "directory to write the CSV files into (required; created)")
	cmd.Flags().IntVar(&limit, "limit", 50, "rows of each problem list")
	return cmd
}

type csvFile struct {
	name string
	rows [][]string
}

func exportLists(cmd *cobra.Command, g *globals, community, month string, period *feedbackv1.Period, limit int32) ([]csvFile, error) {
	pl, err := listsCall(cmd, g, func(ctx context.Context, c feedbackv1.ListsServiceClient) (*feedbackv1.GetProblemListResponse, error) {
		return c.GetProblemList(ctx, &feedbackv1.GetProblemListRequest{AreaCode: community, Period: period, Limit: limit})
	})
	if err != nil {
		return nil, err
	}
	nl, err := listsCall(cmd, g, func(ctx context.Context, c feedbackv1.ListsServiceClient) (*feedbackv1.GetNeedsListResponse, error) {
		return c.GetNeedsList(ctx, &feedbackv1.GetNeedsListRequest{AreaCode: community, Period: period})
	})
	if err != nil {
		return nil, err
	}
	sl, err := listsCall(cmd, g, func(ctx context.Context, c feedbackv1.ListsServiceClient) (*feedbackv1.GetServiceListResponse, error) {
		return c.GetServiceList(ctx, &feedbackv1.GetServiceListRequest{AreaCode: community, Period: period})
	})
	if err != nil {
		return nil, err
	}
	mf, err := listsCall(cmd, g, func(ctx context.Context, c feedbackv1.ListsServiceClient) (*feedbackv1.GetMonthFiguresResponse, error) {
		return c.GetMonthFigures(ctx, &feedbackv1.GetMonthFiguresRequest{CommunityCode: community, Month: month})
	})
	if err != nil {
		return nil, err
	}
	return listsFiles(community, month, pl, nl, sl, mf), nil
}

func listsFiles(community, month string, pl *feedbackv1.GetProblemListResponse, nl *feedbackv1.GetNeedsListResponse,
	sl *feedbackv1.GetServiceListResponse, mf *feedbackv1.GetMonthFiguresResponse) []csvFile {
	problems := [][]string{problemsColumns}
	for _, k := range []struct {
		kind string
		rows []*feedbackv1.ProblemRow
	}{{"subject", pl.GetSubjects()}, {"place", pl.GetPlaces()}} {
		for i, r := range k.rows {
			problems = append(problems, []string{community, month, k.kind, itoa(i + 1), r.GetKey(), r.GetName(), itoa(int(r.GetCount())),
				ratio(r.GetShare()), ratio(r.GetCumulative()), strconv.FormatBool(r.GetVitalFew())})
		}
	}
	needs := [][]string{needsColumns}
	for i, n := range nl.GetNeeds() {
		levels := make([]string, 4)
		for j := range levels {
			if j < len(n.GetLevels()) {
				levels[j] = itoa(int(n.GetLevels()[j]))
			} else {
				levels[j] = "0"
			}
		}
		var names []string
		for _, v := range n.GetServices() {
			names = append(names, v.GetName())
		}
		row := []string{community, itoa(i + 1), n.GetCategoryCode(), n.GetCategoryName(), itoa(int(nl.GetHouseholds())),
			itoa(int(n.GetAsking())), ratio(n.GetShare())}
		row = append(row, levels...)
		needs = append(needs, append(row, itoa(int(n.GetCases())), strings.Join(names, "；")))
	}
	services := [][]string{servicesColumns}
	for _, n := range sl.GetNeeds() {
		head := []string{community, n.GetCategoryCode(), n.GetCategoryName(), itoa(int(n.GetAsking())), ratio(n.GetShare()),
			itoa(int(n.GetCases())), strconv.FormatBool(len(n.GetServices()) > 0)}
		if len(n.GetServices()) == 0 {
			services = append(services, append(head, "", "", "", ""))
		}
		for _, v := range n.GetServices() {
			services = append(services, append(append([]string(nil), head...), v.GetId(), v.GetOrganisation(), v.GetName(), v.GetContact()))
		}
	}
	figures := [][]string{figuresColumns}
	subjects := [][]string{subjectsColumns}
	for _, a := range mf.GetAreas() {
		figures = append(figures, []string{month, a.GetLevel(), a.GetAreaCode(), a.GetAreaName(), itoa(int(a.GetCases())),
			itoa(int(a.GetValidCallbacks())), ratio(a.GetResponseRate()), ratio(a.GetResolutionRate()), ratio(a.GetSatisfactionRate()),
			strconv.FormatFloat(a.GetComposite(), 'f', 2, 64), itoa(int(a.GetToHandle())), itoa(int(a.GetHandledOnTime())),
			ratio(a.GetOnTimeRate()), itoa(int(a.GetSelfDisposed())), itoa(int(a.GetInspectionsDone())), itoa(int(a.GetInspectionsMissed()))})
		for _, s := range a.GetSubjects() {
			subjects = append(subjects, []string{month, a.GetLevel(), a.GetAreaCode(), a.GetAreaName(), s.GetItemCode(), s.GetItemName(),
				itoa(int(s.GetCount()))})
		}
	}
	return []csvFile{{"problems.csv", problems}, {"needs.csv", needs}, {"services.csv", services}, {"figures.csv", figures},
		{"subjects.csv", subjects}}
}

func itoa(n int) string { return strconv.Itoa(n) }

// ratio writes a fraction with four decimals (0.8750).
func ratio(f float64) string { return strconv.FormatFloat(f, 'f', 4, 64) }

func writeCSV(path string, rows [][]string) (err error) {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	defer func() {
		if cerr := f.Close(); err == nil {
			err = cerr
		}
	}()
	w := excelcsv.NewWriter(f)
	for _, r := range rows {
		if err := w.Write(r); err != nil {
			return err
		}
	}
	return w.Flush()
}
