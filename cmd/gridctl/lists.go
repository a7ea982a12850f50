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
	"strings"

	"github.com/gridflow/gridflow/pkg/excelcsv"
	"github.com/gridflow/gridflow/pkg/listexport"
	"github.com/spf13/cobra"
	"google.golang.org/grpc"

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

func newExportListsCmd(g *globals) *cobra.Command {
	var community, month, out string
	var limit int
	cmd := &cobra.Command{
		Use:   "lists",
		Short: "A community's three lists and month's figures as CSV files in a directory (减负)",
		Long: "Write problems.csv, needs.csv, services.csv, figures.csv and subjects.csv for a community and month\n" +
			"into --out: UTF-8 with a byte-order mark (Excel), text cells that would start a formula prefixed\n" +
			"with an apostrophe. The columns are documented in README.md (\"The three lists and the month's figures\").",
		RunE: func(cmd *cobra.Command, _ []string) error {
			if community == "" || month == "" || out == "" {
				return errors.New("--community, --month and --out are required")
			}
			period, err := listexport.Month(month, shanghai)
			if err != nil {
				return fmt.Errorf("--%w", err)
			}
			files, err := listsCall(cmd, g, func(ctx context.Context, c feedbackv1.ListsServiceClient) ([]listexport.File, error) {
				return listexport.Fetch(ctx, c, community, month, period, int32(limit))
			})
			if err != nil {
				return err
			}
			if err := os.MkdirAll(out, 0o755); err != nil {
				return err
			}
			for _, f := range files {
				path := filepath.Join(out, f.Name)
				if err := writeFile(path, f); err != nil {
					return err
				}
				fmt.Fprintf(cmd.OutOrStdout(), "%s\t%d rows\n", path, len(f.Rows)-1)
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

func writeFile(path string, f listexport.File) (err error) {
	out, err := os.Create(path)
	if err != nil {
		return err
	}
	defer func() {
		if cerr := out.Close(); err == nil {
			err = cerr
		}
	}()
	return f.Write(out)
}
