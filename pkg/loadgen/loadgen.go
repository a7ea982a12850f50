// Package loadgen is gridflow's load harness, the one `gridctl load`, the
// chaos test (make chaos) and the whole-loop benchmark drive: a city's worth
// of callers against a running stack over the public gRPC APIs, each as the
// principal it is in life.
//
//   - The hotline (12345) sends work orders at a fixed rate (an open loop, so
//     slow answers cannot hide queueing) or as fast as InFlight calls allow,
//     with real texts, a share of repeated reports of one problem at one
//     place (which classify groups into one incident), 1 % emergencies.
//   - Grid workers send patrol reports from their grids (patrol:<worker>),
//     community secretaries raise 一指通办 issues (secretary:<community>),
//     sometimes naming the street units they ask to come (吹哨报到).
//   - Department bots (department:<code>), one per department of the
//     reference data, watch their tasks (WatchTasks, resuming from their
//     cursor after a disconnect, and sweeping ListTasks on every reconnect),
//     sign for them and complete them after a delay — a share slowly, so the
//     clock has something to do; a completion that needs review is approved by
//     the street's dispatcher.
//   - The hotline watches case updates and calls back (回访) every replied
//     case of the run; a few citizens are unsatisfied, which reopens the case.
//
// Every write carries a request id, and a call that fails with a transient
// code (Unavailable, DeadlineExceeded, ResourceExhausted, Aborted) is sent
// again with the same id and the same content until RetryFor has passed: a
// killed service loses no order and doubles none, which is what the chaos
// test checks. The run records every submission answered OK (Submissions),
// so a checker can look for each one in the services' stores.
//
// The plan of submissions (kinds, texts, places, shares) follows from Seed
// alone; timing and the services' answers do not.
package loadgen

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"slices"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/backoff"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	"github.com/gridflow/gridflow/pkg/auth"

	intakev1 "github.com/gridflow/gridflow/proto/gen/go/gridflow/intake/v1"
)

// Config is one load run.
type Config struct {
	// The services' gRPC addresses (host:port).
	IntakeAddr, DispatchAddr, FeedbackAddr string
	// Transport is the client side of TLS; nil for plaintext.
	Transport credentials.TransportCredentials
	// Token returns a bearer token for a principal (the hotline, a worker, a
	// department …); it is asked once per principal.
	Token func(auth.Principal) (string, error)

	// Rate is the offered load in submissions per second (an open loop);
	// Max sends as fast as InFlight concurrent calls allow instead.
	Rate float64
	Max  bool
	// InFlight bounds the submissions in flight (default 64).
	InFlight int
	// Duration of the submission phase.
	Duration time.Duration
	// Seed fixes the plan of submissions.
	Seed uint64
	// Prefix starts every request id of the run (default LOAD-<seed>-<time>-),
	// so runs against one stack never collide.
	Prefix string

	// Texts are the citizens' messages (ReadTexts).
	Texts []Text
	// ReferenceDir is the stack's GRIDFLOW_REFERENCE_DIR ("": the defaults):
	// places, grids, communities, items and departments come from it.
	ReferenceDir string
	Shares       Shares

	// Bots: a department signs for a task within AckDelay and completes it
	// within CompleteDelay after that (uniformly drawn); SlowShare of the
	// tasks are signed for only after SlowDelay. The hotline calls back
	// within CallbackDelay of a reply.
	NoBots, NoCallbacks                bool
	AckDelay, CompleteDelay, SlowDelay time.Duration
	SlowShare                          float64
	CallbackDelay                      time.Duration
	// UnsatisfiedShare of first callbacks are unsatisfied (the case reopens).
	UnsatisfiedShare float64
	// CallTimeout bounds one call; RetryFor how long a write is sent again.
	CallTimeout, RetryFor time.Duration
	// Progress gets a line every ProgressEvery.
	Progress      io.Writer
	ProgressEvery time.Duration
}

// Shares of the submissions: of all, Patrol are patrol reports and Issue
// 一指通办 issues, the rest hotline work orders; of the work orders, Repeat
// report again a problem reported a moment before at the same place, and
// Emergency are emergencies.
type Shares struct {
	Repeat, Patrol, Issue, Emergency float64
}

// DefaultShares: a hotline day — about one call in seven is another
// report of something already reported (a noisy site, a burst pipe), grid
// workers' and secretaries' reports beside, 1 % emergencies.
var DefaultShares = Shares{Repeat: 0.15, Patrol: 0.06, Issue: 0.04, Emergency: 0.01}

func (c *Config) defaults() error {
	if c.Token == nil {
		return errors.New("loadgen: no Token source")
	}
	if len(c.Texts) == 0 {
		return errors.New("loadgen: no texts")
	}
	if !c.Max && !(c.Rate > 0) {
		return errors.New("loadgen: want a rate above 0 or max")
	}
	if c.Duration <= 0 {
		return errors.New("loadgen: want a duration above 0")
	}
	if c.Shares == (Shares{}) {
		c.Shares = DefaultShares
	}
	def := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	if c.InFlight <= 0 {
		c.InFlight = 64
	}
	def(&c.AckDelay, 3*time.Second)
	def(&c.CompleteDelay, 5*time.Second)
	def(&c.SlowDelay, 30*time.Second)
	def(&c.CallbackDelay, 2*time.Second)
	def(&c.CallTimeout, 10*time.Second)
	def(&c.RetryFor, 2*time.Minute)
	def(&c.ProgressEvery, 5*time.Second)
	if c.Progress == nil {
		c.Progress = io.Discard
	}
	if c.Prefix == "" {
		c.Prefix = fmt.Sprintf("LOAD-%d-%s-", c.Seed, strings.ToUpper(fmt.Sprintf("%x", time.Now().Unix())))
	}
	return nil
}

// Kind is what a submission is.
type Kind string

// The kinds of submission.
const (
	WorkOrder    Kind = "work_order"
	PatrolReport Kind = "patrol_report"
	Issue        Kind = "issue"
)

// Submission is one submission answered OK.
type Submission struct {
	Kind Kind
	// Principal (auth.Principal.String) and RequestID are the write's
	// identity: for a work order the request id is the hotline order number.
	Principal, RequestID string
	CaseID, CaseNumber   string
	Emergency, Repeat    bool
	// Sent is when the first attempt was sent (the start of submit →
	// dispatched), At when the answer came.
	Sent, At time.Time
	// Attempts it took (1: answered at once).
	Attempts int
}

// Summary is a run's outcome.
type Summary struct {
	Offered, Accepted, Failed int
	// Errors counts failed calls by code, retried ones included.
	Errors                        map[codes.Code]int
	Retried                       int
	P50, P99                      time.Duration
	Elapsed                       time.Duration
	Acknowledged, Completed       int
	Approved, Callbacks, Reopened int
	BotErrors                     map[codes.Code]int
	// ErrorSamples: per call and code, how many failed and the first message.
	ErrorSamples                   []string
	Submissions                    []Submission
	ByKind                         map[Kind]int
	Emergencies, Repeats, Pending  int
	OfferedRate, AcceptedPerSecond float64
}

// sample is the first message of a kind of failed call, and how many.
type sample struct {
	msg string
	n   int
}

// Runner is a load run in progress.
type Runner struct {
	cfg  Config
	city *city

	intake   *grpc.ClientConn
	dispatch *grpc.ClientConn
	feedback *grpc.ClientConn

	tokMu  sync.Mutex
	tokens map[string]string

	mu      sync.Mutex
	subs    []Submission
	errs    map[codes.Code]int
	botErrs map[codes.Code]int
	lats    []time.Duration
	cases   map[string]bool // case ids of the run
	// callBackTo: the run's work orders whose callers may be called back.
	callBackTo map[string]bool
	tasks      map[string]bool // tasks a bot has taken
	callback   map[string]int  // callbacks recorded per case
	samples    map[string]*sample

	offered, failed, retried   atomic.Int64
	inflight, pendingTasks     atomic.Int64
	acked, completed, approved atomic.Int64
	callbacks, reopened        atomic.Int64
	lastAccepted               atomic.Int64
	start                      time.Time
	botsCancel, progCancel     context.CancelFunc
	bots, progress             sync.WaitGroup
	submitDone                 atomic.Bool
	submitElapsed              time.Duration
}

// Start dials the services and starts the department bots and the
// hotline's callbacks; Submit then runs the submission phase.
func Start(ctx context.Context, cfg Config) (*Runner, error) {
	if err := cfg.defaults(); err != nil {
		return nil, err
	}
	c, err := newCity(cfg.ReferenceDir)
	if err != nil {
		return nil, err
	}
	r := &Runner{cfg: cfg, city: c, tokens: map[string]string{}, errs: map[codes.Code]int{}, botErrs: map[codes.Code]int{},
		cases: map[string]bool{}, tasks: map[string]bool{}, callback: map[string]int{}, samples: map[string]*sample{},
		callBackTo: map[string]bool{}}
	tr := cfg.Transport
	if tr == nil {
		tr = insecure.NewCredentials()
	}
	// A restarted service is back within a second or two: reconnect at
	// most a second apart, not after grpc's default of up to two minutes.
	bo := backoff.DefaultConfig
	bo.MaxDelay = time.Second
	dial := func(addr string) (*grpc.ClientConn, error) {
		return grpc.NewClient(addr, grpc.WithTransportCredentials(tr),
			grpc.WithConnectParams(grpc.ConnectParams{Backoff: bo, MinConnectTimeout: 2 * time.Second}))
	}
	if r.intake, err = dial(cfg.IntakeAddr); err != nil {
		return nil, err
	}
	if r.dispatch, err = dial(cfg.DispatchAddr); err != nil {
		return nil, err
	}
	if r.feedback, err = dial(cfg.FeedbackAddr); err != nil {
		return nil, err
	}
	r.start = time.Now()
	bctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	r.botsCancel = cancel
	if !cfg.NoBots {
		for _, d := range c.departments {
			r.bots.Add(1)
			go func() { defer r.bots.Done(); r.bot(bctx, d.Code) }()
		}
	}
	if !cfg.NoCallbacks {
		r.bots.Add(1)
		go func() { defer r.bots.Done(); r.hotlineCallbacks(bctx) }()
	}
	pctx, pcancel := context.WithCancel(context.Background())
	r.progCancel = pcancel
	r.progress.Add(1)
	go func() { defer r.progress.Done(); r.report(pctx) }()
	return r, nil
}

// Submit runs the submission phase: Duration of orders at Rate (or at
// most InFlight at a time), then waits for the calls in flight, retries
// included. Cancelling ctx stops it early.
func (r *Runner) Submit(ctx context.Context) {
	gen := newGenerator(r.cfg, r.city)
	sem := make(chan struct{}, r.cfg.InFlight)
	var wg sync.WaitGroup
	end := time.Now().Add(r.cfg.Duration)
	t0 := time.Now()
	send := func(p *plan) {
		sem <- struct{}{}
		wg.Add(1)
		r.inflight.Add(1)
		go func() {
			defer func() { <-sem; r.inflight.Add(-1); wg.Done() }()
			// Calls in flight finish even when the phase ends: an order
			// is answered, or given up after RetryFor.
			r.send(context.WithoutCancel(ctx), p)
		}()
	}
	if r.cfg.Max {
		for time.Now().Before(end) && ctx.Err() == nil {
			send(gen.next())
		}
	} else {
		interval := time.Duration(float64(time.Second) / r.cfg.Rate)
		for i := 0; ctx.Err() == nil; i++ {
			due := t0.Add(time.Duration(i) * interval)
			if !due.Before(end) {
				break
			}
			if d := time.Until(due); d > 0 {
				select {
				case <-ctx.Done():
				case <-time.After(d):
				}
			}
			if ctx.Err() == nil {
				send(gen.next())
			}
		}
	}
	wg.Wait()
	r.mu.Lock()
	r.submitElapsed = time.Since(t0)
	r.mu.Unlock()
	r.submitDone.Store(true)
}

// Drain lets the bots and callbacks work until every task they took is
// done, or until max has passed.
func (r *Runner) Drain(ctx context.Context, max time.Duration) {
	deadline := time.Now().Add(max)
	idle := 0
	for time.Now().Before(deadline) && ctx.Err() == nil {
		if r.pendingTasks.Load() == 0 {
			idle++
			if idle >= 6 { // quiet for 3 s: nothing more comes in
				return
			}
		} else {
			idle = 0
		}
		time.Sleep(500 * time.Millisecond)
	}
}

// Stop ends the bots and callbacks and returns the run's summary.
func (r *Runner) Stop() Summary {
	r.botsCancel()
	r.bots.Wait()
	r.progCancel()
	r.progress.Wait()
	r.intake.Close()
	r.dispatch.Close()
	r.feedback.Close()
	return r.Summary()
}

// Summary is the run so far.
func (r *Runner) Summary() Summary {
	r.mu.Lock()
	defer r.mu.Unlock()
	s := Summary{Offered: int(r.offered.Load()), Accepted: len(r.subs), Failed: int(r.failed.Load()),
		Errors: maps(r.errs), BotErrors: maps(r.botErrs), Retried: int(r.retried.Load()),
		Elapsed: time.Since(r.start), Acknowledged: int(r.acked.Load()), Completed: int(r.completed.Load()),
		Approved: int(r.approved.Load()), Callbacks: int(r.callbacks.Load()), Reopened: int(r.reopened.Load()),
		Submissions: slices.Clone(r.subs), ByKind: map[Kind]int{}, Pending: int(r.pendingTasks.Load())}
	for _, sub := range r.subs {
		s.ByKind[sub.Kind]++
		if sub.Emergency {
			s.Emergencies++
		}
		if sub.Repeat {
			s.Repeats++
		}
	}
	for k, v := range r.samples {
		s.ErrorSamples = append(s.ErrorSamples, fmt.Sprintf("%s ×%d: %s", k, v.n, v.msg))
	}
	slices.Sort(s.ErrorSamples)
	lats := slices.Clone(r.lats)
	slices.Sort(lats)
	s.P50, s.P99 = quantile(lats, 0.50), quantile(lats, 0.99)
	if r.submitElapsed > 0 {
		s.OfferedRate = float64(s.Offered) / r.submitElapsed.Seconds()
		s.AcceptedPerSecond = float64(s.Accepted) / r.submitElapsed.Seconds()
	}
	return s
}

func maps(m map[codes.Code]int) map[codes.Code]int {
	out := make(map[codes.Code]int, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

func quantile(sorted []time.Duration, q float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	i := int(math.Ceil(q*float64(len(sorted)))) - 1
	return sorted[max(i, 0)]
}

// String renders the summary: what was sent and answered, the submit
// call's latency, what the bots and the hotline did.
func (s Summary) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "offered %d (%.1f/s), accepted %d (%.1f/s): %d work orders (%d repeated reports, %d emergencies), %d patrol reports, %d issues; %d given up\n",
		s.Offered, s.OfferedRate, s.Accepted, s.AcceptedPerSecond, s.ByKind[WorkOrder], s.Repeats, s.Emergencies,
		s.ByKind[PatrolReport], s.ByKind[Issue], s.Failed)
	fmt.Fprintf(&b, "submit call: p50 %.1f ms, p99 %.1f ms; %d calls sent again with the same request id\n",
		ms(s.P50), ms(s.P99), s.Retried)
	fmt.Fprintf(&b, "errors by code: %s\n", codeList(s.Errors))
	fmt.Fprintf(&b, "bots: %d tasks signed for, %d completed, %d completions approved, %d still open; errors by code: %s\n",
		s.Acknowledged, s.Completed, s.Approved, s.Pending, codeList(s.BotErrors))
	fmt.Fprintf(&b, "callbacks: %d recorded (%d unsatisfied, reopening the case)", s.Callbacks, s.Reopened)
	for _, e := range s.ErrorSamples {
		fmt.Fprintf(&b, "\n  %s", e)
	}
	return b.String()
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

func codeList(m map[codes.Code]int) string {
	if len(m) == 0 {
		return "none"
	}
	keys := make([]codes.Code, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool { return keys[i] < keys[j] })
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = fmt.Sprintf("%s=%d", k, m[k])
	}
	return strings.Join(parts, " ")
}

// report prints a progress line every ProgressEvery.
func (r *Runner) report(ctx context.Context) {
	t := time.NewTicker(r.cfg.ProgressEvery)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		r.mu.Lock()
		accepted, nerr := len(r.subs), 0
		for _, n := range r.errs {
			nerr += n
		}
		r.mu.Unlock()
		phase := "submitting"
		if r.submitDone.Load() {
			phase = "draining"
		}
		fmt.Fprintf(r.cfg.Progress, "load %5.0fs %s: offered %d accepted %d (+%d) errors %d in flight %d | tasks signed %d completed %d open %d | callbacks %d\n",
			time.Since(r.start).Seconds(), phase, r.offered.Load(), accepted, int64(accepted)-r.lastAccepted.Swap(int64(accepted)), nerr,
			r.inflight.Load(), r.acked.Load(), r.completed.Load(), r.pendingTasks.Load(), r.callbacks.Load())
	}
}

// token is the principal's bearer token, asked for once.
func (r *Runner) token(p auth.Principal) (string, error) {
	key := p.String()
	r.tokMu.Lock()
	defer r.tokMu.Unlock()
	if t, ok := r.tokens[key]; ok {
		return t, nil
	}
	t, err := r.cfg.Token(p)
	if err != nil {
		return "", fmt.Errorf("token for %s: %w", key, err)
	}
	r.tokens[key] = t
	return t, nil
}

func (r *Runner) as(ctx context.Context, p auth.Principal) (context.Context, error) {
	t, err := r.token(p)
	if err != nil {
		return nil, err
	}
	// Set, not appended: a bot acting as someone else (the dispatcher
	// approving its completion) must not send two credentials.
	md, _ := metadata.FromOutgoingContext(ctx)
	md = md.Copy()
	md.Set("authorization", "Bearer "+t)
	return metadata.NewOutgoingContext(ctx, md), nil
}

// transient reports whether a call may be sent again with the same request
// id: the service did not answer, or asked to be called later.
func transient(err error) bool {
	switch status.Code(err) {
	case codes.Unavailable, codes.DeadlineExceeded, codes.ResourceExhausted, codes.Aborted:
		return true
	}
	return false
}

// retryDelay is the wait before sending a call again: the service's
// RetryInfo when it gave one, else an exponential backoff up to 2 s.
func retryDelay(err error, attempt int) time.Duration {
	if st, ok := status.FromError(err); ok {
		for _, d := range st.Details() {
			if ri, ok := d.(*errdetails.RetryInfo); ok && ri.GetRetryDelay() != nil {
				return ri.GetRetryDelay().AsDuration()
			}
		}
	}
	return min(100*time.Millisecond<<min(attempt, 5), 2*time.Second)
}

// retry calls f until it succeeds, fails for good or for RetryFor, and
// returns the last error; each failed attempt is counted in errs.
func (r *Runner) retry(ctx context.Context, errs map[codes.Code]int, what string, f func(context.Context) error) (attempts int, err error) {
	deadline := time.Now().Add(r.cfg.RetryFor)
	for attempt := 0; ; attempt++ {
		actx, cancel := context.WithTimeout(ctx, r.cfg.CallTimeout)
		err = f(actx)
		cancel()
		if err == nil {
			return attempt + 1, nil
		}
		r.mu.Lock()
		errs[status.Code(err)]++
		key := what + " " + status.Code(err).String()
		if r.samples[key] == nil {
			r.samples[key] = &sample{msg: status.Convert(err).Message()}
		}
		r.samples[key].n++
		r.mu.Unlock()
		if !transient(err) || ctx.Err() != nil || time.Now().After(deadline) {
			return attempt + 1, err
		}
		select {
		case <-ctx.Done():
			return attempt + 1, err
		case <-time.After(retryDelay(err, attempt)):
		}
	}
}

// send submits one plan, sending it again on transient failures.
func (r *Runner) send(ctx context.Context, p *plan) {
	r.offered.Add(1)
	cctx, err := r.as(ctx, p.principal)
	if err != nil {
		r.failed.Add(1)
		fmt.Fprintln(r.cfg.Progress, "load:", err)
		return
	}
	client := intakev1.NewIntakeServiceClient(r.intake)
	var (
		sub *intakev1.Submission
		lat time.Duration
	)
	sent := time.Now()
	attempts, err := r.retry(cctx, r.errs, string(p.kind), func(ctx context.Context) error {
		t0 := time.Now()
		var err error
		switch {
		case p.workOrder != nil:
			var resp *intakev1.SubmitWorkOrderResponse
			resp, err = client.SubmitWorkOrder(ctx, &intakev1.SubmitWorkOrderRequest{WorkOrder: p.workOrder})
			sub = resp.GetSubmission()
		case p.patrol != nil:
			var resp *intakev1.SubmitPatrolReportResponse
			resp, err = client.SubmitPatrolReport(ctx, &intakev1.SubmitPatrolReportRequest{Report: p.patrol})
			sub = resp.GetSubmission()
		default:
			var resp *intakev1.RaiseIssueResponse
			resp, err = client.RaiseIssue(ctx, &intakev1.RaiseIssueRequest{Issue: p.issue})
			sub = resp.GetSubmission()
		}
		lat = time.Since(t0)
		return err
	})
	if attempts > 1 {
		r.retried.Add(int64(attempts - 1))
	}
	if err != nil {
		r.failed.Add(1)
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.lats = append(r.lats, lat)
	r.cases[sub.GetCaseId()] = true
	if p.wantsCallback() {
		r.callBackTo[sub.GetCaseId()] = true
	}
	r.subs = append(r.subs, Submission{Kind: p.kind, Principal: p.principal.String(), RequestID: p.requestID,
		CaseID: sub.GetCaseId(), CaseNumber: sub.GetCaseNumber(), Emergency: p.emergency, Repeat: p.repeat,
		Sent: sent, At: time.Now(), Attempts: attempts})
}

// known reports whether the case is one of the run's.
func (r *Runner) known(caseID string) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.cases[caseID]
}

// ofRun waits a moment for a case to become known: a task can reach a bot
// before the submission's answer reached the hotline.
func (r *Runner) ofRun(ctx context.Context, caseID string) bool {
	for range 20 {
		if r.known(caseID) {
			return true
		}
		select {
		case <-ctx.Done():
			return false
		case <-time.After(250 * time.Millisecond):
		}
	}
	return false
}

// jitter draws a duration in [0, d) from a source of its own (bots run
// concurrently; their timing is not part of the seeded plan).
func jitter(d time.Duration) time.Duration {
	if d <= 0 {
		return 0
	}
	return time.Duration(rand.Int64N(int64(d)))
}
