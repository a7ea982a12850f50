package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strings"
	"sync"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/gridflow/gridflow/pkg/notify"

	dispatchv1 "github.com/gridflow/gridflow/proto/gen/go/gridflow/dispatch/v1"
)

// Grid workers' tasks (issue 20, work tasks): a worker's list and its
// inspections (dispatch's WorkerTaskService), and a local sink for the
// notifications dispatch sends.

// callWork runs one WorkerTaskService RPC with the global timeout.
func callWork[T any](cmd *cobra.Command, g *globals, d *dispatchFlags, fn func(context.Context, dispatchv1.WorkerTaskServiceClient) (T, error)) (T, error) {
	return callDispatchService(cmd, g, d, dispatchv1.NewWorkerTaskServiceClient, fn)
}

func newWorkTasksCmd(g *globals) *cobra.Command {
	d := &dispatchFlags{}
	cmd := &cobra.Command{Use: "worktasks", Aliases: []string{"work"},
		Short: "A grid worker's tasks: re-checks (核查) and inspections (巡检) (--as patrol:<worker> for one's own; a dispatcher or admin reads an area's)"}
	d.register(cmd)
	var worker string
	var all bool
	list := &cobra.Command{
		Use:   "list",
		Short: "List open worker tasks by due time, with their SLA light (--mine is the caller's own: --as patrol:<worker>)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			var tasks []*dispatchv1.WorkerTask
			token := ""
			for {
				r, err := callWork(cmd, g, d, func(ctx context.Context, c dispatchv1.WorkerTaskServiceClient) (*dispatchv1.ListWorkerTasksResponse, error) {
					return c.ListWorkerTasks(ctx, &dispatchv1.ListWorkerTasksRequest{WorkerId: worker, IncludeClosed: all, PageSize: 500, PageToken: token})
				})
				if err != nil {
					return err
				}
				tasks = append(tasks, r.GetTasks()...)
				if token = r.GetNextPageToken(); token == "" {
					break
				}
			}
			if g.asJSON {
				return printProto(cmd.OutOrStdout(), &dispatchv1.ListWorkerTasksResponse{Tasks: tasks})
			}
			tw := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "TASK\tKIND\tSTATE\tWORKER\tCASE / PLACE\tGRID\tDUE\tLIGHT\tFLAGS")
			for _, t := range tasks {
				what := t.GetCaseNumber()
				if t.GetKind() == dispatchv1.WorkerTaskKind_WORKER_TASK_KIND_INSPECTION {
					what = strings.TrimSpace(t.GetPlaceName() + " " + t.GetPlaceKey())
				}
				var flags []string
				for _, f := range []struct {
					on   bool
					name string
				}{{t.GetWarned(), "warned"}, {t.GetOverdue(), "overdue"}, {t.GetEscalated(), "escalated"}} {
					if f.on {
						flags = append(flags, f.name)
					}
				}
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", t.GetTaskId(), enumName(t.GetKind().String(), "WORKER_TASK_KIND_"),
					enumName(t.GetState().String(), "WORKER_TASK_STATE_"), t.GetWorkerId(), what, t.GetGridCode(), when(t.GetDueAt()),
					enumName(t.GetSlaLight().String(), "SLA_LIGHT_"), strings.Join(flags, ","))
			}
			return tw.Flush()
		},
	}
	list.Flags().StringVar(&worker, "worker", "", "one worker's tasks (a dispatcher or admin; a worker always sees its own)")
	list.Flags().BoolVar(&all, "all", false, "done, missed and withdrawn tasks too")
	list.Flags().Bool("mine", true, "the caller's own tasks (with --as patrol:<worker>; the default for a worker)")

	var outcome, note, caseID string
	inspect := &cobra.Command{
		Use:   "inspect TASK_ID",
		Short: "Record an open inspection as done: --outcome ok, or finding with --note and the patrol report's --case-id",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			o := map[string]dispatchv1.InspectionOutcome{"ok": dispatchv1.InspectionOutcome_INSPECTION_OUTCOME_OK,
				"finding": dispatchv1.InspectionOutcome_INSPECTION_OUTCOME_FINDING}[outcome]
			r, err := callWork(cmd, g, d, func(ctx context.Context, c dispatchv1.WorkerTaskServiceClient) (*dispatchv1.RecordInspectionResponse, error) {
				return c.RecordInspection(ctx, &dispatchv1.RecordInspectionRequest{RequestId: newRequestID(), TaskId: args[0], Outcome: o,
					Note: note, CaseId: caseID})
			})
			if err != nil {
				return err
			}
			if g.asJSON {
				return printProto(cmd.OutOrStdout(), r)
			}
			t := r.GetTask()
			onTime := "late"
			if t.GetOnTime() {
				onTime = "on time"
			}
			fmt.Fprintf(cmd.OutOrStdout(), "inspection %s of %s recorded: %s, %s\n", t.GetTaskId(), t.GetPlaceKey(),
				enumName(t.GetOutcome().String(), "INSPECTION_OUTCOME_"), onTime)
			return nil
		},
	}
	inspect.Flags().StringVar(&outcome, "outcome", "", "ok or finding")
	inspect.Flags().StringVar(&note, "note", "", "what was found")
	inspect.Flags().StringVar(&caseID, "case-id", "", "the patrol report raised for a finding (gridctl submit patrol prints its case id)")
	cmd.AddCommand(list, inspect)
	return cmd
}

// newNotifyCmd is the local test sink for notifications.
func newNotifyCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{Use: "notify", Short: "Notifications (webhook deliveries) on one machine"}
	var listen, secret, secretFile string
	var tolerance time.Duration
	sink := &cobra.Command{
		Use: "sink",
		Short: "Receive notifications on --listen, verify each signature with --secret (pkg/notify) and print it; " +
			"point a worker's notify (gridworkers.yaml) or a department's webhook at http://ADDR/",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			key := []byte(secret)
			if secretFile != "" {
				b, err := os.ReadFile(secretFile)
				if err != nil {
					return err
				}
				key = []byte(strings.TrimSpace(string(b)))
			}
			if len(key) == 0 {
				return fmt.Errorf("--secret or --secret-file is required: an unverified notification is not shown")
			}
			lis, err := net.Listen("tcp", listen)
			if err != nil {
				return fmt.Errorf("--listen %s: %w", listen, err)
			}
			fmt.Fprintf(cmd.ErrOrStderr(), "notify sink: listening on http://%s/\n", lis.Addr())
			srv := &http.Server{Handler: sinkHandler(cmd.OutOrStdout(), key, tolerance, g.asJSON), ReadHeaderTimeout: 10 * time.Second}
			go func() {
				<-cmd.Context().Done()
				ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
				defer cancel()
				_ = srv.Shutdown(ctx)
			}()
			if err := srv.Serve(lis); err != nil && err != http.ErrServerClosed {
				return err
			}
			return nil
		},
	}
	sink.Flags().StringVar(&listen, "listen", "127.0.0.1:7299", "address to listen on")
	sink.Flags().StringVar(&secret, "secret", "", "the shared secret (DISPATCH_WORKER_NOTIFY_SECRET, or a webhook's)")
	sink.Flags().StringVar(&secretFile, "secret-file", "", "read the secret from a file instead")
	sink.Flags().DurationVar(&tolerance, "tolerance", 5*time.Minute, "how far a notification's timestamp may be from now")
	cmd.AddCommand(sink)
	return cmd
}

// sinkHandler verifies and prints each notification: one line per
// notification (its event, time and body), or the body as JSON with --json.
// A bad signature is answered 401 and printed to the log only.
func sinkHandler(out io.Writer, secret []byte, tolerance time.Duration, asJSON bool) http.Handler {
	var mu sync.Mutex
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
		if err != nil || r.Method != http.MethodPost {
			http.Error(w, "POST a notification", http.StatusBadRequest)
			return
		}
		if err := notify.Verify(secret, r.Header, body, time.Now(), tolerance); err != nil {
			http.Error(w, err.Error(), http.StatusUnauthorized)
			fmt.Fprintf(os.Stderr, "notify sink: refused a notification from %s: %v\n", r.RemoteAddr, err)
			return
		}
		mu.Lock()
		defer mu.Unlock()
		if asJSON {
			var v any
			if json.Unmarshal(body, &v) == nil {
				b, _ := json.Marshal(v)
				fmt.Fprintln(out, string(b))
			}
		} else {
			fmt.Fprintf(out, "%s %s %s %s\n", time.Now().UTC().Format(time.RFC3339), r.Header.Get(notify.HeaderEventType),
				r.Header.Get(notify.HeaderEventID), body)
		}
		w.WriteHeader(http.StatusNoContent)
	})
}
