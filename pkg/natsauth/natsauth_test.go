package natsauth_test

import (
	"context"
	"errors"
	"log/slog"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gridflow/gridflow/pkg/consumer"
	"github.com/gridflow/gridflow/pkg/natsauth"
	"github.com/gridflow/gridflow/pkg/natsjs"
	"github.com/nats-io/nats-server/v2/server"
	natstest "github.com/nats-io/nats-server/v2/test"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// authServer runs nats-server in process with the authorization block
// Generate wrote, as the stack's nats-server runs with it, and returns the
// server and the directory of the users' seeds.
func authServer(t *testing.T) (*server.Server, string) {
	t.Helper()
	dir := t.TempDir()
	if err := natsauth.Generate(dir, natsauth.Users); err != nil {
		t.Fatal(err)
	}
	opts, err := server.ProcessConfigFile(natsauth.ConfigFile(dir))
	if err != nil {
		t.Fatalf("nats-server refuses the generated config: %v", err)
	}
	opts.Host, opts.Port, opts.JetStream, opts.StoreDir = "127.0.0.1", -1, true, t.TempDir()
	opts.NoLog, opts.NoSigs = true, true
	s := natstest.RunServer(opts)
	if !s.ReadyForConnections(10 * time.Second) {
		t.Fatal("nats server not ready")
	}
	t.Cleanup(s.Shutdown)
	return s, dir
}

// client is one user's connection and the errors the server sent it.
type client struct {
	nc *nats.Conn
	js jetstream.JetStream

	mu   sync.Mutex
	errs []string
}

func connect(t *testing.T, s *server.Server, dir, name string) *client {
	t.Helper()
	c := &client{}
	user, err := natsjs.User(name, natsauth.SeedFile(dir, name))
	if err != nil {
		t.Fatal(err)
	}
	user = append(user, nats.ErrorHandler(func(_ *nats.Conn, _ *nats.Subscription, err error) {
		c.mu.Lock()
		defer c.mu.Unlock()
		c.errs = append(c.errs, err.Error())
	}), nats.RetryOnFailedConnect(false))
	nc, js, err := natsjs.Connect(context.Background(), s.ClientURL(), name, slog.New(slog.DiscardHandler), user...)
	if err != nil {
		t.Fatalf("connect as %s: %v", name, err)
	}
	t.Cleanup(nc.Close)
	c.nc, c.js = nc, js
	return c
}

// refused runs op, which must fail, and then waits for the server's
// permissions violation naming what (`Publish to "subject"`, `Subscription
// to "subject"`): a refusal, not a timeout or an error of another kind.
func (c *client) refused(t *testing.T, what string, op func(ctx context.Context) error) {
	t.Helper()
	// The refusal arrives at once; the operation itself then fails by
	// timing out, as a request to a subject nobody may answer does.
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	if err := op(ctx); err == nil {
		t.Errorf("%s: allowed, want refused", what)
		return
	}
	want := strings.ToLower("permissions violation for " + what)
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		c.mu.Lock()
		i := slices.IndexFunc(c.errs, func(e string) bool { return strings.Contains(strings.ToLower(e), want) })
		c.mu.Unlock()
		if i >= 0 {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	t.Errorf("%s: failed without the server's permissions violation; errors seen: %q", what, c.errs)
}

// publish is a core publish flushed to the server; the refusal comes back
// asynchronously, so it reports an error only when the flush fails.
func publish(nc *nats.Conn, subject string) func(ctx context.Context) error {
	return func(ctx context.Context) error {
		if err := nc.Publish(subject, []byte("x")); err != nil {
			return err
		}
		if err := nc.FlushWithContext(ctx); err != nil {
			return err
		}
		return errors.New("published; refused asynchronously if at all")
	}
}

func request(nc *nats.Conn, subject, body string) func(ctx context.Context) error {
	return func(ctx context.Context) error {
		_, err := nc.RequestWithContext(ctx, subject, []byte(body))
		return err
	}
}

const (
	street     = "310106.310106022"
	received   = "grid.case.received." + street
	classified = "grid.case.classified." + street
	dispatched = "grid.task.dispatched.310106022-cgzd." + street
)

// The permission table enforced by a real nats-server: each service's user
// does its own work — declaring nothing, publishing its own subjects and
// dead letters, consuming through its own durable — and is refused on
// another's subjects and consumers, on reading messages directly, on
// declaring streams and on subscribing around JetStream.
func TestPermissions(t *testing.T) {
	t.Parallel()
	s, dir := authServer(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()

	// Only the streams user declares the streams.
	intake := connect(t, s, dir, natsauth.Intake)
	intake.refused(t, `Publish to "$JS.API.STREAM.UPDATE.GRID"`, func(ctx context.Context) error {
		return natsjs.EnsureStreams(ctx, intake.js, natsjs.StreamOptions{})
	})
	intake.refused(t, `Publish to "$JS.API.STREAM.CREATE.GRID"`,
		request(intake.nc, "$JS.API.STREAM.CREATE.GRID", `{"name":"GRID","subjects":["grid.>"]}`))
	streams := connect(t, s, dir, natsauth.Streams)
	if err := natsjs.EnsureStreams(ctx, streams.js, natsjs.StreamOptions{}); err != nil {
		t.Fatalf("the streams user declares the streams: %v", err)
	}
	if err := natsjs.WaitStreams(ctx, intake.js, slog.New(slog.DiscardHandler)); err != nil {
		t.Fatalf("a service finds the streams: %v", err)
	}
	streams.refused(t, `Publish to "`+received+`"`, publish(streams.nc, received))

	// Each service publishes its own subjects through JetStream.
	if _, err := intake.js.Publish(ctx, received, []byte("case"), jetstream.WithMsgID("r1")); err != nil {
		t.Fatalf("intake publishes case.received: %v", err)
	}
	classify := connect(t, s, dir, natsauth.Classify)
	if _, err := classify.js.Publish(ctx, classified, []byte("classified")); err != nil {
		t.Fatalf("classify publishes case.classified: %v", err)
	}
	dispatch := connect(t, s, dir, natsauth.Dispatch)
	if _, err := dispatch.js.Publish(ctx, dispatched, []byte("task")); err != nil {
		t.Fatalf("dispatch publishes task.dispatched: %v", err)
	}

	// ... and not another's.
	classify.refused(t, `Publish to "`+received+`"`, publish(classify.nc, received))
	classify.refused(t, `Publish to "`+dispatched+`"`, func(ctx context.Context) error {
		_, err := classify.js.Publish(ctx, dispatched, []byte("forged task"))
		return err
	})
	dispatch.refused(t, `Publish to "`+classified+`"`, publish(dispatch.nc, classified))
	classify.refused(t, `Publish to "dlq.dispatch-cases.`+received+`"`, publish(classify.nc, "dlq.dispatch-cases."+received))

	// The durables are declared by the streams user, as the stack's setup
	// step does, and by no service — not even its own, so that a service
	// cannot widen its filter to subjects it was not given.
	classify.refused(t, `Publish to "$JS.API.CONSUMER.CREATE.GRID.classify-cases"`, func(ctx context.Context) error {
		_, err := consumer.Declare(ctx, classify.js, natsjs.StreamGrid, "classify-cases", natsauth.FilterOf("classify-cases"))
		return err
	})
	// (The durables this test consumes from; the scrub below waits for
	// every declared durable to have handled what it purges.)
	for _, name := range []string{"classify-cases", "dispatch-cases", "intake-closures"} {
		d := natsauth.Durable{Name: name, Filter: natsauth.FilterOf(name)}
		if _, err := consumer.Declare(ctx, streams.js, natsjs.StreamGrid, d.Name, d.Filter); err != nil {
			t.Fatalf("the streams user declares %s: %v", d.Name, err)
		}
	}
	classify.refused(t, `Publish to "$JS.API.CONSUMER.CREATE.GRID.classify-cases"`, func(ctx context.Context) error {
		_, err := classify.js.CreateOrUpdateConsumer(ctx, natsjs.StreamGrid, jetstream.ConsumerConfig{
			Durable: "classify-cases", FilterSubject: "grid.>", AckPolicy: jetstream.AckExplicitPolicy})
		return err
	})
	classify.refused(t, `Publish to "$JS.API.CONSUMER.CREATE.GRID.classify-cases.grid.>"`,
		request(classify.nc, "$JS.API.CONSUMER.CREATE.GRID.classify-cases.grid.>",
			`{"stream_name":"GRID","config":{"durable_name":"classify-cases","filter_subject":"grid.>"}}`))

	// Classify consumes through its own durable: bind, fetch, ack.
	cons, err := classify.js.Consumer(ctx, natsjs.StreamGrid, "classify-cases")
	if err != nil {
		t.Fatalf("classify binds classify-cases: %v", err)
	}
	batch, err := cons.Fetch(1, jetstream.FetchMaxWait(5*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for m := range batch.Messages() {
		got = append(got, m.Subject())
		if err := m.DoubleAck(ctx); err != nil {
			t.Errorf("classify acks on classify-cases: %v", err)
		}
	}
	if batch.Error() != nil || !slices.Equal(got, []string{received}) {
		t.Fatalf("classify-cases delivered %v (%v), want [%s]", got, batch.Error(), received)
	}
	if _, err := classify.js.Publish(ctx, "dlq.classify-cases."+received, []byte("dead"),
		jetstream.WithExpectStream(natsjs.StreamDLQ)); err != nil {
		t.Errorf("classify dead-letters on dlq.classify-cases: %v", err)
	}
	// Single-filter form of its own durable too: bound, not created.
	if _, err := intake.js.Consumer(ctx, natsjs.StreamGrid, "intake-closures"); err != nil {
		t.Errorf("intake binds intake-closures: %v", err)
	}
	intake.refused(t, `Publish to "$JS.API.CONSUMER.CREATE.GRID.intake-closures.grid.case.closed.>"`, func(ctx context.Context) error {
		_, err := intake.js.CreateOrUpdateConsumer(ctx, natsjs.StreamGrid, jetstream.ConsumerConfig{
			Durable: "intake-closures", FilterSubject: "grid.case.closed.>", AckPolicy: jetstream.AckExplicitPolicy})
		return err
	})
	// Dispatch's wildcard for its watches does not reach its own durable.
	dispatch.refused(t, `Publish to "$JS.API.CONSUMER.CREATE.GRID.dispatch-cases.grid.task.>"`,
		request(dispatch.nc, "$JS.API.CONSUMER.CREATE.GRID.dispatch-cases.grid.task.>",
			`{"stream_name":"GRID","config":{"durable_name":"dispatch-cases","filter_subject":"grid.task.>"}}`))

	// Another service's consumer: not created, read, pulled or acked.
	dcfg := jetstream.ConsumerConfig{Durable: "dispatch-cases", FilterSubjects: []string{"grid.case.received.>", "grid.case.classified.>"},
		AckPolicy: jetstream.AckExplicitPolicy}
	classify.refused(t, `Publish to "$JS.API.CONSUMER.CREATE.GRID.dispatch-cases"`, func(ctx context.Context) error {
		_, err := classify.js.CreateOrUpdateConsumer(ctx, natsjs.StreamGrid, dcfg)
		return err
	})
	classify.refused(t, `Publish to "$JS.API.CONSUMER.INFO.GRID.dispatch-cases"`, func(ctx context.Context) error {
		_, err := classify.js.Consumer(ctx, natsjs.StreamGrid, "dispatch-cases")
		return err
	})
	classify.refused(t, `Publish to "$JS.API.CONSUMER.MSG.NEXT.GRID.dispatch-cases"`,
		request(classify.nc, "$JS.API.CONSUMER.MSG.NEXT.GRID.dispatch-cases", `{"batch":1}`))
	classify.refused(t, `Publish to "$JS.ACK.GRID.dispatch-cases.1.1.1.1.0"`, publish(classify.nc, "$JS.ACK.GRID.dispatch-cases.1.1.1.1.0"))
	classify.refused(t, `Publish to "$JS.API.CONSUMER.DELETE.GRID.dispatch-cases"`, func(ctx context.Context) error {
		return classify.js.DeleteConsumer(ctx, natsjs.StreamGrid, "dispatch-cases")
	})
	// A consumer of its own under a name not in the table, or an ephemeral one.
	classify.refused(t, `Publish to "$JS.API.CONSUMER.CREATE.GRID.classify-everything`, func(ctx context.Context) error {
		_, err := classify.js.CreateOrUpdateConsumer(ctx, natsjs.StreamGrid, jetstream.ConsumerConfig{
			Durable: "classify-everything", FilterSubject: "grid.>"})
		return err
	})

	// No direct reads of stream messages, no purge, no stream changes.
	for _, c := range []*client{classify, dispatch, intake} {
		c.refused(t, `Publish to "$JS.API.DIRECT.GET.GRID"`, request(c.nc, "$JS.API.DIRECT.GET.GRID", `{"seq":1}`))
		c.refused(t, `Publish to "$JS.API.DIRECT.GET.GRID.`+received+`"`, request(c.nc, "$JS.API.DIRECT.GET.GRID."+received, ""))
		c.refused(t, `Publish to "$JS.API.STREAM.MSG.GET.GRID"`, func(ctx context.Context) error {
			st, err := c.js.Stream(ctx, natsjs.StreamGrid)
			if err != nil {
				return err
			}
			_, err = st.GetMsg(ctx, 1)
			return err
		})
		c.refused(t, `Publish to "$JS.API.STREAM.MSG.GET.GRID_DLQ"`, request(c.nc, "$JS.API.STREAM.MSG.GET.GRID_DLQ", `{"seq":1}`))
		c.refused(t, `Publish to "$JS.API.STREAM.PURGE.GRID"`, request(c.nc, "$JS.API.STREAM.PURGE.GRID", ""))
		c.refused(t, `Publish to "$JS.API.STREAM.UPDATE.GRID"`, request(c.nc, "$JS.API.STREAM.UPDATE.GRID", `{"name":"GRID","subjects":["grid.>"]}`))
	}

	// No live view around JetStream, no other inbox.
	for _, subject := range []string{"grid.case.received.>", "grid.>", "_INBOX.>", "_INBOX_dispatch.>", "$JS.ACK.GRID.dispatch-cases.>"} {
		classify.refused(t, `Subscription to "`+subject+`"`, func(ctx context.Context) error {
			sub, err := classify.nc.SubscribeSync(subject)
			if err != nil {
				return err
			}
			defer sub.Unsubscribe()
			_, err = sub.NextMsgWithContext(ctx)
			return err
		})
	}

	// Dispatch watches its own task events through ephemeral ordered
	// consumers, and nothing else through them.
	watch, err := dispatch.js.OrderedConsumer(ctx, natsjs.StreamGrid, jetstream.OrderedConsumerConfig{
		FilterSubjects: []string{"grid.task.*.310106022-cgzd.>"}})
	if err != nil {
		t.Fatalf("dispatch watches a department's tasks: %v", err)
	}
	if m, err := watch.Next(jetstream.FetchMaxWait(5 * time.Second)); err != nil || m.Subject() != dispatched {
		t.Fatalf("dispatch's watch: %v, want %s", err, dispatched)
	}
	dispatch.refused(t, `Publish to "$JS.API.CONSUMER.CREATE.GRID.`, func(ctx context.Context) error {
		c, err := dispatch.js.OrderedConsumer(ctx, natsjs.StreamGrid, jetstream.OrderedConsumerConfig{
			FilterSubjects: []string{"grid.case.received.>"}})
		if err != nil {
			return err
		}
		_, err = c.Next(jetstream.FetchContext(ctx))
		return err
	})
	dispatch.refused(t, `Publish to "$JS.API.CONSUMER.MSG.NEXT.GRID.classify-cases"`,
		request(dispatch.nc, "$JS.API.CONSUMER.MSG.NEXT.GRID.classify-cases", `{"batch":1}`))
	dispatch.refused(t, `Publish to "$JS.API.CONSUMER.CREATE.GRID.feedback-events.grid.task.>"`,
		request(dispatch.nc, "$JS.API.CONSUMER.CREATE.GRID.feedback-events.grid.task.>",
			`{"stream_name":"GRID","config":{"durable_name":"feedback-events","filter_subject":"grid.task.>"}}`))
	dispatch.refused(t, `Publish to "$JS.API.CONSUMER.INFO.GRID.classify-cases"`, func(ctx context.Context) error {
		_, err := dispatch.js.Consumer(ctx, natsjs.StreamGrid, "classify-cases")
		return err
	})

	// The operator reads the streams and every consumer's lag, and changes
	// nothing.
	op := connect(t, s, dir, natsauth.Operator)
	tail, err := op.js.OrderedConsumer(ctx, natsjs.StreamGrid, jetstream.OrderedConsumerConfig{FilterSubjects: []string{"grid.>"}})
	if err != nil {
		t.Fatalf("the operator reads GRID: %v", err)
	}
	if m, err := tail.Next(jetstream.FetchMaxWait(5 * time.Second)); err != nil || m.Subject() != received {
		t.Fatalf("the operator's tail: %v, want %s", err, received)
	}
	if _, err := op.js.Consumer(ctx, natsjs.StreamGrid, "classify-cases"); err != nil {
		t.Errorf("the operator reads classify-cases' info: %v", err)
	}
	op.refused(t, `Publish to "`+received+`"`, publish(op.nc, received))
	op.refused(t, `Publish to "$JS.API.CONSUMER.MSG.NEXT.GRID.classify-cases"`,
		request(op.nc, "$JS.API.CONSUMER.MSG.NEXT.GRID.classify-cases", `{"batch":1}`))
	op.refused(t, `Publish to "$JS.API.CONSUMER.DELETE.GRID.classify-cases"`, func(ctx context.Context) error {
		return op.js.DeleteConsumer(ctx, natsjs.StreamGrid, "classify-cases")
	})
	op.refused(t, `Publish to "$JS.API.DIRECT.GET.GRID"`, request(op.nc, "$JS.API.DIRECT.GET.GRID", `{"seq":1}`))
	op.refused(t, `Publish to "$JS.API.STREAM.UPDATE.GRID"`, request(op.nc, "$JS.API.STREAM.UPDATE.GRID", `{}`))

	// Nothing refused reached the stream: the stream holds what the users
	// published in their own right, once each.
	st, err := op.js.Stream(ctx, natsjs.StreamGrid)
	if err != nil {
		t.Fatal(err)
	}
	info, err := st.Info(ctx, jetstream.WithSubjectFilter("grid.>"))
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]uint64{received: 1, classified: 1, dispatched: 1}
	if len(info.State.Subjects) != len(want) {
		t.Errorf("GRID holds %v, want %v", info.State.Subjects, want)
	}
	for subj, n := range want {
		if info.State.Subjects[subj] != n {
			t.Errorf("GRID holds %v, want %v", info.State.Subjects, want)
			break
		}
	}

	// The streams user scrubs (gridctl nats scrub-contacts): it reads both
	// streams, lists GRID's consumers, purges, and replaces dead letters;
	// it still cannot pull from or remove a durable.
	streamsUser := connect(t, s, dir, natsauth.Streams)
	all := func(data []byte) ([]byte, bool, error) {
		if strings.HasPrefix(string(data), "masked:") {
			return data, false, nil
		}
		return append([]byte("masked:"), data...), true, nil
	}
	r, err := natsjs.ScrubContacts(ctx, streamsUser.js, natsjs.ScrubOptions{Subjects: []string{"grid.task.dispatched.>"}, Mask: all})
	if err != nil {
		t.Fatalf("the streams user scrubs: %v", err)
	}
	if r.GridPurged != 1 || r.DLQReplaced != 1 {
		t.Errorf("scrub as the streams user: %+v, want 1 purged from GRID and 1 dead letter replaced", r)
	}
	streamsUser.refused(t, `Publish to "$JS.API.CONSUMER.MSG.NEXT.GRID.classify-cases"`,
		request(streamsUser.nc, "$JS.API.CONSUMER.MSG.NEXT.GRID.classify-cases", `{"batch":1}`))
	streamsUser.refused(t, `Publish to "$JS.API.CONSUMER.DELETE.GRID.classify-cases"`, func(ctx context.Context) error {
		return streamsUser.js.DeleteConsumer(ctx, natsjs.StreamGrid, "classify-cases")
	})
	streamsUser.refused(t, `Publish to "`+received+`"`, publish(streamsUser.nc, received))
}

// Without the seed of a user the server refuses the connection: there is
// no anonymous access.
func TestNoAnonymousAccess(t *testing.T) {
	t.Parallel()
	s, dir := authServer(t)
	if nc, err := nats.Connect(s.ClientURL()); err == nil {
		nc.Close()
		t.Fatal("connected without credentials")
	} else if !errors.Is(err, nats.ErrAuthorization) {
		t.Errorf("connect without credentials: %v, want an authorization violation", err)
	}
	// Seeds are the user's alone.
	fi, err := os.Stat(natsauth.SeedFile(dir, natsauth.Intake))
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("seed mode %v, want 0600", fi.Mode().Perm())
	}
}

// Generate keeps the seeds it made: a restarted stack keeps its users.
func TestGenerateKeepsSeeds(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	if err := natsauth.Generate(dir, natsauth.Users); err != nil {
		t.Fatal(err)
	}
	first, err := os.ReadFile(natsauth.ConfigFile(dir))
	if err != nil {
		t.Fatal(err)
	}
	if err := natsauth.Generate(dir, natsauth.Users); err != nil {
		t.Fatal(err)
	}
	second, err := os.ReadFile(natsauth.ConfigFile(dir))
	if err != nil {
		t.Fatal(err)
	}
	if string(first) != string(second) {
		t.Errorf("a second Generate changed the users:\n%s\n---\n%s", first, second)
	}
	for _, u := range natsauth.Users {
		seed, err := os.ReadFile(natsauth.SeedFile(dir, u.Name))
		if err != nil {
			t.Fatal(err)
		}
		if strings.Contains(string(first), strings.TrimSpace(string(seed))) {
			t.Errorf("the config holds %s's seed", u.Name)
		}
	}
}

// The ops user replays a dead letter: it reads GRID_DLQ, publishes the
// dead letter on grid.replay.> and deletes it from GRID_DLQ — and nothing
// more. The operator, which reads everything, can do neither.
func TestOpsReplaysDeadLetters(t *testing.T) {
	t.Parallel()
	s, dir := authServer(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	streams := connect(t, s, dir, natsauth.Streams)
	if err := natsjs.EnsureStreams(ctx, streams.js, natsjs.StreamOptions{}); err != nil {
		t.Fatal(err)
	}
	classify := connect(t, s, dir, natsauth.Classify)
	dead := "dlq.classify-cases." + received
	ack, err := classify.js.Publish(ctx, dead, []byte("poison"))
	if err != nil {
		t.Fatalf("classify dead-letters: %v", err)
	}

	ops := connect(t, s, dir, natsauth.Ops)
	read, err := ops.js.OrderedConsumer(ctx, natsjs.StreamDLQ, jetstream.OrderedConsumerConfig{FilterSubjects: []string{"dlq.>"}})
	if err != nil {
		t.Fatalf("ops reads GRID_DLQ: %v", err)
	}
	if m, err := read.Next(jetstream.FetchMaxWait(5 * time.Second)); err != nil || m.Subject() != dead {
		t.Fatalf("ops reads the dead letter: %v", err)
	}
	replay := "grid.replay.classify-cases." + received
	if _, err := ops.js.Publish(ctx, replay, []byte("poison"), jetstream.WithMsgID("replay:classify-cases:1")); err != nil {
		t.Fatalf("ops publishes the replay: %v", err)
	}
	dlq, err := ops.js.Stream(ctx, natsjs.StreamDLQ)
	if err != nil {
		t.Fatal(err)
	}
	if err := dlq.DeleteMsg(ctx, ack.Sequence); err != nil {
		t.Fatalf("ops deletes the replayed dead letter: %v", err)
	}

	ops.refused(t, `Publish to "`+received+`"`, publish(ops.nc, received))
	ops.refused(t, `Publish to "$JS.API.CONSUMER.CREATE.GRID`, func(ctx context.Context) error {
		_, err := ops.js.OrderedConsumer(ctx, natsjs.StreamGrid, jetstream.OrderedConsumerConfig{})
		return err
	})
	ops.refused(t, `Publish to "$JS.API.STREAM.MSG.DELETE.GRID"`,
		request(ops.nc, "$JS.API.STREAM.MSG.DELETE.GRID", `{"seq":1}`))
	ops.refused(t, `Publish to "$JS.API.CONSUMER.MSG.NEXT.GRID.classify-cases"`,
		request(ops.nc, "$JS.API.CONSUMER.MSG.NEXT.GRID.classify-cases", `{"batch":1}`))

	op := connect(t, s, dir, natsauth.Operator)
	op.refused(t, `Publish to "`+replay+`"`, publish(op.nc, replay))
	op.refused(t, `Publish to "$JS.API.STREAM.MSG.DELETE.GRID_DLQ"`,
		request(op.nc, "$JS.API.STREAM.MSG.DELETE.GRID_DLQ", `{"seq":1}`))
	classify.refused(t, `Publish to "`+replay+`"`, publish(classify.nc, replay))
}
