package main

import (
	"context"
	"encoding/csv"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/gridflow/gridflow/pkg/caseref"
	"github.com/gridflow/gridflow/pkg/wire"
	"github.com/spf13/cobra"
	"google.golang.org/protobuf/types/known/timestamppb"

	eventsv1 "github.com/gridflow/gridflow/proto/gen/go/gridflow/events/v1"
	feedbackv1 "github.com/gridflow/gridflow/proto/gen/go/gridflow/feedback/v1"
)

// feedbackCall runs one feedback RPC with the global timeout.
func feedbackCall[T any](cmd *cobra.Command, g *globals, fn func(context.Context, feedbackv1.FeedbackServiceClient) (T, error)) (T, error) {
	var zero T
	conn, err := g.dial(svcFeedback)
	if err != nil {
		return zero, err
	}
	defer conn.Close()
	ctx, cancel := g.ctx(cmd.Context())
	defer cancel()
	out, err := fn(ctx, feedbackv1.NewFeedbackServiceClient(conn))
	if err != nil {
		return zero, explain(err)
	}
	return out, nil
}

// addFeedbackCommands adds gridctl case and callback, and export cases and
// export metrics to the export command classify's commands already hold.
func addFeedbackCommands(root *cobra.Command, g *globals) {
	root.AddCommand(newCaseCmd(g), newCallbackCmd(g))
	for _, c := range root.Commands() {
		if c.Name() == "export" {
			c.AddCommand(exportCommands(g)...)
			return
		}
	}
	export := &cobra.Command{Use: "export", Short: "Export data as CSV"}
	export.AddCommand(exportCommands(g)...)
	root.AddCommand(export)
}

// caseKey reads a case id, a case number (GF-…) or a hotline order number.
func caseKey(s string) (*feedbackv1.GetCaseRequest, error) {
	ref, err := caseref.Parse(s)
	if err != nil {
		return nil, err
	}
	id, number, orderNo := ref.Fields()
	return &feedbackv1.GetCaseRequest{CaseId: id, CaseNumber: number, HotlineOrderNo: orderNo}, nil
}

func printCase(w io.Writer, c *feedbackv1.Case) {
	fmt.Fprintf(w, "%s  %s  %s\n", c.GetCaseNumber(), enumName(c.GetState().String(), "CASE_STATE_"), c.GetCaseId())
	fmt.Fprintf(w, "item %s %s  lead %s  round %d  excluded %v\n", c.GetItemCode(), c.GetItemName(), c.GetLeadDepartmentCode(), c.GetRound(), c.GetExcluded())
	fmt.Fprintf(w, "received %s  complete due %s  callback due %s\n", when(c.GetReceivedAt()), when(c.GetCompleteDue()), when(c.GetCallbackDue()))
	for _, t := range c.GetTasks() {
		fmt.Fprintf(w, "  task %s  %s %s  %s  round %d\n", t.GetTaskId(), t.GetDepartmentCode(), t.GetRole(), t.GetState(), t.GetRound())
	}
}

func newCaseCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{Use: "case", Short: "Read a case's state and timeline (feedback), its caller's contact (intake, audited)"}
	show := &cobra.Command{Use: "show NUMBER|ID|ORDER-NO", Short: "A case's state, deadlines and tasks", Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			k, err := caseKey(args[0])
			if err != nil {
				return err
			}
			r, err := feedbackCall(cmd, g, func(ctx context.Context, c feedbackv1.FeedbackServiceClient) (*feedbackv1.GetCaseResponse, error) {
				return c.GetCase(ctx, k)
			})
			if err != nil {
				return err
			}
			if g.asJSON {
				return printProto(cmd.OutOrStdout(), r.GetCase())
			}
			printCase(cmd.OutOrStdout(), r.GetCase())
			return nil
		}}
	var until []string
	var wait time.Duration
	waitCmd := &cobra.Command{Use: "wait NUMBER|ID|ORDER-NO --state S[,S…] [--wait 60s]",
		Short: "Wait until feedback sees the case in one of these states, then show it (scripts and the README use it)",
		Long: "The loop runs on events: a case is classified, dispatched, replied … a moment after the call that\n" +
			"caused it. wait polls GetCase until the case reaches one of the states, and fails after --wait.",
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			k, err := caseKey(args[0])
			if err != nil {
				return err
			}
			want := map[feedbackv1.CaseState]bool{}
			for _, s := range until {
				st, ok := enumValue[feedbackv1.CaseState](feedbackv1.CaseState_value, "CASE_STATE_", s)
				if !ok || s == "" {
					return fmt.Errorf("--state %q: want %s", s, enumNames(feedbackv1.CaseState_value, "CASE_STATE_"))
				}
				want[st] = true
			}
			if len(want) == 0 {
				return fmt.Errorf("--state is required")
			}
			deadline := time.Now().Add(wait)
			var last *feedbackv1.Case
			for {
				r, err := feedbackCall(cmd, g, func(ctx context.Context, c feedbackv1.FeedbackServiceClient) (*feedbackv1.GetCaseResponse, error) {
					return c.GetCase(ctx, k)
				})
				switch {
				case err == nil:
					last = r.GetCase()
					if want[last.GetState()] {
						if g.asJSON {
							return printProto(cmd.OutOrStdout(), last)
						}
						printCase(cmd.OutOrStdout(), last)
						return nil
					}
				case !strings.HasPrefix(err.Error(), "NotFound"): // feedback may not have heard of the case yet
					return err
				}
				if time.Now().After(deadline) {
					now := "unknown to feedback"
					if last != nil {
						now = enumName(last.GetState().String(), "CASE_STATE_")
					}
					return fmt.Errorf("case %s is %s after %s, not %s", args[0], now, wait, strings.Join(until, " or "))
				}
				select {
				case <-cmd.Context().Done():
					return cmd.Context().Err()
				case <-time.After(200 * time.Millisecond):
				}
			}
		}}
	waitCmd.Flags().StringSliceVar(&until, "state", nil, "the states to wait for (required)")
	waitCmd.Flags().DurationVar(&wait, "wait", time.Minute, "give up after this long")
	timeline := &cobra.Command{Use: "timeline NUMBER|ID|ORDER-NO", Short: "Every event of a case, with actor, time, rule and model", Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			k, err := caseKey(args[0])
			if err != nil {
				return err
			}
			r, err := feedbackCall(cmd, g, func(ctx context.Context, c feedbackv1.FeedbackServiceClient) (*feedbackv1.GetCaseTimelineResponse, error) {
				return c.GetCaseTimeline(ctx, &feedbackv1.GetCaseTimelineRequest{CaseId: k.GetCaseId(), CaseNumber: k.GetCaseNumber(),
					HotlineOrderNo: k.GetHotlineOrderNo()})
			})
			if err != nil {
				return err
			}
			if g.asJSON {
				return printProto(cmd.OutOrStdout(), r)
			}
			printTimeline(cmd.OutOrStdout(), r)
			return nil
		}}
	cmd.AddCommand(show, waitCmd, timeline, newContactCmd(g))
	return cmd
}

// printTimeline is case timeline's listing: one line per event, with its
// actor and, where they decided it, the rule and the model.
func printTimeline(w io.Writer, r *feedbackv1.GetCaseTimelineResponse) {
	fmt.Fprintf(w, "%s  %s\n", r.GetCaseNumber(), r.GetCaseId())
	for _, e := range r.GetEntries() {
		extra := ""
		if e.GetRule() != "" {
			extra += "  rule " + e.GetRule()
		}
		if e.GetModelVersion() != "" {
			extra += "  model " + e.GetModelVersion()
		}
		fmt.Fprintf(w, "%s  %-24s %-22s %s%s\n", when(e.GetOccurredAt()), e.GetType(), wire.PrincipalIn(e.GetActor()), e.GetSummary(), extra)
	}
}

func newCallbackCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{Use: "callback", Short: "Record callbacks (回访)"}
	var caseID, requestID, satisfaction, note string
	var reached, contacted, solved bool
	record := &cobra.Command{Use: "record", Short: "Record a callback: --case ID|NUMBER --reached --contacted --solved --satisfaction satisfied|basic|unsatisfied",
		RunE: func(cmd *cobra.Command, _ []string) error {
			sat, ok := enumValue[eventsv1.Satisfaction](eventsv1.Satisfaction_value, "SATISFACTION_", satisfaction)
			if satisfaction != "" && !ok {
				return fmt.Errorf("--satisfaction %q: want satisfied, basic or unsatisfied", satisfaction)
			}
			k, err := caseKey(caseID)
			if err != nil {
				return fmt.Errorf("--case: %w", err)
			}
			r, err := feedbackCall(cmd, g, func(ctx context.Context, c feedbackv1.FeedbackServiceClient) (*feedbackv1.RecordCallbackResponse, error) {
				id := k.GetCaseId()
				if id == "" { // a case number or hotline order number: look the id up
					got, err := c.GetCase(ctx, k)
					if err != nil {
						return nil, err
					}
					id = got.GetCase().GetCaseId()
				}
				return c.RecordCallback(ctx, &feedbackv1.RecordCallbackRequest{RequestId: orNewID(requestID), CaseId: id, Reached: reached,
					ContactedByUnit: contacted, Solved: solved, Satisfaction: sat, Note: note})
			})
			if err != nil {
				return err
			}
			if g.asJSON {
				return printProto(cmd.OutOrStdout(), r)
			}
			fmt.Fprintf(cmd.OutOrStdout(), "callback %s recorded: case %s is %s (round %d)\n", r.GetCallbackId(), r.GetCase().GetCaseNumber(),
				enumName(r.GetCase().GetState().String(), "CASE_STATE_"), r.GetCase().GetRound())
			return nil
		}}
	f := record.Flags()
	f.StringVar(&caseID, "case", "", "case id, case number or hotline order number")
	f.StringVar(&requestID, "request-id", "", "idempotency key (default: a new one)")
	f.BoolVar(&reached, "reached", false, "the citizen was reached")
	f.BoolVar(&contacted, "contacted", false, "the citizen says the unit contacted them")
	f.BoolVar(&solved, "solved", false, "the citizen says the problem is solved")
	f.StringVar(&satisfaction, "satisfaction", "", "satisfied, basic or unsatisfied")
	f.StringVar(&note, "note", "", "note")
	_ = record.MarkFlagRequired("case")
	cmd.AddCommand(record)
	return cmd
}

func rfc(ts *timestamppb.Timestamp) string {
	if ts == nil {
		return ""
	}
	return ts.AsTime().UTC().Format(time.RFC3339)
}

// exportCommands are export cases and export metrics (feedback, CSV).
func exportCommands(g *globals) []*cobra.Command {
	var area, from, to, scope, code string
	period := func() (*timestamppb.Timestamp, *timestamppb.Timestamp, error) {
		var out [2]*timestamppb.Timestamp
		for i, s := range []string{from, to} {
			if s == "" {
				continue
			}
			t, err := time.ParseInLocation("2006-01-02", s, shanghai)
			if err != nil {
				return nil, nil, fmt.Errorf("--%s %q: want a date YYYY-MM-DD", []string{"from", "to"}[i], s)
			}
			out[i] = timestamppb.New(t)
		}
		return out[0], out[1], nil
	}
	cases := &cobra.Command{Use: "cases", Short: "Every case as CSV", RunE: func(cmd *cobra.Command, _ []string) error {
		f, t, err := period()
		if err != nil {
			return err
		}
		w := csv.NewWriter(cmd.OutOrStdout())
		_ = w.Write(caseColumns)
		token := ""
		for {
			r, err := feedbackCall(cmd, g, func(ctx context.Context, c feedbackv1.FeedbackServiceClient) (*feedbackv1.ListCasesResponse, error) {
				return c.ListCases(ctx, &feedbackv1.ListCasesRequest{AreaCode: area, ReceivedFrom: f, ReceivedTo: t, PageSize: 500, PageToken: token})
			})
			if err != nil {
				return err
			}
			for _, c := range r.GetCases() {
				_ = w.Write(caseRow(c))
			}
			if token = r.GetNextPageToken(); token == "" {
				break
			}
		}
		w.Flush()
		return w.Error()
	}}
	metrics := &cobra.Command{Use: "metrics", Short: "One scope's figures as CSV (name,value)", RunE: func(cmd *cobra.Command, _ []string) error {
		f, t, err := period()
		if err != nil {
			return err
		}
		if f == nil || t == nil {
			return fmt.Errorf("--from and --to are required")
		}
		sc, ok := enumValue[feedbackv1.Scope](feedbackv1.Scope_value, "SCOPE_", scope)
		if !ok || scope == "" {
			return fmt.Errorf("--scope %q: want department, street, district, grid or city", scope)
		}
		r, err := feedbackCall(cmd, g, func(ctx context.Context, c feedbackv1.FeedbackServiceClient) (*feedbackv1.GetMetricsResponse, error) {
			return c.GetMetrics(ctx, &feedbackv1.GetMetricsRequest{Scope: sc, Code: code, Period: &feedbackv1.Period{Start: f, End: t}})
		})
		if err != nil {
			return err
		}
		w := csv.NewWriter(cmd.OutOrStdout())
		_ = w.WriteAll(metricsRows(scope, code, r.GetMetrics()))
		return w.Error()
	}}
	for _, c := range []*cobra.Command{cases, metrics} {
		c.Flags().StringVar(&from, "from", "", "received on or after this date (YYYY-MM-DD, Asia/Shanghai)")
		c.Flags().StringVar(&to, "to", "", "received before this date")
	}
	cases.Flags().StringVar(&area, "area", "", "district, street, community or grid code")
	metrics.Flags().StringVar(&scope, "scope", "city", "department, street, district, grid or city")
	metrics.Flags().StringVar(&code, "code", "", "the department or area code")
	return []*cobra.Command{cases, metrics}
}

// caseColumns is export cases' header; caseRow one case under it.
var caseColumns = []string{"case_id", "case_number", "hotline_order_no", "state", "source", "district", "street", "grid", "item_code",
	"item_name", "lead_department", "round", "excluded", "received_at", "closed_at"}

func caseRow(c *feedbackv1.Case) []string {
	a := c.GetArea()
	return []string{c.GetCaseId(), c.GetCaseNumber(), c.GetHotlineOrderNo(), enumName(c.GetState().String(), "CASE_STATE_"),
		enumName(c.GetSource().String(), "SOURCE_"), a.GetDistrictCode(), a.GetStreetCode(), a.GetGridCode(), c.GetItemCode(),
		c.GetItemName(), c.GetLeadDepartmentCode(), strconv.Itoa(int(c.GetRound())), strconv.FormatBool(c.GetExcluded()),
		rfc(c.GetReceivedAt()), rfc(c.GetClosedAt())}
}

// metricsRows are export metrics' CSV rows: name,value, rates to four
// places, durations rounded to the second.
func metricsRows(scope, code string, m *feedbackv1.Metrics) [][]string {
	num := func(v float64) string { return strconv.FormatFloat(v, 'f', 4, 64) }
	return [][]string{{"name", "value"}, {"scope", scope}, {"code", code}, {"cases", strconv.Itoa(int(m.GetCases()))},
		{"excluded_cases", strconv.Itoa(int(m.GetExcludedCases()))}, {"valid_callbacks", strconv.Itoa(int(m.GetValidCallbacks()))},
		{"response_rate", num(m.GetResponseRate())}, {"resolution_rate", num(m.GetResolutionRate())},
		{"satisfaction_rate", num(m.GetSatisfactionRate())}, {"composite", num(m.GetComposite())},
		{"disposal_rate", num(m.GetDisposalRate())}, {"on_time_rate", num(m.GetOnTimeRate())}, {"rework_rate", num(m.GetReworkRate())},
		{"overdue_open_rate", num(m.GetOverdueOpenRate())}, {"extension_rate", num(m.GetExtensionRate())},
		{"score", num(m.GetScore())}, {"grade", m.GetGrade()},
		{"time_to_sign_for_avg", m.GetTimeToSignFor().GetAverage().AsDuration().Round(time.Second).String()},
		{"time_to_sign_for_p90", m.GetTimeToSignFor().GetP90().AsDuration().Round(time.Second).String()},
		{"time_to_complete_avg", m.GetTimeToComplete().GetAverage().AsDuration().Round(time.Second).String()},
		{"time_to_complete_p90", m.GetTimeToComplete().GetP90().AsDuration().Round(time.Second).String()}}
}
