package e2e

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/gridflow/gridflow/pkg/auth"
	"github.com/gridflow/gridflow/pkg/natsauth"
	"github.com/gridflow/gridflow/pkg/natsjs"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"google.golang.org/grpc/metadata"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	dispatchv1 "github.com/gridflow/gridflow/proto/gen/go/gridflow/dispatch/v1"
	eventsv1 "github.com/gridflow/gridflow/proto/gen/go/gridflow/events/v1"
)

// The stack's nats-server (bin/nats-server with the config gridctl nats
// users wrote) admits no one without a user, and a service's user is
// refused on another service's subject and consumer, on direct reads and
// on subscribing around JetStream — while intake, running as its own user,
// has created its durable consumer, and dispatch serves a department's
// WatchTasks from GRID through the ephemeral consumers its user may make.
// pkg/natsauth's TestPermissions covers the whole table; this is the stack
// as it runs.
func TestNATSUsers(t *testing.T) {
	t.Parallel()
	s := startStack(t, "intake", "dispatch")

	if nc, err := nats.Connect(s.natsURL); err == nil {
		nc.Close()
		t.Fatal("connected to the stack's NATS without a user")
	} else if !errors.Is(err, nats.ErrAuthorization) {
		t.Fatalf("connect without a user: %v, want an authorization violation", err)
	}

	// The setup step declared intake's durable; intake bound to it.
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for {
		_, err := s.jetStream(t).Consumer(ctx, natsjs.StreamGrid, "intake-closures")
		if err == nil {
			break
		}
		if ctx.Err() != nil {
			t.Fatalf("intake-closures never appeared: %v", err)
		}
		time.Sleep(100 * time.Millisecond)
	}

	// A task event on GRID, as dispatch's relay publishes it, reaches the
	// department's watch.
	dept, subject := "310106022-cgzd", "grid.task.dispatched.310106022-cgzd.310106.310106022"
	env := &eventsv1.Envelope{EventId: uuid.NewString(), Type: "task.dispatched", CaseId: uuid.NewString(),
		OccurredAt: timestamppb.Now(), Version: 1,
		Payload: &eventsv1.Envelope_TaskDispatched{TaskDispatched: &eventsv1.TaskDispatched{Rule: "e2e"}}}
	data, err := proto.Marshal(env)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.jetStreamAs(t, natsauth.Dispatch).Publish(ctx, subject, data, jetstream.WithMsgID(env.EventId)); err != nil {
		t.Fatalf("publish %s as dispatch: %v", subject, err)
	}
	tok, err := s.signer.Issue(auth.Principal{Role: auth.RoleDepartment, Subject: dept}, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	wctx, wcancel := context.WithTimeout(metadata.AppendToOutgoingContext(ctx, "authorization", "Bearer "+tok), 20*time.Second)
	defer wcancel()
	watch, err := dispatchv1.NewDispatchServiceClient(s.dial(t, "dispatch", auth.Principal{Role: auth.RoleDepartment, Subject: dept})).
		WatchTasks(wctx, &dispatchv1.WatchTasksRequest{Cursor: "0"})
	if err != nil {
		t.Fatal(err)
	}
	if got, err := watch.Recv(); err != nil || got.GetEvent().GetEventId() != env.EventId {
		t.Fatalf("WatchTasks as %s: %v, %v; want event %s", dept, got, err, env.EventId)
	}
	wcancel()

	var (
		mu   sync.Mutex
		errs []string
	)
	opts, err := natsjs.User(natsauth.Classify, natsauth.SeedFile(s.users, natsauth.Classify))
	if err != nil {
		t.Fatal(err)
	}
	nc, err := nats.Connect(s.natsURL, append(opts, nats.ErrorHandler(func(_ *nats.Conn, _ *nats.Subscription, err error) {
		mu.Lock()
		defer mu.Unlock()
		errs = append(errs, err.Error())
	}))...)
	if err != nil {
		t.Fatalf("connect as classify: %v", err)
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	refused := func(what string, op func(ctx context.Context) error) {
		t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
		defer cancel()
		if err := op(ctx); err == nil {
			t.Errorf("classify: %s allowed, want refused", what)
			return
		}
		want := strings.ToLower("Permissions Violation for " + what)
		for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
			mu.Lock()
			seen := strings.ToLower(strings.Join(errs, "\n"))
			mu.Unlock()
			if strings.Contains(seen, want) {
				return
			}
		}
		t.Errorf("classify: %s failed without the server's refusal; errors: %q", what, errs)
	}
	received := "grid.case.received.310106.310106022"
	refused(`Publish to "`+received+`"`, func(ctx context.Context) error {
		_, err := js.Publish(ctx, received, []byte("forged"))
		return err
	})
	refused(`Publish to "$JS.API.CONSUMER.CREATE.GRID.intake-closures"`, func(ctx context.Context) error {
		_, err := js.CreateOrUpdateConsumer(ctx, natsjs.StreamGrid, jetstream.ConsumerConfig{
			Durable: "intake-closures", FilterSubjects: []string{"grid.case.closed.>", "grid.case.received.>"}})
		return err
	})
	// Its own durable, declared by the setup step, cannot be widened.
	refused(`Publish to "$JS.API.CONSUMER.CREATE.GRID.classify-cases"`, func(ctx context.Context) error {
		_, err := js.CreateOrUpdateConsumer(ctx, natsjs.StreamGrid, jetstream.ConsumerConfig{
			Durable: "classify-cases", FilterSubjects: []string{"grid.case.received.>", "grid.task.>"}})
		return err
	})
	refused(`Publish to "$JS.API.CONSUMER.INFO.GRID.intake-closures"`, func(ctx context.Context) error {
		_, err := js.Consumer(ctx, natsjs.StreamGrid, "intake-closures")
		return err
	})
	refused(`Publish to "$JS.API.CONSUMER.MSG.NEXT.GRID.intake-closures"`, func(ctx context.Context) error {
		_, err := nc.RequestWithContext(ctx, "$JS.API.CONSUMER.MSG.NEXT.GRID.intake-closures", []byte(`{"batch":1}`))
		return err
	})
	refused(`Publish to "$JS.API.DIRECT.GET.GRID"`, func(ctx context.Context) error {
		_, err := nc.RequestWithContext(ctx, "$JS.API.DIRECT.GET.GRID", []byte(`{"seq":1}`))
		return err
	})
	refused(`Publish to "$JS.API.STREAM.MSG.GET.GRID"`, func(ctx context.Context) error {
		_, err := nc.RequestWithContext(ctx, "$JS.API.STREAM.MSG.GET.GRID", []byte(`{"seq":1}`))
		return err
	})
	refused(`Subscription to "grid.case.received.>"`, func(ctx context.Context) error {
		sub, err := nc.SubscribeSync("grid.case.received.>")
		if err != nil {
			return err
		}
		defer sub.Unsubscribe()
		_, err = sub.NextMsgWithContext(ctx)
		return err
	})
}
