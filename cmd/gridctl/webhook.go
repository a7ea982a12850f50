package main

import (
	"context"
	"fmt"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"
	"google.golang.org/grpc"
	"google.golang.org/grpc/metadata"

	dispatchv1 "github.com/gridflow/gridflow/proto/gen/go/gridflow/dispatch/v1"
)

// Webhooks (issue 19): a department's registrations and their deliveries,
// through dispatch's WebhookService.

// callDispatchService runs one RPC of one of dispatch's services (its
// client made by newClient) with the global timeout.
func callDispatchService[C, T any](cmd *cobra.Command, g *globals, d *dispatchFlags, newClient func(grpc.ClientConnInterface) C,
	fn func(context.Context, C) (T, error)) (T, error) {
	var zero T
	conn, err := d.conn(g, svcDispatch)
	if err != nil {
		return zero, err
	}
	defer conn.Close()
	ctx, cancel := g.ctx(cmd.Context())
	defer cancel()
	out, err := fn(metadata.NewOutgoingContext(ctx, metadata.MD{}), newClient(conn))
	if err != nil {
		return zero, explain(err)
	}
	return out, nil
}

// callHooks runs one WebhookService RPC with the global timeout.
func callHooks[T any](cmd *cobra.Command, g *globals, d *dispatchFlags, fn func(context.Context, dispatchv1.WebhookServiceClient) (T, error)) (T, error) {
	return callDispatchService(cmd, g, d, dispatchv1.NewWebhookServiceClient, fn)
}

func newWebhookCmd(g *globals) *cobra.Command {
	d := &dispatchFlags{}
	cmd := &cobra.Command{Use: "webhook", Short: "A department's webhooks: register, list, delete, and their deliveries (list, retry a dead one) (--as department:<code>, or admin)"}
	d.register(cmd)
	var dept string
	var evs []string
	add := &cobra.Command{
		Use:   "add URL",
		Short: "Register URL for the unit's task events; prints the signing secret, once",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			r, err := callHooks(cmd, g, d, func(ctx context.Context, c dispatchv1.WebhookServiceClient) (*dispatchv1.RegisterWebhookResponse, error) {
				return c.RegisterWebhook(ctx, &dispatchv1.RegisterWebhookRequest{RequestId: newRequestID(), DepartmentCode: dept, Url: args[0], Events: evs})
			})
			if err != nil {
				return err
			}
			w := r.GetWebhook()
			fmt.Fprintf(cmd.OutOrStdout(), "webhook %s for %s → %s (%s)\n", w.GetWebhookId(), w.GetDepartmentCode(), w.GetUrl(), eventsOf(w))
			fmt.Fprintln(cmd.ErrOrStderr(), "the secret below signs every delivery; it is shown this once:")
			fmt.Fprintln(cmd.OutOrStdout(), r.GetSecret())
			return nil
		},
	}
	add.Flags().StringVar(&dept, "dept", "", "the unit (admin; a department registers for its own)")
	add.Flags().StringSliceVar(&evs, "event", nil, "a task event to send (task.dispatched …; repeatable); default every one")
	list := &cobra.Command{
		Use:   "list",
		Short: "List the unit's webhooks (admin: every unit's, or --dept)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			r, err := callHooks(cmd, g, d, func(ctx context.Context, c dispatchv1.WebhookServiceClient) (*dispatchv1.ListWebhooksResponse, error) {
				return c.ListWebhooks(ctx, &dispatchv1.ListWebhooksRequest{DepartmentCode: dept, PageSize: 500})
			})
			if err != nil {
				return err
			}
			tw := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "ID\tUNIT\tURL\tEVENTS\tCREATED\tBY")
			for _, w := range r.GetWebhooks() {
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", w.GetWebhookId(), w.GetDepartmentCode(), w.GetUrl(), eventsOf(w), when(w.GetCreatedAt()), w.GetCreatedBy())
			}
			return tw.Flush()
		},
	}
	list.Flags().StringVar(&dept, "dept", "", "one unit's (admin)")
	del := &cobra.Command{
		Use:   "delete ID",
		Short: "End a registration; its pending deliveries are dropped",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if _, err := callHooks(cmd, g, d, func(ctx context.Context, c dispatchv1.WebhookServiceClient) (*dispatchv1.DeleteWebhookResponse, error) {
				return c.DeleteWebhook(ctx, &dispatchv1.DeleteWebhookRequest{RequestId: newRequestID(), WebhookId: args[0]})
			}); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "webhook %s deleted\n", args[0])
			return nil
		},
	}
	var dead bool
	deliveries := &cobra.Command{
		Use:   "deliveries",
		Short: "List deliveries, newest first (--dead: those dead after their last try, the escalation board's)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			req := &dispatchv1.ListWebhookDeliveriesRequest{DepartmentCode: dept, PageSize: 500}
			if dead {
				req.States = []dispatchv1.WebhookDeliveryState{dispatchv1.WebhookDeliveryState_WEBHOOK_DELIVERY_STATE_DEAD}
			}
			r, err := callHooks(cmd, g, d, func(ctx context.Context, c dispatchv1.WebhookServiceClient) (*dispatchv1.ListWebhookDeliveriesResponse, error) {
				return c.ListWebhookDeliveries(ctx, req)
			})
			if err != nil {
				return err
			}
			tw := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "ID\tEVENT\tTYPE\tUNIT\tSTATE\tTRIES\tNEXT\tLAST ERROR")
			for _, x := range r.GetDeliveries() {
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%d\t%s\t%s\n", x.GetDeliveryId(), x.GetEventId(), x.GetEventType(), x.GetDepartmentCode(),
					enumName(x.GetState().String(), "WEBHOOK_DELIVERY_STATE_"), x.GetAttempts(), when(x.GetNextAttemptAt()), x.GetLastError())
			}
			return tw.Flush()
		},
	}
	deliveries.Flags().StringVar(&dept, "dept", "", "one unit's")
	deliveries.Flags().BoolVar(&dead, "dead", false, "only the dead")
	// Dead deliveries retried (issue 19).
	retry := &cobra.Command{
		Use:   "retry DELIVERY_ID",
		Short: "Send a dead delivery again, with a new round of tries (its unit's department, or admin)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			r, err := callHooks(cmd, g, d, func(ctx context.Context, c dispatchv1.WebhookServiceClient) (*dispatchv1.RetryWebhookDeliveryResponse, error) {
				return c.RetryWebhookDelivery(ctx, &dispatchv1.RetryWebhookDeliveryRequest{RequestId: newRequestID(), DeliveryId: args[0]})
			})
			if err != nil {
				return err
			}
			x := r.GetDelivery()
			fmt.Fprintf(cmd.OutOrStdout(), "delivery %s (%s %s) to %s: %s, next try %s\n", x.GetDeliveryId(), x.GetEventType(), x.GetEventId(),
				x.GetUrl(), enumName(x.GetState().String(), "WEBHOOK_DELIVERY_STATE_"), when(x.GetNextAttemptAt()))
			return nil
		},
	}
	cmd.AddCommand(add, list, del, deliveries, retry)
	return cmd
}

func eventsOf(w *dispatchv1.Webhook) string {
	if len(w.GetEvents()) == 0 {
		return "every task event"
	}
	return strings.Join(w.GetEvents(), ",")
}
