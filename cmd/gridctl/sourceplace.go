package main

import (
	"context"
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"
	"google.golang.org/grpc"

	classifyv1 "github.com/gridflow/gridflow/proto/gen/go/gridflow/classify/v1"
	dispatchv1 "github.com/gridflow/gridflow/proto/gen/go/gridflow/dispatch/v1"
)

// Source place coordination (issue 20): `gridctl sourceplace lead|show|list|
// close|reopen` over classify's SourcePlaceService, with dispatch's
// CoordinationService for the linked tasks.

func newSourcePlaceCmd(g *globals) *cobra.Command {
	d := &dispatchFlags{}
	cmd := &cobra.Command{Use: "sourceplace", Short: "Source places (归因): their lead unit and coordinated tasks (联勤联动)"}
	d.register(cmd)
	var reason, requestID, district, street string
	var openOnly bool

	withPlaces := func(cmd *cobra.Command, fn func(ctx context.Context, c classifyv1.SourcePlaceServiceClient, w io.Writer) error) error {
		conn, err := d.conn(g, svcClassify)
		if err != nil {
			return err
		}
		defer conn.Close()
		ctx, cancel := g.ctx(cmd.Context())
		defer cancel()
		return explainErr(fn(ctx, classifyv1.NewSourcePlaceServiceClient(conn), cmd.OutOrStdout()))
	}
	write := func(name string, do func(ctx context.Context, c classifyv1.SourcePlaceServiceClient, id string) (*classifyv1.SourcePlace, error)) func(*cobra.Command, []string) error {
		return func(cmd *cobra.Command, args []string) error {
			return withPlaces(cmd, func(ctx context.Context, c classifyv1.SourcePlaceServiceClient, w io.Writer) error {
				sp, err := do(ctx, c, args[0])
				if err != nil {
					return err
				}
				return printSourcePlace(w, sp, nil, g.asJSON)
			})
		}
	}
	lead := &cobra.Command{
		Use:   "lead SOURCE_PLACE_ID DEPARTMENT [--reason TEXT]",
		Short: "Name or change the lead unit of an open source place (a unit serving its street)",
		Args:  cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			return write("lead", func(ctx context.Context, c classifyv1.SourcePlaceServiceClient, id string) (*classifyv1.SourcePlace, error) {
				resp, err := c.SetSourcePlaceLead(ctx, &classifyv1.SetSourcePlaceLeadRequest{RequestId: orNewID(requestID), SourcePlaceId: id,
					DepartmentCode: args[1], Reason: reason})
				return resp.GetSourcePlace(), err
			})(cmd, args)
		},
	}
	closeCmd := &cobra.Command{
		Use:   "close SOURCE_PLACE_ID [--reason TEXT]",
		Short: "Close a source place: no new report joins it and its tasks are no longer coordinated",
		Args:  cobra.ExactArgs(1),
		RunE: write("close", func(ctx context.Context, c classifyv1.SourcePlaceServiceClient, id string) (*classifyv1.SourcePlace, error) {
			resp, err := c.CloseSourcePlace(ctx, &classifyv1.CloseSourcePlaceRequest{RequestId: orNewID(requestID), SourcePlaceId: id, Reason: reason})
			return resp.GetSourcePlace(), err
		}),
	}
	reopen := &cobra.Command{
		Use:   "reopen SOURCE_PLACE_ID [--reason TEXT]",
		Short: "Reopen a closed source place with its lead",
		Args:  cobra.ExactArgs(1),
		RunE: write("reopen", func(ctx context.Context, c classifyv1.SourcePlaceServiceClient, id string) (*classifyv1.SourcePlace, error) {
			resp, err := c.ReopenSourcePlace(ctx, &classifyv1.ReopenSourcePlaceRequest{RequestId: orNewID(requestID), SourcePlaceId: id, Reason: reason})
			return resp.GetSourcePlace(), err
		}),
	}
	for _, c := range []*cobra.Command{lead, closeCmd, reopen} {
		c.Flags().StringVar(&reason, "reason", "", "why (recorded in the place's history)")
		c.Flags().StringVar(&requestID, "request-id", "", "idempotency key (default: a new one)")
	}
	show := &cobra.Command{
		Use:   "show SOURCE_PLACE_ID",
		Short: "Show a source place: its lead, history, incidents and every linked task with its holder, state and clock",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return withPlaces(cmd, func(ctx context.Context, c classifyv1.SourcePlaceServiceClient, w io.Writer) error {
				resp, err := c.GetSourcePlace(ctx, &classifyv1.GetSourcePlaceRequest{SourcePlaceId: args[0]})
				if err != nil {
					return err
				}
				conn, err := d.conn(g, svcDispatch)
				if err != nil {
					return err
				}
				defer conn.Close()
				co, err := coordinationOf(ctx, conn, args[0])
				if err != nil {
					return err
				}
				return printSourcePlace(w, resp.GetSourcePlace(), co, g.asJSON)
			})
		},
	}
	list := &cobra.Command{
		Use:   "list [--street CODE] [--district CODE] [--open]",
		Short: "List source places, most recently changed first",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return withPlaces(cmd, func(ctx context.Context, c classifyv1.SourcePlaceServiceClient, w io.Writer) error {
				resp, err := c.ListSourcePlaces(ctx, &classifyv1.ListSourcePlacesRequest{DistrictCode: district, StreetCode: street,
					OpenOnly: openOnly, PageSize: 100})
				if err != nil {
					return err
				}
				if g.asJSON {
					return printProto(w, resp)
				}
				for _, sp := range resp.GetSourcePlaces() {
					if err := printSourcePlace(w, sp, nil, false); err != nil {
						return err
					}
				}
				return nil
			})
		},
	}
	list.Flags().StringVar(&district, "district", "", "only this district")
	list.Flags().StringVar(&street, "street", "", "only this street")
	list.Flags().BoolVar(&openOnly, "open", false, "only open places")
	cmd.AddCommand(lead, show, list, closeCmd, reopen)
	return cmd
}

func explainErr(err error) error {
	if err == nil {
		return nil
	}
	return explain(err)
}

func coordinationOf(ctx context.Context, conn *grpc.ClientConn, id string) (*dispatchv1.GetCoordinationResponse, error) {
	return dispatchv1.NewCoordinationServiceClient(conn).GetCoordination(ctx, &dispatchv1.GetCoordinationRequest{SourcePlaceId: id})
}

func printSourcePlace(w io.Writer, sp *classifyv1.SourcePlace, co *dispatchv1.GetCoordinationResponse, asJSON bool) error {
	if asJSON {
		if err := printProto(w, sp); err != nil {
			return err
		}
		if co != nil {
			return printProto(w, co)
		}
		return nil
	}
	state := "closed"
	if sp.GetOpen() {
		state = "open"
	}
	lead := sp.GetLeadDepartmentCode()
	if lead == "" {
		lead = "(none named)"
	}
	fmt.Fprintf(w, "%s  %s  lead %s  at %q  items %s\n", sp.GetSourcePlaceId(), state, lead, sp.GetPlaceKey(), strings.Join(sp.GetItemCodes(), " "))
	for _, i := range sp.GetIncidents() {
		if i.GetPrimaryCaseId() == "" {
			fmt.Fprintf(w, "    incident %s\n", i.GetIncidentId())
			continue
		}
		fmt.Fprintf(w, "    incident %s  %s  %d reports  primary case %s\n", i.GetIncidentId(), i.GetItemCode(), i.GetReports(), i.GetPrimaryCaseId())
	}
	for _, h := range sp.GetHistory() {
		fmt.Fprintf(w, "    %s  %s  %s", localTime(h.GetAt().AsTime()), h.GetActor(), h.GetChange())
		if h.GetPreviousLeadDepartmentCode() != "" && h.GetPreviousLeadDepartmentCode() != h.GetLeadDepartmentCode() {
			fmt.Fprintf(w, " %s →", h.GetPreviousLeadDepartmentCode())
		}
		fmt.Fprintf(w, " %s", h.GetLeadDepartmentCode())
		if h.GetReason() != "" {
			fmt.Fprintf(w, ": %s", h.GetReason())
		}
		fmt.Fprintln(w)
	}
	for _, t := range co.GetTasks() {
		due := ""
		if d := t.GetDeadlines().GetComplete().GetDue(); d != nil {
			due = " due " + localTime(d.AsTime())
		}
		flags := ""
		if t.GetOverdue() {
			flags += " OVERDUE"
		} else if t.GetWarned() {
			flags += " warned"
		}
		if t.GetEscalated() {
			flags += " escalated"
		}
		fmt.Fprintf(w, "    task %s  %s  case %s  held by %s  %s%s%s\n", t.GetTaskId(), t.GetItemCode(), t.GetCaseNumber(), t.GetDepartmentCode(),
			enumName(t.GetState().String(), "TASK_STATE_"), due, flags)
	}
	return nil
}
