package main

// The actions of the APIs the other commands did not reach (issue 18):
//
//	dispatch task forward|progress|review|supervise TASK_ID …   (a unit's, a dispatcher's)
//	dispatch case reassign|arbitrate|cancel|park|unpark|exclude CASE …  (a dispatcher's)
//	recheck record --case CASE (--passed | --failed)            (核查)
//	figures pareto|hotspots [--area CODE] [--from --to]         (the figures behind the boards)
//
// Each prints one line (or a table) and, with --json, the response as
// protojson; each takes --as to act as a principal minted with the
// development key, like the task commands. A CASE is a case id, case
// number or hotline order number: a number is looked up in feedback as the
// same principal.

import (
	"context"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/gridflow/gridflow/pkg/caseref"
	dispatchv1 "github.com/gridflow/gridflow/proto/gen/go/gridflow/dispatch/v1"
	feedbackv1 "github.com/gridflow/gridflow/proto/gen/go/gridflow/feedback/v1"
)

// addLeverCommands hangs the commands above where they belong.
func addLeverCommands(root *cobra.Command, g *globals) {
	for _, c := range root.Commands() {
		if c.Name() != "dispatch" {
			continue
		}
		for _, sub := range c.Commands() {
			if sub.Name() == "task" {
				sub.AddCommand(taskLeverCmds(g)...)
			}
		}
		c.AddCommand(newCaseLeversCmd(g))
	}
	root.AddCommand(newRecheckCmd(g), newFiguresCmd(g))
}

// inheritedAs reads the --as of the command's parent (dispatch task's).
func inheritedAs(cmd *cobra.Command) *dispatchFlags {
	d := &dispatchFlags{}
	if f := cmd.Flag("as"); f != nil {
		d.as = f.Value.String()
	}
	return d
}

func taskLeverCmds(g *globals) []*cobra.Command {
	var note, reqID, to, text string
	var onSite, approve, ret bool
	forward := &cobra.Command{
		Use:   "forward TASK_ID --to DEPT [--note TEXT]",
		Short: "Hand a signed-for task on to a street office or team of the bureau (转派; the bureau)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			resp, err := call(cmd, g, inheritedAs(cmd), func(ctx context.Context, c dispatchv1.DispatchServiceClient) (*dispatchv1.ForwardTaskResponse, error) {
				return c.ForwardTask(ctx, &dispatchv1.ForwardTaskRequest{RequestId: orNewID(reqID), TaskId: args[0], DepartmentCode: to, Note: note})
			})
			if err != nil {
				return err
			}
			if g.asJSON {
				return printProto(cmd.OutOrStdout(), resp)
			}
			printForwarded(cmd.OutOrStdout(), resp)
			return nil
		},
	}
	forward.Flags().StringVar(&to, "to", "", "the sub-unit's department code (required)")
	_ = forward.MarkFlagRequired("to")

	progress := &cobra.Command{
		Use:   "progress TASK_ID --text TEXT [--on-site]",
		Short: "Report progress on a task (阶段性答复; the unit)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			resp, err := call(cmd, g, inheritedAs(cmd), func(ctx context.Context, c dispatchv1.DispatchServiceClient) (*dispatchv1.ReportProgressResponse, error) {
				return c.ReportProgress(ctx, &dispatchv1.ReportProgressRequest{RequestId: orNewID(reqID), TaskId: args[0], Text: text, OnSite: onSite})
			})
			return printTask(cmd, g, resp.GetTask(), err)
		},
	}
	progress.Flags().StringVar(&text, "text", "", "what was done so far (required)")
	progress.Flags().BoolVar(&onSite, "on-site", false, "the unit is on site (stops the on-site clock)")
	_ = progress.MarkFlagRequired("text")

	review := &cobra.Command{
		Use:   "review TASK_ID (--approve | --return --note TEXT)",
		Short: "Approve a completion or return it for rework (办结审核; dispatcher)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			req := &dispatchv1.ReviewCompletionRequest{RequestId: orNewID(reqID), TaskId: args[0], Note: note}
			switch {
			case approve == ret:
				return fmt.Errorf("give exactly one of --approve, --return")
			case approve:
				req.Decision = dispatchv1.ReviewDecision_REVIEW_DECISION_APPROVE
			default:
				req.Decision = dispatchv1.ReviewDecision_REVIEW_DECISION_RETURN
			}
			resp, err := call(cmd, g, inheritedAs(cmd), func(ctx context.Context, c dispatchv1.DispatchServiceClient) (*dispatchv1.ReviewCompletionResponse, error) {
				return c.ReviewCompletion(ctx, req)
			})
			return printTask(cmd, g, resp.GetTask(), err)
		},
	}
	review.Flags().BoolVar(&approve, "approve", false, "approve the completion")
	review.Flags().BoolVar(&ret, "return", false, "return it for rework (needs --note)")

	supervise := &cobra.Command{
		Use:   "supervise TASK_ID [--note TEXT]",
		Short: "Put a task under supervision (督办; dispatcher)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			resp, err := call(cmd, g, inheritedAs(cmd), func(ctx context.Context, c dispatchv1.DispatchServiceClient) (*dispatchv1.SuperviseResponse, error) {
				return c.Supervise(ctx, &dispatchv1.SuperviseRequest{RequestId: orNewID(reqID), TaskId: args[0], Note: note})
			})
			return printTask(cmd, g, resp.GetTask(), err)
		},
	}
	cmds := []*cobra.Command{forward, progress, review, supervise}
	for _, c := range cmds {
		c.Flags().StringVar(&reqID, "request-id", "", "idempotency key (default: a new one)")
		if c != progress {
			c.Flags().StringVar(&note, "note", "", "note")
		}
	}
	return cmds
}

// printForwarded is task forward's line.
func printForwarded(w io.Writer, resp *dispatchv1.ForwardTaskResponse) {
	fmt.Fprintf(w, "task %s forwarded → task %s for %s (complete by %s)\n", resp.GetTask().GetTaskId(), resp.GetNewTask().GetTaskId(),
		resp.GetNewTask().GetDepartmentCode(), when(resp.GetNewTask().GetDeadlines().GetComplete().GetDue()))
}

// caseID turns a case reference into the id dispatch takes, looking a
// number or order number up in feedback as d's principal.
func caseID(cmd *cobra.Command, g *globals, d *dispatchFlags, ref string) (string, error) {
	r, err := caseref.Parse(ref)
	if err != nil {
		return "", err
	}
	id, number, orderNo := r.Fields()
	if id != "" {
		return id, nil
	}
	conn, err := d.conn(g, svcFeedback)
	if err != nil {
		return "", err
	}
	defer conn.Close()
	ctx, cancel := g.ctx(cmd.Context())
	defer cancel()
	resp, err := feedbackv1.NewFeedbackServiceClient(conn).GetCase(ctx, &feedbackv1.GetCaseRequest{CaseNumber: number, HotlineOrderNo: orderNo})
	if err != nil {
		return "", fmt.Errorf("looking up %s: %w", ref, explain(err))
	}
	return resp.GetCase().GetCaseId(), nil
}

func newCaseLeversCmd(g *globals) *cobra.Command {
	d := &dispatchFlags{}
	cmd := &cobra.Command{Use: "case", Short: "A dispatcher's decisions on a whole case: reassign, arbitrate, cancel, park, unpark, exclude"}
	d.register(cmd)
	var note, reqID, to, task, reason, reviewDate string

	// caseCmd builds one command taking CASE; check validates flags first,
	// run calls dispatch.
	caseCmd := func(use, short string, check func() error, run func(ctx context.Context, c dispatchv1.DispatchServiceClient, id string) (any, error)) *cobra.Command {
		return &cobra.Command{Use: use, Short: short, Args: cobra.ExactArgs(1),
			RunE: func(cmd *cobra.Command, args []string) error {
				if _, err := caseref.Parse(args[0]); err != nil {
					return err
				}
				if check != nil {
					if err := check(); err != nil {
						return err
					}
				}
				id, err := caseID(cmd, g, d, args[0])
				if err != nil {
					return err
				}
				out, err := call(cmd, g, d, func(ctx context.Context, c dispatchv1.DispatchServiceClient) (any, error) { return run(ctx, c, id) })
				if err != nil {
					return err
				}
				return printCaseLever(cmd, g, out)
			}}
	}
	reassign := caseCmd("reassign CASE --to DEPT [--task TASK_ID] [--note TEXT]",
		"Withdraw a task (default: the lead; a queued case: a new lead) and dispatch it to another unit (改派)", nil,
		func(ctx context.Context, c dispatchv1.DispatchServiceClient, id string) (any, error) {
			return c.Reassign(ctx, &dispatchv1.ReassignRequest{RequestId: orNewID(reqID), CaseId: id, TaskId: task, DepartmentCode: to, Note: note})
		})
	reassign.Flags().StringVar(&task, "task", "", "the task to replace (default: the case's lead)")
	arbitrate := caseCmd("arbitrate CASE --to DEPT [--note TEXT]", "Decide which unit owns a case in arbitration (仲裁)", nil,
		func(ctx context.Context, c dispatchv1.DispatchServiceClient, id string) (any, error) {
			return c.Arbitrate(ctx, &dispatchv1.ArbitrateRequest{RequestId: orNewID(reqID), CaseId: id, DepartmentCode: to, Note: note})
		})
	for _, c := range []*cobra.Command{reassign, arbitrate} {
		c.Flags().StringVar(&to, "to", "", "the department code (required)")
		_ = c.MarkFlagRequired("to")
	}
	cancelCmd := caseCmd("cancel CASE --reason TEXT", "Cancel a case, withdrawing its open tasks", nil,
		func(ctx context.Context, c dispatchv1.DispatchServiceClient, id string) (any, error) {
			return c.CancelCase(ctx, &dispatchv1.CancelCaseRequest{RequestId: orNewID(reqID), CaseId: id, Reason: reason})
		})
	park := caseCmd("park CASE --reason TEXT --review-date YYYY-MM-DD", "Park a case (挂账): its clock stops until it is unparked",
		func() error {
			if _, err := time.Parse("2006-01-02", reviewDate); err != nil {
				return fmt.Errorf("--review-date %q: want YYYY-MM-DD (Asia/Shanghai)", reviewDate)
			}
			return nil
		},
		func(ctx context.Context, c dispatchv1.DispatchServiceClient, id string) (any, error) {
			return c.ParkCase(ctx, &dispatchv1.ParkCaseRequest{RequestId: orNewID(reqID), CaseId: id, Reason: reason, ReviewDate: reviewDate})
		})
	park.Flags().StringVar(&reviewDate, "review-date", "", "when to look at it again (required)")
	_ = park.MarkFlagRequired("review-date")
	unpark := caseCmd("unpark CASE [--note TEXT]", "Unpark a case: its clock runs again, the deadlines moved by the time parked", nil,
		func(ctx context.Context, c dispatchv1.DispatchServiceClient, id string) (any, error) {
			return c.UnparkCase(ctx, &dispatchv1.UnparkCaseRequest{RequestId: orNewID(reqID), CaseId: id, Note: note})
		})
	exclude := caseCmd("exclude CASE --reason TEXT", "Exclude a case from assessment (不合理诉求)", nil,
		func(ctx context.Context, c dispatchv1.DispatchServiceClient, id string) (any, error) {
			return c.ExcludeCase(ctx, &dispatchv1.ExcludeCaseRequest{RequestId: orNewID(reqID), CaseId: id, Reason: reason})
		})
	for _, c := range []*cobra.Command{cancelCmd, park, exclude} {
		c.Flags().StringVar(&reason, "reason", "", "why (required)")
		_ = c.MarkFlagRequired("reason")
	}
	all := []*cobra.Command{reassign, arbitrate, cancelCmd, park, unpark, exclude}
	for _, c := range all {
		c.Flags().StringVar(&reqID, "request-id", "", "idempotency key (default: a new one)")
		if c == reassign || c == arbitrate || c == unpark {
			c.Flags().StringVar(&note, "note", "", "note")
		}
	}
	cmd.AddCommand(all...)
	return cmd
}

// printCaseLever prints what a case decision answered: the task it
// dispatched, or the case as dispatch now holds it.
func printCaseLever(cmd *cobra.Command, g *globals, out any) error {
	type withTask interface{ GetTask() *dispatchv1.Task }
	type withCase interface {
		GetCase() *dispatchv1.DispatchCase
	}
	switch r := out.(type) {
	case withTask:
		if g.asJSON {
			return printProto(cmd.OutOrStdout(), r.GetTask())
		}
		fmt.Fprintln(cmd.OutOrStdout(), taskLine(r.GetTask()))
	case withCase:
		if g.asJSON {
			return printProto(cmd.OutOrStdout(), r.GetCase())
		}
		fmt.Fprintln(cmd.OutOrStdout(), caseLine(r.GetCase()))
	}
	return nil
}

// caseLine is a case decision's line: the case, its status and what
// goes with it.
func caseLine(c *dispatchv1.DispatchCase) string {
	var b strings.Builder
	fmt.Fprintf(&b, "case %s %s: %s", c.GetCaseNumber(), c.GetCaseId(), enumName(c.GetStatus().String(), "CASE_STATUS_"))
	if c.GetStatus() == dispatchv1.CaseStatus_CASE_STATUS_PARKED {
		fmt.Fprintf(&b, " until review on %s", c.GetParkReviewDate())
	}
	if c.GetExcluded() {
		b.WriteString(", excluded from assessment")
	}
	if d := c.GetDeadlines().GetComplete().GetDue(); d != nil {
		fmt.Fprintf(&b, " (complete by %s)", when(d))
	}
	return b.String()
}

func newRecheckCmd(g *globals) *cobra.Command {
	d := &dispatchFlags{}
	cmd := &cobra.Command{Use: "recheck", Short: "Record re-checks (核查) of patrol cases"}
	d.register(cmd)
	var ref, reqID, note string
	var passed, failed bool
	var photos []string
	record := &cobra.Command{Use: "record --case CASE (--passed | --failed) [--photo REF …] [--note TEXT]",
		Short: "Record a re-check: passed closes the case, failed reopens it", Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if passed == failed {
				return fmt.Errorf("give exactly one of --passed, --failed")
			}
			if _, err := caseref.Parse(ref); err != nil {
				return fmt.Errorf("--case: %w", err)
			}
			id, err := caseID(cmd, g, d, ref)
			if err != nil {
				return err
			}
			conn, err := d.conn(g, svcFeedback)
			if err != nil {
				return err
			}
			defer conn.Close()
			ctx, cancel := g.ctx(cmd.Context())
			defer cancel()
			r, err := feedbackv1.NewFeedbackServiceClient(conn).RecordRecheck(ctx, &feedbackv1.RecordRecheckRequest{RequestId: orNewID(reqID),
				CaseId: id, Passed: passed, Photos: photos, Note: note})
			if err != nil {
				return explain(err)
			}
			if g.asJSON {
				return printProto(cmd.OutOrStdout(), r)
			}
			fmt.Fprintf(cmd.OutOrStdout(), "recheck %s recorded: case %s is %s (round %d)\n", r.GetRecheckId(), r.GetCase().GetCaseNumber(),
				enumName(r.GetCase().GetState().String(), "CASE_STATE_"), r.GetCase().GetRound())
			return nil
		}}
	f := record.Flags()
	f.StringVar(&ref, "case", "", "case id, case number or hotline order number (required)")
	f.BoolVar(&passed, "passed", false, "the fix holds")
	f.BoolVar(&failed, "failed", false, "the fix does not hold: reopen")
	f.StringSliceVar(&photos, "photo", nil, "references to stored photos")
	f.StringVar(&note, "note", "", "note")
	f.StringVar(&reqID, "request-id", "", "idempotency key (default: a new one)")
	_ = record.MarkFlagRequired("case")
	cmd.AddCommand(record)
	return cmd
}

// figuresPeriod reads --from/--to (dates in Asia/Shanghai, to inclusive),
// by default the days ending today.
func figuresPeriod(from, to string, days int) (*feedbackv1.Period, error) {
	now := time.Now().In(shanghai)
	end := time.Date(now.Year(), now.Month(), now.Day(), 0, 0, 0, 0, now.Location())
	start := end.AddDate(0, 0, -(days - 1))
	if from != "" {
		t, err := time.ParseInLocation("2006-01-02", from, now.Location())
		if err != nil {
			return nil, fmt.Errorf("--from %q: want YYYY-MM-DD", from)
		}
		start = t
	}
	if to != "" {
		t, err := time.ParseInLocation("2006-01-02", to, now.Location())
		if err != nil {
			return nil, fmt.Errorf("--to %q: want YYYY-MM-DD", to)
		}
		end = t
	}
	if end.Before(start) {
		return nil, fmt.Errorf("--to %s is before --from %s", end.Format("2006-01-02"), start.Format("2006-01-02"))
	}
	return &feedbackv1.Period{Start: timestamppb.New(start), End: timestamppb.New(end.AddDate(0, 0, 1))}, nil
}

func newFiguresCmd(g *globals) *cobra.Command {
	d := &dispatchFlags{}
	cmd := &cobra.Command{Use: "figures", Short: "The figures behind the console's boards: Pareto, hotspots"}
	d.register(cmd)
	var area, from, to string
	feedback := func(cmd *cobra.Command, fn func(ctx context.Context, c feedbackv1.FeedbackServiceClient) error) error {
		conn, err := d.conn(g, svcFeedback)
		if err != nil {
			return err
		}
		defer conn.Close()
		ctx, cancel := g.ctx(cmd.Context())
		defer cancel()
		if err := fn(ctx, feedbackv1.NewFeedbackServiceClient(conn)); err != nil {
			return explain(err)
		}
		return nil
	}
	pareto := &cobra.Command{Use: "pareto [--area CODE] [--from YYYY-MM-DD] [--to YYYY-MM-DD]",
		Short: "Categories by count with their cumulative share (default: the last 30 days)", Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			p, err := figuresPeriod(from, to, 30)
			if err != nil {
				return err
			}
			return feedback(cmd, func(ctx context.Context, c feedbackv1.FeedbackServiceClient) error {
				r, err := c.GetPareto(ctx, &feedbackv1.GetParetoRequest{AreaCode: area, Period: p})
				if err != nil {
					return err
				}
				if g.asJSON {
					return printProto(cmd.OutOrStdout(), r)
				}
				return printPareto(cmd.OutOrStdout(), r)
			})
		}}
	hotspots := &cobra.Command{Use: "hotspots [--area CODE] [--from YYYY-MM-DD] [--to YYYY-MM-DD]",
		Short: "Places and sources rising against their baseline (default: the last 7 days)", Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			p, err := figuresPeriod(from, to, 7)
			if err != nil {
				return err
			}
			return feedback(cmd, func(ctx context.Context, c feedbackv1.FeedbackServiceClient) error {
				r, err := c.GetHotspots(ctx, &feedbackv1.GetHotspotsRequest{AreaCode: area, Period: p})
				if err != nil {
					return err
				}
				if g.asJSON {
					return printProto(cmd.OutOrStdout(), r)
				}
				return printHotspots(cmd.OutOrStdout(), r.GetHotspots())
			})
		}}
	for _, c := range []*cobra.Command{pareto, hotspots} {
		c.Flags().StringVar(&area, "area", "", "a district, street, community or grid code (default: the caller's reach)")
		c.Flags().StringVar(&from, "from", "", "first day, YYYY-MM-DD in Asia/Shanghai")
		c.Flags().StringVar(&to, "to", "", "last day, YYYY-MM-DD in Asia/Shanghai (inclusive)")
	}
	cmd.AddCommand(pareto, hotspots)
	return cmd
}

func printPareto(w io.Writer, r *feedbackv1.GetParetoResponse) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ITEM\tNAME\tCOUNT\tSHARE\tCUMULATIVE\tVITAL FEW")
	for _, row := range r.GetRows() {
		vital := ""
		if row.GetVitalFew() {
			vital = "yes"
		}
		fmt.Fprintf(tw, "%s\t%s\t%d\t%.1f%%\t%.1f%%\t%s\n", row.GetItemCode(), row.GetItemName(), row.GetCount(), row.GetShare()*100, row.GetCumulative()*100, vital)
	}
	fmt.Fprintf(tw, "total\t\t%d\t\t\t\n", r.GetTotal())
	return tw.Flush()
}

func printHotspots(w io.Writer, hs []*feedbackv1.Hotspot) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "KIND\tKEY\tCURRENT\tBASELINE\tSCORE\tCASES")
	for _, h := range hs {
		fmt.Fprintf(tw, "%s\t%s\t%d\t%.1f\t%.1f\t%d\n", h.GetKind(), h.GetKey(), h.GetCurrent(), h.GetBaseline(), h.GetScore(), len(h.GetCaseIds()))
	}
	return tw.Flush()
}
