package loadgen

import (
	"context"
	"fmt"
	"math/rand/v2"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/gridflow/gridflow/pkg/auth"

	dispatchv1 "github.com/gridflow/gridflow/proto/gen/go/gridflow/dispatch/v1"
	eventsv1 "github.com/gridflow/gridflow/proto/gen/go/gridflow/events/v1"
	feedbackv1 "github.com/gridflow/gridflow/proto/gen/go/gridflow/feedback/v1"
)

// bot is one department: it watches its tasks and works them. The watch
// resumes from its last cursor after a disconnect (a restarted dispatch);
// every (re)connection also sweeps the department's open tasks, so a task
// dispatched while the bot was not watching is not left behind.
func (r *Runner) bot(ctx context.Context, dept string) {
	p := auth.Principal{Role: auth.RoleDepartment, Subject: dept}
	client := dispatchv1.NewDispatchServiceClient(r.dispatch)
	cursor := ""
	for attempt := 0; ctx.Err() == nil; attempt++ {
		cctx, err := r.as(ctx, p)
		if err != nil {
			fmt.Fprintln(r.cfg.Progress, "load:", err)
			return
		}
		stream, err := client.WatchTasks(cctx, &dispatchv1.WatchTasksRequest{Cursor: cursor})
		if err == nil {
			r.sweep(ctx, client, p)
			for {
				resp, err := stream.Recv()
				if err != nil {
					break
				}
				attempt = 0
				cursor = resp.GetCursor()
				r.onTaskEvent(ctx, p, resp.GetEvent())
			}
		}
		if ctx.Err() != nil {
			return
		}
		sleep(ctx, retryDelay(nil, attempt))
	}
}

// sweep takes every open task of the department's that belongs to the run.
func (r *Runner) sweep(ctx context.Context, client dispatchv1.DispatchServiceClient, p auth.Principal) {
	cctx, err := r.as(ctx, p)
	if err != nil {
		return
	}
	states := []eventsv1.TaskState{eventsv1.TaskState_TASK_STATE_DISPATCHED, eventsv1.TaskState_TASK_STATE_ACKNOWLEDGED}
	token := ""
	for {
		lctx, cancel := context.WithTimeout(cctx, r.cfg.CallTimeout)
		resp, err := client.ListTasks(lctx, &dispatchv1.ListTasksRequest{States: states, PageToken: token, PageSize: 500})
		cancel()
		if err != nil {
			return // the next reconnection sweeps again
		}
		for _, t := range resp.GetTasks() {
			if r.known(t.GetCaseId()) {
				r.take(ctx, p, t.GetTaskId(), t.GetCaseId(), t)
			}
		}
		if token = resp.GetNextPageToken(); token == "" {
			return
		}
	}
}

func (r *Runner) onTaskEvent(ctx context.Context, p auth.Principal, env *eventsv1.Envelope) {
	switch {
	case env.GetTaskDispatched() != nil:
		t := env.GetTaskDispatched().GetTask()
		// The page says what the bot needs (a task just dispatched): no
		// GetTask before signing for it, a call per task (issue 17).
		var known *dispatchv1.Task
		if t.GetState() == eventsv1.TaskState_TASK_STATE_DISPATCHED {
			known = &dispatchv1.Task{TaskId: t.GetTaskId(), State: t.GetState()}
		}
		r.take(ctx, p, t.GetTaskId(), t.GetCaseId(), known)
	case env.GetTaskCompletionReturned() != nil:
		// A dispatcher sent the work back: the task is acknowledged again.
		t := env.GetTaskCompletionReturned().GetTask()
		r.rework(ctx, p, t.GetTaskId(), t.GetCaseId())
	}
}

// take starts working a task once (the watch and a sweep may both offer
// it); known, when not nil, is the task as the offer showed it.
func (r *Runner) take(ctx context.Context, p auth.Principal, taskID, caseID string, known *dispatchv1.Task) {
	r.mu.Lock()
	seen := r.tasks[taskID]
	r.tasks[taskID] = true
	r.mu.Unlock()
	if seen {
		return
	}
	r.pendingTasks.Add(1)
	go func() {
		defer r.pendingTasks.Add(-1)
		if !r.ofRun(ctx, caseID) {
			return
		}
		r.work(ctx, p, taskID, 0, known)
	}()
}

func (r *Runner) rework(ctx context.Context, p auth.Principal, taskID, caseID string) {
	if !r.known(caseID) {
		return
	}
	r.pendingTasks.Add(1)
	go func() {
		defer r.pendingTasks.Add(-1)
		r.work(ctx, p, taskID, 1+rand.IntN(1_000_000), nil)
	}()
}

// work signs for a task and completes it, each after a delay; a completion
// that waits for review is approved by the case's street dispatcher. Each
// write has its own request id, so a retry after a lost answer is the same
// write, and a task already past a step (a retry, a sweep) skips it. known
// is the task as the bot was offered it; nil reads it first. A step refused
// because the task moved meanwhile reads it then (after).
func (r *Runner) work(ctx context.Context, p auth.Principal, taskID string, round int, known *dispatchv1.Task) {
	client := dispatchv1.NewDispatchServiceClient(r.dispatch)
	cctx, err := r.as(ctx, p)
	if err != nil {
		return
	}
	task := known
	if task == nil {
		if task, err = r.getTask(cctx, client, taskID); err != nil {
			return
		}
	}
	if task.GetState() == eventsv1.TaskState_TASK_STATE_DISPATCHED {
		d := jitter(r.cfg.AckDelay)
		if rand.Float64() < r.cfg.SlowShare {
			d = r.cfg.SlowDelay + jitter(r.cfg.SlowDelay/2)
		}
		if !sleep(ctx, d) {
			return
		}
		var resp *dispatchv1.AcknowledgeTaskResponse
		_, err := r.retry(cctx, r.botErrs, "AcknowledgeTask", func(ctx context.Context) error {
			var err error
			resp, err = client.AcknowledgeTask(ctx, &dispatchv1.AcknowledgeTaskRequest{RequestId: "ack-" + taskID, TaskId: taskID,
				Note: "已签收，安排人员前往"})
			return err
		})
		if err != nil {
			if task, err = r.after(cctx, client, taskID, err); err != nil {
				return
			}
		} else {
			task = resp.GetTask()
			r.acked.Add(1)
		}
	}
	if task.GetState() == eventsv1.TaskState_TASK_STATE_ACKNOWLEDGED {
		if !sleep(ctx, jitter(r.cfg.CompleteDelay)) {
			return
		}
		var resp *dispatchv1.CompleteTaskResponse
		_, err := r.retry(cctx, r.botErrs, "CompleteTask", func(ctx context.Context) error {
			var err error
			resp, err = client.CompleteTask(ctx, &dispatchv1.CompleteTaskRequest{RequestId: fmt.Sprintf("done-%s-%d", taskID, round),
				TaskId: taskID, Result: "已到现场处置完毕，情况已恢复正常，已向市民说明处理结果。",
				Evidence: []string{"evidence/" + taskID + ".jpg"}})
			return err
		})
		if err != nil {
			if task, err = r.after(cctx, client, taskID, err); err != nil {
				return
			}
		} else {
			task = resp.GetTask()
			r.completed.Add(1)
		}
	}
	if task.GetState() == eventsv1.TaskState_TASK_STATE_COMPLETED && task.GetReview() == eventsv1.ReviewState_REVIEW_STATE_PENDING {
		r.approve(cctx, client, task, round)
	}
}

// after reads a task whose step failed for good: a FailedPrecondition
// means someone else moved it (withdrawn, or the step was done), which
// the task's state now says; anything else is given up.
func (r *Runner) after(ctx context.Context, client dispatchv1.DispatchServiceClient, taskID string, err error) (*dispatchv1.Task, error) {
	if status.Code(err) != codes.FailedPrecondition {
		return nil, err
	}
	return r.getTask(ctx, client, taskID)
}

func (r *Runner) getTask(ctx context.Context, client dispatchv1.DispatchServiceClient, taskID string) (*dispatchv1.Task, error) {
	var task *dispatchv1.Task
	_, err := r.retry(ctx, r.botErrs, "GetTask", func(ctx context.Context) error {
		resp, err := client.GetTask(ctx, &dispatchv1.GetTaskRequest{TaskId: taskID})
		task = resp.GetTask()
		return err
	})
	return task, err
}

// approve is the street dispatcher approving a completion that waits for
// review (the district's, for a case outside any street).
func (r *Runner) approve(ctx context.Context, client dispatchv1.DispatchServiceClient, task *dispatchv1.Task, round int) {
	if task.GetCase() == nil {
		// Answers to writes carry the task without its case: read it.
		var err error
		if task, err = r.getTask(ctx, client, task.GetTaskId()); err != nil {
			return
		}
	}
	area := task.GetCase().GetSummary().GetArea()
	p := auth.Principal{Role: auth.RoleDispatcher, Subject: area.GetStreetCode()}
	if s := area.GetStreetCode(); s == "" || s == "0" {
		p = auth.Principal{Role: auth.RoleDistrict, Subject: area.GetDistrictCode()}
	}
	cctx, err := r.as(ctx, p)
	if err != nil {
		return
	}
	if !sleep(ctx, jitter(r.cfg.AckDelay)) {
		return
	}
	_, err = r.retry(cctx, r.botErrs, "ReviewCompletion", func(ctx context.Context) error {
		_, err := client.ReviewCompletion(ctx, &dispatchv1.ReviewCompletionRequest{RequestId: fmt.Sprintf("approve-%s-%d", task.GetTaskId(), round),
			TaskId: task.GetTaskId(), Decision: dispatchv1.ReviewDecision_REVIEW_DECISION_APPROVE, Note: "核实无误，同意办结"})
		return err
	})
	if err == nil {
		r.approved.Add(1)
	}
}

// hotlineCallbacks is the hotline calling citizens back: it follows the
// updates of the cases it may see, resuming from its cursor, and records a
// callback for each final reply to a work order of the run whose caller
// may be called back.
func (r *Runner) hotlineCallbacks(ctx context.Context) {
	p := auth.Principal{Role: auth.RoleHotline}
	client := feedbackv1.NewFeedbackServiceClient(r.feedback)
	cursor := ""
	for attempt := 0; ctx.Err() == nil; attempt++ {
		cctx, err := r.as(ctx, p)
		if err != nil {
			fmt.Fprintln(r.cfg.Progress, "load:", err)
			return
		}
		stream, err := client.WatchCaseUpdates(cctx, &feedbackv1.WatchCaseUpdatesRequest{Cursor: cursor})
		for err == nil {
			var u *feedbackv1.WatchCaseUpdatesResponse
			if u, err = stream.Recv(); err != nil {
				break
			}
			attempt = 0
			cursor = u.GetCursor()
			if u.GetKind() == feedbackv1.UpdateKind_UPDATE_KIND_FINAL_REPLY && r.wantsCallback(u.GetCaseId()) {
				r.pendingTasks.Add(1)
				go func() { defer r.pendingTasks.Add(-1); r.callBack(cctx, client, u) }()
			}
		}
		if ctx.Err() != nil {
			return
		}
		sleep(ctx, retryDelay(nil, attempt))
	}
}

// wantsCallback reports whether the case is one of the run's work orders
// whose caller did not ask for no callback (feedback closes those on the
// reply).
func (r *Runner) wantsCallback(caseID string) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.callBackTo[caseID]
}

func (r *Runner) callBack(ctx context.Context, client feedbackv1.FeedbackServiceClient, u *feedbackv1.WatchCaseUpdatesResponse) {
	if !sleep(ctx, jitter(r.cfg.CallbackDelay)) {
		return
	}
	r.mu.Lock()
	r.callback[u.GetCaseId()]++
	first := r.callback[u.GetCaseId()] == 1
	r.mu.Unlock()
	sat := feedbackv1.RecordCallbackRequest{RequestId: "cb-" + u.GetCaseId() + "-" + u.GetCursor(), CaseId: u.GetCaseId(),
		Reached: true, ContactedByUnit: true, Solved: true, Satisfaction: eventsv1.Satisfaction_SATISFACTION_SATISFIED}
	switch x := rand.Float64(); {
	case first && x < r.cfg.UnsatisfiedShare:
		sat.Solved, sat.Satisfaction, sat.Note = false, eventsv1.Satisfaction_SATISFACTION_UNSATISFIED, "问题没有解决，要求重新处理"
	case x < 0.15:
		sat.Satisfaction = eventsv1.Satisfaction_SATISFACTION_BASIC
	}
	_, err := r.retry(ctx, r.botErrs, "RecordCallback", func(ctx context.Context) error {
		_, err := client.RecordCallback(ctx, &sat)
		return err
	})
	if err == nil {
		r.callbacks.Add(1)
		if sat.Satisfaction == eventsv1.Satisfaction_SATISFACTION_UNSATISFIED {
			r.reopened.Add(1)
		}
	}
}

// sleep waits d or until ctx ends; false when ctx ended.
func sleep(ctx context.Context, d time.Duration) bool {
	if d <= 0 {
		return ctx.Err() == nil
	}
	select {
	case <-ctx.Done():
		return false
	case <-time.After(d):
		return true
	}
}
