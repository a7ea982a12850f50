package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/gridflow/gridflow/pkg/auth"
	"github.com/gridflow/gridflow/pkg/caseref"
	"github.com/spf13/cobra"
	"google.golang.org/grpc"
	"google.golang.org/grpc/metadata"
	"google.golang.org/protobuf/types/known/timestamppb"

	dispatchv1 "github.com/gridflow/gridflow/proto/gen/go/gridflow/dispatch/v1"
	eventsv1 "github.com/gridflow/gridflow/proto/gen/go/gridflow/events/v1"
	typesv1 "github.com/gridflow/gridflow/proto/gen/go/gridflow/types/v1"
)

// dispatchFlags are what every dispatch command shares: who to act as.
type dispatchFlags struct {
	as string
}

func (d *dispatchFlags) register(cmd *cobra.Command) {
	cmd.PersistentFlags().StringVar(&d.as, "as", "", "act as this principal (e.g. department:310106022-pcs, dispatcher:310106022), minting a token with the development key; default --token or admin")
}

// client dials dispatch as --as (minted with the development key), or with
// --token / an admin token.
func (d *dispatchFlags) client(g *globals) (dispatchv1.DispatchServiceClient, *grpc.ClientConn, error) {
	conn, err := d.conn(g, svcDispatch)
	if err != nil {
		return nil, nil, err
	}
	return dispatchv1.NewDispatchServiceClient(conn), conn, nil
}

// conn dials svc as --as (minted with the development key), or with
// --token / an admin token.
func (d *dispatchFlags) conn(g *globals, svc service) (*grpc.ClientConn, error) {
	if d.as == "" {
		return g.dial(svc)
	}
	p, err := auth.ParsePrincipal(d.as)
	if err != nil {
		return nil, fmt.Errorf("--as: %w", err)
	}
	key, err := auth.SigningKey(g.keys())
	if err != nil {
		return nil, fmt.Errorf("--as needs the development key (%v)", err)
	}
	tok, err := auth.NewSigner(key).Issue(p, time.Hour)
	if err != nil {
		return nil, err
	}
	return g.dialAs(svc, tok)
}

func newRequestID() string {
	var b [12]byte
	_, _ = rand.Read(b[:])
	return "gridctl-" + hex.EncodeToString(b[:])
}

// call runs one RPC with the global timeout.
func call[T any](cmd *cobra.Command, g *globals, d *dispatchFlags, fn func(context.Context, dispatchv1.DispatchServiceClient) (T, error)) (T, error) {
	var zero T
	c, conn, err := d.client(g)
	if err != nil {
		return zero, err
	}
	defer conn.Close()
	ctx, cancel := g.ctx(cmd.Context())
	defer cancel()
	out, err := fn(metadata.NewOutgoingContext(ctx, metadata.MD{}), c)
	if err != nil {
		return zero, explain(err)
	}
	return out, nil
}

func newRouteCmd(g *globals) *cobra.Command {
	d := &dispatchFlags{}
	cmd := &cobra.Command{Use: "route", Short: "Ask dispatch's routing why a case goes where it goes"}
	d.register(cmd)
	var (
		caseID, redecide                                                 string
		item, label, district, street, community, grid, appeal, src, urg string
		text, received                                                   string
		whistle                                                          []string
	)
	explainCmd := &cobra.Command{
		Use:   "explain (--case CASE | --item CODE --street CODE …)",
		Short: "Show the routing decision, its deadlines and the rules that fired (SimulateRoute; changes nothing)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			req := &dispatchv1.SimulateRouteRequest{RedecideAreaCode: redecide}
			if caseID != "" {
				ref, err := caseref.Parse(caseID)
				if err != nil {
					return fmt.Errorf("--case: %w", err)
				}
				switch ref.Kind {
				case caseref.ID:
					req.Subject = &dispatchv1.SimulateRouteRequest_CaseId{CaseId: ref.Value}
				case caseref.Number:
					req.Subject = &dispatchv1.SimulateRouteRequest_CaseNumber{CaseNumber: ref.Value}
				default:
					req.Subject = &dispatchv1.SimulateRouteRequest_HotlineOrderNo{HotlineOrderNo: ref.Value}
				}
			} else {
				f := &dispatchv1.RouteFacts{ItemCode: item, Label: label, Text: text, WhistleDepartments: whistle,
					Area: &typesv1.Area{DistrictCode: district, StreetCode: street, CommunityCode: community, GridCode: grid}}
				var err error
				if f.AppealType, err = appealTypeFlag(appeal); err != nil {
					return err
				}
				if f.Source, err = sourceFlag(src); err != nil {
					return err
				}
				if f.Urgency, err = urgencyFlag(urg); err != nil {
					return err
				}
				if received != "" {
					t, err := time.Parse(time.RFC3339, received)
					if err != nil {
						return fmt.Errorf("--received: %w", err)
					}
					f.ReceivedAt = timestamppb.New(t)
				}
				req.Subject = &dispatchv1.SimulateRouteRequest_Facts{Facts: f}
			}
			resp, err := call(cmd, g, d, func(ctx context.Context, c dispatchv1.DispatchServiceClient) (*dispatchv1.SimulateRouteResponse, error) {
				return c.SimulateRoute(ctx, req)
			})
			if err != nil {
				return err
			}
			if g.asJSON {
				return printProto(cmd.OutOrStdout(), resp)
			}
			printDecision(cmd.OutOrStdout(), resp)
			return nil
		},
	}
	f := explainCmd.Flags()
	f.StringVar(&caseID, "case", "", "a stored case (id, case number or hotline order number): decide again with its facts")
	f.StringVar(&redecide, "redecide", "", "decide as after a not_my_area rejection naming this area")
	f.StringVar(&item, "item", "", "catalogue code")
	f.StringVar(&label, "label", "", "classification label")
	f.StringVar(&district, "district", "", "district code")
	f.StringVar(&street, "street", "", "street code")
	f.StringVar(&community, "community", "", "community code")
	f.StringVar(&grid, "grid", "", "grid code")
	f.StringVar(&appeal, "appeal-type", "", "consultation, help, complaint, report, suggestion, praise")
	f.StringVar(&src, "source", "", "hotline, patrol, secretary")
	f.StringVar(&urg, "urgency", "", "normal, urgent, emergency (default: the item's)")
	f.StringVar(&text, "text", "", "case text for keyword rules")
	f.StringVar(&received, "received", "", "received time, RFC 3339 (default now)")
	f.StringSliceVar(&whistle, "whistle", nil, "departments named in a 一指通办 issue (吹哨报到)")
	// A stored case brings its own facts: a fact given beside --case would
	// be silently ignored.
	for _, fact := range []string{"item", "label", "district", "street", "community", "grid", "appeal-type", "source", "urgency", "text",
		"received", "whistle"} {
		explainCmd.MarkFlagsMutuallyExclusive("case", fact)
	}
	cmd.AddCommand(explainCmd)
	return cmd
}

// enumValue maps a lower-case name to an enum value by its prefixed
// upper-case name; "" is the zero value. "unspecified" is no name a person
// gives: it is what the zero value is called on the wire.
func enumValue[E ~int32](values map[string]int32, prefix, name string) (E, bool) {
	if name == "" {
		return 0, true
	}
	key := prefix + strings.ToUpper(strings.ReplaceAll(name, "-", "_"))
	v, ok := values[key]
	if v == 0 {
		return 0, false
	}
	return E(v), ok
}

// enumNames lists an enum's names as enumValue reads them, in the enum's
// order, for error messages.
func enumNames(values map[string]int32, prefix string) string {
	names := make([]string, 0, len(values))
	for full, v := range values {
		if v != 0 {
			names = append(names, full)
		}
	}
	slices.SortFunc(names, func(a, b string) int { return int(values[a] - values[b]) })
	for i, n := range names {
		names[i] = enumName(n, prefix)
	}
	return strings.Join(names, ", ")
}

func enumName(full, prefix string) string {
	return strings.ToLower(strings.TrimPrefix(full, prefix))
}

func when(ts *timestamppb.Timestamp) string {
	if ts == nil {
		return "-"
	}
	return ts.AsTime().In(shanghai).Format("2006-01-02 15:04")
}

func printDecision(w io.Writer, r *dispatchv1.SimulateRouteResponse) {
	fmt.Fprintf(w, "lead:        %s %s (rule %s)\n", r.GetLead().GetDepartmentCode(), r.GetLead().GetDepartmentName(), r.GetLead().GetRule())
	for _, a := range r.GetCoHandlers() {
		fmt.Fprintf(w, "co-handler:  %s %s (rule %s)\n", a.GetDepartmentCode(), a.GetDepartmentName(), a.GetRule())
	}
	fmt.Fprintf(w, "urgency:     %s\n", enumName(r.GetUrgency().String(), "URGENCY_"))
	dl := r.GetDeadlines()
	for _, l := range []struct {
		name string
		d    *eventsv1.Deadline
	}{{"acknowledge", dl.GetAck()}, {"on site", dl.GetOnSite()}, {"complete", dl.GetComplete()}} {
		if l.d != nil {
			fmt.Fprintf(w, "%-12s %s (%s, %s; warning %s)\n", l.name+":", when(l.d.GetDue()), l.d.GetLimit(), l.d.GetSource(), when(l.d.GetWarnAt()))
		}
	}
	fmt.Fprintln(w, "path:")
	for _, s := range r.GetPath() {
		mark := "fired"
		if !s.GetFired() {
			mark = "passed"
		}
		line := ""
		if s.GetLine() > 0 {
			line = fmt.Sprintf(" (rules.yaml:%d)", s.GetLine())
		}
		fmt.Fprintf(w, "  %-6s %s%s: %s\n", mark, s.GetRule(), line, s.GetWhy())
	}
	fmt.Fprintf(w, "reference:   %s\n", r.GetReferenceDigest())
}

func newTaskCmd(g *globals) *cobra.Command {
	d := &dispatchFlags{}
	cmd := &cobra.Command{Use: "task", Short: "Work tasks as a department (--as department:<code>) or look at them"}
	d.register(cmd)

	var caseID, dept string
	var states []string
	list := &cobra.Command{
		Use:   "list [--case CASE] [--state dispatched,…] [--department CODE]",
		Short: "List tasks, most recently changed first",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			req := &dispatchv1.ListTasksRequest{DepartmentCode: dept, PageSize: 200}
			if caseID != "" {
				ref, err := caseref.Parse(caseID)
				if err != nil {
					return fmt.Errorf("--case: %w", err)
				}
				req.CaseId, req.CaseNumber, req.HotlineOrderNo = ref.Fields()
			}
			for _, s := range states {
				v, ok := enumValue[eventsv1.TaskState](eventsv1.TaskState_value, "TASK_STATE_", s)
				if !ok {
					return fmt.Errorf("--state %q: want %s", s, enumNames(eventsv1.TaskState_value, "TASK_STATE_"))
				}
				req.States = append(req.States, v)
			}
			resp, err := call(cmd, g, d, func(ctx context.Context, c dispatchv1.DispatchServiceClient) (*dispatchv1.ListTasksResponse, error) {
				return c.ListTasks(ctx, req)
			})
			if err != nil {
				return err
			}
			if g.asJSON {
				return printProto(cmd.OutOrStdout(), resp)
			}
			return printTasks(cmd.OutOrStdout(), resp.GetTasks())
		},
	}
	list.Flags().StringVar(&caseID, "case", "", "only this case's tasks (case id, case number or hotline order number)")
	list.Flags().StringVar(&dept, "department", "", "only this unit's tasks (dispatchers, admin)")
	list.Flags().StringSliceVar(&states, "state", nil, "only tasks in these states")

	show := &cobra.Command{
		Use:   "show TASK_ID",
		Short: "Show one task with its case",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			resp, err := call(cmd, g, d, func(ctx context.Context, c dispatchv1.DispatchServiceClient) (*dispatchv1.GetTaskResponse, error) {
				return c.GetTask(ctx, &dispatchv1.GetTaskRequest{TaskId: args[0]})
			})
			if err != nil {
				return err
			}
			return printProto(cmd.OutOrStdout(), resp.GetTask())
		},
	}

	var note, eta, reqID string
	ack := &cobra.Command{
		Use:   "ack TASK_ID [--eta RFC3339] [--note TEXT]",
		Short: "Sign for a task (签收)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			req := &dispatchv1.AcknowledgeTaskRequest{RequestId: orNewID(reqID), TaskId: args[0], Note: note}
			if eta != "" {
				t, err := time.Parse(time.RFC3339, eta)
				if err != nil {
					return fmt.Errorf("--eta: %w", err)
				}
				req.Eta = timestamppb.New(t)
			}
			resp, err := call(cmd, g, d, func(ctx context.Context, c dispatchv1.DispatchServiceClient) (*dispatchv1.AcknowledgeTaskResponse, error) {
				return c.AcknowledgeTask(ctx, req)
			})
			return printTask(cmd, g, resp.GetTask(), err)
		},
	}
	ack.Flags().StringVar(&eta, "eta", "", "when the unit expects to be done")

	var reason, areaCode string
	reject := &cobra.Command{
		Use:   "reject TASK_ID --reason not_my_area|not_my_duty|unclear_ownership|other [--area CODE] [--note TEXT]",
		Short: "Return a task (退单); not_my_area naming an area is re-decided for it",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			r, ok := enumValue[eventsv1.RejectReason](eventsv1.RejectReason_value, "REJECT_REASON_", reason)
			if !ok || reason == "" {
				return fmt.Errorf("--reason %q: want not_my_area, not_my_duty, unclear_ownership or other", reason)
			}
			resp, err := call(cmd, g, d, func(ctx context.Context, c dispatchv1.DispatchServiceClient) (*dispatchv1.RejectTaskResponse, error) {
				return c.RejectTask(ctx, &dispatchv1.RejectTaskRequest{RequestId: orNewID(reqID), TaskId: args[0], Reason: r, Note: note, AreaCode: areaCode})
			})
			if err != nil {
				return err
			}
			if g.asJSON {
				return printProto(cmd.OutOrStdout(), resp)
			}
			printRejected(cmd.OutOrStdout(), resp)
			return nil
		},
	}
	reject.Flags().StringVar(&reason, "reason", "", "why (required)")
	reject.Flags().StringVar(&areaCode, "area", "", "not_my_area: the right area's code")

	var due string
	extend := &cobra.Command{
		Use:   "extend TASK_ID --due RFC3339 --reason TEXT",
		Short: "Ask for a later completion due time (延期)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			t, err := time.Parse(time.RFC3339, due)
			if err != nil {
				return fmt.Errorf("--due: %w", err)
			}
			resp, err := call(cmd, g, d, func(ctx context.Context, c dispatchv1.DispatchServiceClient) (*dispatchv1.RequestExtensionResponse, error) {
				return c.RequestExtension(ctx, &dispatchv1.RequestExtensionRequest{RequestId: orNewID(reqID), TaskId: args[0],
					NewDue: timestamppb.New(t), Reason: reason})
			})
			return printTask(cmd, g, resp.GetTask(), err)
		},
	}
	extend.Flags().StringVar(&due, "due", "", "the new completion due time (required)")
	extend.Flags().StringVar(&reason, "reason", "", "why (required)")
	_ = extend.MarkFlagRequired("due")
	_ = extend.MarkFlagRequired("reason")

	var result string
	var evidence []string
	complete := &cobra.Command{
		Use:   "complete TASK_ID --result TEXT [--evidence REF,…]",
		Short: "Report a task done (办结)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			resp, err := call(cmd, g, d, func(ctx context.Context, c dispatchv1.DispatchServiceClient) (*dispatchv1.CompleteTaskResponse, error) {
				return c.CompleteTask(ctx, &dispatchv1.CompleteTaskRequest{RequestId: orNewID(reqID), TaskId: args[0], Result: result, Evidence: evidence})
			})
			return printTask(cmd, g, resp.GetTask(), err)
		},
	}
	complete.Flags().StringVar(&result, "result", "", "what was done (required)")
	complete.Flags().StringSliceVar(&evidence, "evidence", nil, "references to stored evidence")
	_ = complete.MarkFlagRequired("result")

	var grant, deny bool
	decide := &cobra.Command{
		Use:   "decide-extension TASK_ID (--grant [--due RFC3339] | --deny) [--note TEXT]",
		Short: "Grant or deny a requested extension (dispatcher)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			req := &dispatchv1.DecideExtensionRequest{RequestId: orNewID(reqID), TaskId: args[0], Note: note}
			switch {
			case grant == deny:
				return fmt.Errorf("give exactly one of --grant, --deny")
			case grant:
				req.Decision = dispatchv1.ExtensionDecision_EXTENSION_DECISION_GRANT
				if due != "" {
					t, err := time.Parse(time.RFC3339, due)
					if err != nil {
						return fmt.Errorf("--due: %w", err)
					}
					req.NewDue = timestamppb.New(t)
				}
			case due != "":
				return fmt.Errorf("--due goes with --grant: a denied extension keeps the due time")
			default:
				req.Decision = dispatchv1.ExtensionDecision_EXTENSION_DECISION_DENY
			}
			resp, err := call(cmd, g, d, func(ctx context.Context, c dispatchv1.DispatchServiceClient) (*dispatchv1.DecideExtensionResponse, error) {
				return c.DecideExtension(ctx, req)
			})
			return printTask(cmd, g, resp.GetTask(), err)
		},
	}
	decide.Flags().BoolVar(&grant, "grant", false, "grant the extension")
	decide.Flags().BoolVar(&deny, "deny", false, "deny the extension")
	decide.Flags().StringVar(&due, "due", "", "with --grant: another due time than the one asked for")

	for _, c := range []*cobra.Command{ack, reject, extend, complete, decide} {
		c.Flags().StringVar(&reqID, "request-id", "", "idempotency key (default: a new one)")
		if c != extend {
			c.Flags().StringVar(&note, "note", "", "note")
		}
	}
	cmd.AddCommand(list, show, ack, reject, extend, complete, decide)
	return cmd
}

// printTasks is task list's table.
func printTasks(w io.Writer, tasks []*dispatchv1.Task) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "TASK\tCASE\tDEPARTMENT\tROLE\tSTATE\tFLAGS\tACK DUE\tCOMPLETE DUE")
	for _, t := range tasks {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", t.GetTaskId(), t.GetCaseNumber(), t.GetDepartmentCode(),
			enumName(t.GetRole().String(), "TASK_ROLE_"), enumName(t.GetState().String(), "TASK_STATE_"), flags(t),
			when(t.GetDeadlines().GetAck().GetDue()), when(t.GetDeadlines().GetComplete().GetDue()))
	}
	return tw.Flush()
}

// printRejected is task reject's line: the outcome, and the new task when
// the case was re-decided.
func printRejected(w io.Writer, resp *dispatchv1.RejectTaskResponse) {
	fmt.Fprintf(w, "task %s rejected: %s", resp.GetTask().GetTaskId(), enumName(resp.GetOutcome().String(), "REJECT_OUTCOME_"))
	if nt := resp.GetNewTask(); nt != nil {
		fmt.Fprintf(w, " → task %s for %s", nt.GetTaskId(), nt.GetDepartmentCode())
	}
	fmt.Fprintln(w)
}

func orNewID(id string) string {
	if id != "" {
		return id
	}
	return newRequestID()
}

func flags(t *dispatchv1.Task) string {
	var f []string
	for _, x := range []struct {
		on   bool
		name string
	}{{t.GetWarned(), "warned"}, {t.GetOverdue(), "overdue"}, {t.GetSupervised(), "supervised"}, {t.GetEscalated(), "escalated"}} {
		if x.on {
			f = append(f, x.name)
		}
	}
	if len(f) == 0 {
		return "-"
	}
	return strings.Join(f, ",")
}

func printTask(cmd *cobra.Command, g *globals, t *dispatchv1.Task, err error) error {
	if err != nil {
		return err
	}
	if g.asJSON {
		return printProto(cmd.OutOrStdout(), t)
	}
	fmt.Fprintln(cmd.OutOrStdout(), taskLine(t))
	return nil
}

// taskLine is what a task action prints: the task, its unit, its state and
// its completion due time.
func taskLine(t *dispatchv1.Task) string {
	return fmt.Sprintf("task %s %s: %s (complete by %s)", t.GetTaskId(), t.GetDepartmentCode(),
		enumName(t.GetState().String(), "TASK_STATE_"), when(t.GetDeadlines().GetComplete().GetDue()))
}

func newQueueCmd(g *globals) *cobra.Command {
	d := &dispatchFlags{}
	var arbitration bool
	cmd := &cobra.Command{
		Use:   "queue [--arbitration]",
		Short: "List the cases waiting for a dispatcher (--as dispatcher:<street> or district:<district>)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if arbitration {
				resp, err := call(cmd, g, d, func(ctx context.Context, c dispatchv1.DispatchServiceClient) (*dispatchv1.ListArbitrationResponse, error) {
					return c.ListArbitration(ctx, &dispatchv1.ListArbitrationRequest{PageSize: 200})
				})
				if err != nil {
					return err
				}
				if g.asJSON {
					return printProto(cmd.OutOrStdout(), resp)
				}
				return printArbitrations(cmd.OutOrStdout(), resp.GetArbitrations())
			}
			resp, err := call(cmd, g, d, func(ctx context.Context, c dispatchv1.DispatchServiceClient) (*dispatchv1.ListDispatchQueueResponse, error) {
				return c.ListDispatchQueue(ctx, &dispatchv1.ListDispatchQueueRequest{PageSize: 200})
			})
			if err != nil {
				return err
			}
			if g.asJSON {
				return printProto(cmd.OutOrStdout(), resp)
			}
			return printQueue(cmd.OutOrStdout(), resp.GetEntries())
		},
	}
	d.register(cmd)
	cmd.Flags().BoolVar(&arbitration, "arbitration", false, "list the cases in arbitration instead")
	return cmd
}

// printQueue is the dispatch queue's table.
func printQueue(w io.Writer, entries []*dispatchv1.QueueEntry) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "CASE\tNUMBER\tREASON\tSINCE\tITEM\tDETAIL")
	for _, e := range entries {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", e.GetCaseId(), e.GetCaseNumber(), enumName(e.GetReason().String(), "QUEUE_REASON_"),
			when(e.GetSince()), e.GetItemCode(), e.GetDetail())
	}
	return tw.Flush()
}

// printArbitrations is queue --arbitration's table.
func printArbitrations(w io.Writer, arbs []*dispatchv1.Arbitration) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "CASE\tNUMBER\tITEM\tOPENED\tREJECTED BY")
	for _, a := range arbs {
		var by []string
		for _, r := range a.GetRejections() {
			by = append(by, r.GetDepartmentCode()+" ("+enumName(r.GetReason().String(), "REJECT_REASON_")+")")
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", a.GetCaseId(), a.GetCaseNumber(), a.GetItemCode(), when(a.GetOpenedAt()), strings.Join(by, ", "))
	}
	return tw.Flush()
}

// newDispatchCmd groups the dispatch commands: route explain, task …, queue.
func newDispatchCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{Use: "dispatch", Short: "Dispatch: routing decisions, tasks, the dispatch queue"}
	cmd.AddCommand(newRouteCmd(g), newTaskCmd(g), newQueueCmd(g))
	// Webhooks (issue 19).
	cmd.AddCommand(newWebhookCmd(g))
	return cmd
}
