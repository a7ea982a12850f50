package postgres_test

import (
	"context"
	"log/slog"
	"testing"
	"time"

	"github.com/gridflow/gridflow/pkg/auth"
	"github.com/gridflow/gridflow/pkg/pgdb"
	"github.com/gridflow/gridflow/services/feedback/internal/grpcapi"
	"github.com/gridflow/gridflow/services/feedback/internal/postgres"
	"google.golang.org/grpc"

	feedbackv1 "github.com/gridflow/gridflow/proto/gen/go/gridflow/feedback/v1"
	typesv1 "github.com/gridflow/gridflow/proto/gen/go/gridflow/types/v1"
)

// watchStream is the server side of a WatchCaseUpdates stream, collecting
// what is sent.
type watchStream struct {
	grpc.ServerStream
	ctx  context.Context
	sent chan *feedbackv1.WatchCaseUpdatesResponse
}

func (w *watchStream) Context() context.Context { return w.ctx }
func (w *watchStream) Send(u *feedbackv1.WatchCaseUpdatesResponse) error {
	w.sent <- u
	return nil
}

// TestWatchWakesOnCommit: a watch whose poll is an hour still sees a new
// update at once, because the committing transaction NOTIFYs and the watch
// waits on that bell; and a watch resumed from a cursor gets only what came
// after it.
func TestWatchWakesOnCommit(t *testing.T) {
	e := newEnv(t)
	testWatchWakes(t, e)
}

// TestWatchWakesOnAnnouncedCommit is TestWatchWakesOnCommit with the events
// handled as the consumer handles them (issue 17): quiet batches, whose
// commits the Announcer announces after them.
func TestWatchWakesOnAnnouncedCommit(t *testing.T) {
	e := newEnv(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	e.announcer = postgres.NewAnnouncer(e.pool, nil)
	// The API's transactions are quiet too.
	e.store.WithAnnouncer(e.announcer)
	go e.announcer.Run(ctx) //nolint:errcheck // nil at ctx's end
	testWatchWakes(t, e)
}

func testWatchWakes(t *testing.T, e *env) {
	ctx, cancel := context.WithCancel(auth.WithPrincipal(context.Background(), auth.Principal{Role: auth.RoleHotline}))
	defer cancel()
	bell := grpcapi.NewBell()
	go pgdb.Listen(ctx, e.pool, postgres.EventsChannelSQL, slog.Default(), bell.Ring)
	srv := grpcapi.New(e.svc, bell, time.Hour)

	k := e.receive(typesv1.Source_SOURCE_HOTLINE, false)
	e.classify(k, "")
	stream := &watchStream{ctx: ctx, sent: make(chan *feedbackv1.WatchCaseUpdatesResponse, 16)}
	done := make(chan error, 1)
	go func() { done <- srv.WatchCaseUpdates(&feedbackv1.WatchCaseUpdatesRequest{CaseId: k.id}, stream) }()
	time.Sleep(200 * time.Millisecond) // the watch has read everything and waits

	start := time.Now()
	e.work(k, 0, false) // signed for, completed → resolved → replied
	var got []feedbackv1.UpdateKind
	var cursor string
	for len(got) < 2 {
		select {
		case u := <-stream.sent:
			got = append(got, u.GetKind())
			cursor = u.GetCursor()
		case <-time.After(5 * time.Second):
			t.Fatalf("after %s the watch had sent %v; want signed-for and the final reply without waiting for the hour's poll", time.Since(start), got)
		}
	}
	if got[0] != feedbackv1.UpdateKind_UPDATE_KIND_SIGNED_FOR || got[1] != feedbackv1.UpdateKind_UPDATE_KIND_FINAL_REPLY {
		t.Errorf("updates = %v, want signed-for then final reply", got)
	}
	cancel()
	<-done

	// Resuming from the last cursor replays nothing already seen.
	ctx2, cancel2 := context.WithTimeout(auth.WithPrincipal(context.Background(), auth.Principal{Role: auth.RoleHotline}), 500*time.Millisecond)
	defer cancel2()
	again := &watchStream{ctx: ctx2, sent: make(chan *feedbackv1.WatchCaseUpdatesResponse, 16)}
	_ = srv.WatchCaseUpdates(&feedbackv1.WatchCaseUpdatesRequest{CaseId: k.id, Cursor: cursor}, again)
	if n := len(again.sent); n != 0 {
		t.Errorf("resumed watch replayed %d updates", n)
	}
}
