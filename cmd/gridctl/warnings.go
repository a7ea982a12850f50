package main

// Early warning (issue 20): gridctl warnings list|show|ack|dismiss over
// feedback's WarningService.

import (
	"context"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	eventsv1 "github.com/gridflow/gridflow/proto/gen/go/gridflow/events/v1"
	feedbackv1 "github.com/gridflow/gridflow/proto/gen/go/gridflow/feedback/v1"
)

func newWarningsCmd(g *globals) *cobra.Command {
	d := &dispatchFlags{}
	cmd := &cobra.Command{Use: "warnings", Short: "Early warnings (海因里希): places and subjects of a street rising against their baseline"}
	d.register(cmd)
	call := func(cmd *cobra.Command, fn func(ctx context.Context, c feedbackv1.WarningServiceClient) error) error {
		conn, err := d.conn(g, svcFeedback)
		if err != nil {
			return err
		}
		defer conn.Close()
		ctx, cancel := g.ctx(cmd.Context())
		defer cancel()
		if err := fn(ctx, feedbackv1.NewWarningServiceClient(conn)); err != nil {
			return explain(err)
		}
		return nil
	}
	var state, area, kind, pageToken, note, reqID string
	var pageSize int32
	list := &cobra.Command{Use: "list [--state raised|acknowledged|dismissed] [--area CODE] [--kind place|subject]",
		Short: "Warnings, newest raised first, within the caller's reach", Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			st, err := warningStateFlag(state)
			if err != nil {
				return err
			}
			return call(cmd, func(ctx context.Context, c feedbackv1.WarningServiceClient) error {
				r, err := c.ListWarnings(ctx, &feedbackv1.ListWarningsRequest{State: st, AreaCode: area, Kind: kind, PageSize: pageSize, PageToken: pageToken})
				if err != nil {
					return err
				}
				if g.asJSON {
					return printProto(cmd.OutOrStdout(), r)
				}
				printWarnings(cmd.OutOrStdout(), r.GetWarnings(), r.GetNextPageToken())
				return nil
			})
		}}
	list.Flags().StringVar(&state, "state", "", "raised, acknowledged or dismissed (default: all)")
	list.Flags().StringVar(&area, "area", "", "a district or street code (default: the caller's reach)")
	list.Flags().StringVar(&kind, "kind", "", "place or subject (default: both)")
	list.Flags().Int32Var(&pageSize, "page-size", 0, "warnings per page (default 50)")
	list.Flags().StringVar(&pageToken, "page-token", "", "the next page's token from the last list")
	show := &cobra.Command{Use: "show WARNING_ID", Short: "A warning with its reasons: counts, rise, rule and cases", Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return call(cmd, func(ctx context.Context, c feedbackv1.WarningServiceClient) error {
				r, err := c.GetWarning(ctx, &feedbackv1.GetWarningRequest{WarningId: args[0]})
				if err != nil {
					return err
				}
				return printWarning(cmd, g, r.GetWarning())
			})
		}}
	ack := &cobra.Command{Use: "ack WARNING_ID [--note TEXT]", Short: "Take a raised warning up: not raised again for its key and window",
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return call(cmd, func(ctx context.Context, c feedbackv1.WarningServiceClient) error {
				r, err := c.AcknowledgeWarning(ctx, &feedbackv1.AcknowledgeWarningRequest{RequestId: orNewID(reqID), WarningId: args[0], Note: note})
				if err != nil {
					return err
				}
				return printWarning(cmd, g, r.GetWarning())
			})
		}}
	dismiss := &cobra.Command{Use: "dismiss WARNING_ID --note TEXT",
		Short: "Judge a raised warning harmless: back only when its rise grows by the further step", Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return call(cmd, func(ctx context.Context, c feedbackv1.WarningServiceClient) error {
				r, err := c.DismissWarning(ctx, &feedbackv1.DismissWarningRequest{RequestId: orNewID(reqID), WarningId: args[0], Note: note})
				if err != nil {
					return err
				}
				return printWarning(cmd, g, r.GetWarning())
			})
		}}
	ack.Flags().StringVar(&note, "note", "", "what will be done")
	dismiss.Flags().StringVar(&note, "note", "", "why the rise is harmless (required)")
	_ = dismiss.MarkFlagRequired("note")
	for _, c := range []*cobra.Command{ack, dismiss} {
		c.Flags().StringVar(&reqID, "request-id", "", "idempotency key (default: a new one)")
	}
	cmd.AddCommand(list, show, ack, dismiss)
	return cmd
}

func warningStateFlag(s string) (feedbackv1.WarningState, error) {
	if s == "" {
		return feedbackv1.WarningState_WARNING_STATE_UNSPECIFIED, nil
	}
	v, ok := feedbackv1.WarningState_value["WARNING_STATE_"+strings.ToUpper(s)]
	if !ok || v == 0 {
		return 0, fmt.Errorf("--state %q: want raised, acknowledged or dismissed", s)
	}
	return feedbackv1.WarningState(v), nil
}

func warningStateName(s feedbackv1.WarningState) string {
	return strings.ToLower(strings.TrimPrefix(s.String(), "WARNING_STATE_"))
}

func shanghaiTime(t interface{ AsTime() time.Time }) string {
	return t.AsTime().In(time.FixedZone("CST", 8*3600)).Format("2006-01-02 15:04")
}

func printWarnings(w io.Writer, ws []*feedbackv1.Warning, next string) {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tSTATE\tKIND\tSTREET\tKEY\tCOUNT\tBASELINE\tRISE\tLEVEL\tRAISED")
	for _, x := range ws {
		k, r := x.GetKey(), x.GetReasons()
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%d\t%.2f\t%.2f\t%d\t%s\n", k.GetWarningId(), warningStateName(x.GetState()), k.GetKind(),
			k.GetStreet(), k.GetLabel(), r.GetCount(), r.GetBaseline(), r.GetRise(), x.GetLevel(), shanghaiTime(x.GetRaisedAt()))
	}
	tw.Flush()
	if next != "" {
		fmt.Fprintf(w, "more: --page-token %s\n", next)
	}
}

func printWarning(cmd *cobra.Command, g *globals, x *feedbackv1.Warning) error {
	if g.asJSON {
		return printProto(cmd.OutOrStdout(), x)
	}
	w := cmd.OutOrStdout()
	k, r := x.GetKey(), x.GetReasons()
	fmt.Fprintf(w, "warning %s: %s (level %d)\n", k.GetWarningId(), warningStateName(x.GetState()), x.GetLevel())
	fmt.Fprintf(w, "  %s %s in street %s (district %s)", k.GetKind(), k.GetKey(), k.GetStreet(), k.GetDistrict())
	if k.GetLabel() != k.GetKey() {
		fmt.Fprintf(w, ": %s", k.GetLabel())
	}
	fmt.Fprintf(w, "\n  window %s – %s, raised %s\n", shanghaiTime(k.GetWindowStart()), shanghaiTime(k.GetWindowEnd()), shanghaiTime(x.GetRaisedAt()))
	printReasons(w, r)
	if p := x.GetActedBy(); p != nil {
		fmt.Fprintf(w, "  by %s:%s at %s", p.GetRole(), p.GetSubject(), shanghaiTime(x.GetActedAt()))
		if x.GetNote() != "" {
			fmt.Fprintf(w, ": %s", x.GetNote())
		}
		fmt.Fprintln(w)
	}
	if x.GetDismissedRise() > 0 {
		fmt.Fprintf(w, "  last dismissed at rise %.2f: back at %.2f\n", x.GetDismissedRise(), x.GetDismissedRise()*r.GetRule().GetFurtherStep())
	}
	return nil
}

func printReasons(w io.Writer, r *eventsv1.WarningReasons) {
	rule := r.GetRule()
	fmt.Fprintf(w, "  %d cases against a baseline of %.2f a window: rise %.2f\n", r.GetCount(), r.GetBaseline(), r.GetRise())
	fmt.Fprintf(w, "  rule %s: at least %d cases, rise %.2f, window %v over %d windows, further step %.2f\n", rule.GetName(),
		rule.GetMinCount(), rule.GetRise(), rule.GetWindow().AsDuration(), rule.GetBaselineWindows(), rule.GetFurtherStep())
	fmt.Fprintf(w, "  cases: %s\n", strings.Join(r.GetCaseIds(), " "))
}
