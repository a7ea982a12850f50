// Package e2e runs gridflow as a real multi-process stack — nats-server and
// every service binary from bin/ on free ports, against the PostgreSQL that
// `make test` starts — and drives it over gRPC the way the hotline does.
// NATS runs as the local stack runs it: with the users gridctl nats users
// generates (pkg/natsauth), each service connecting as its own, and the
// streams declared once by gridctl nats streams.
package e2e

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/gridflow/gridflow/pkg/auth"
	"github.com/gridflow/gridflow/pkg/lane"
	"github.com/gridflow/gridflow/pkg/natsauth"
	"github.com/gridflow/gridflow/pkg/natsjs"
	"github.com/gridflow/gridflow/pkg/testenv"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
)

// stack is one running gridflow.
type stack struct {
	bin      string
	dir      string
	env      []string
	addrs    map[string]string // service → gRPC/HTTP address
	admins   map[string]string // service → admin address
	natsURL  string
	natsArgs []string
	users    string                // the NATS users' seeds and auth.conf
	nc       map[string]*nats.Conn // the tests' own connections by NATS user, made on first use
	// natsStarts counts "Server is ready" lines seen in the (appended) log.
	natsStarts int
	dbURL      string
	only       []string
	signer     *auth.Signer
	keyDir     string
	procs      map[string]*exec.Cmd
	exited     map[string]chan struct{} // closed when the process has exited
	logFiles   map[string]string
	// procEnv is what one process adds to env (a lane's setting),
	// procRunner the command it runs under (make bench's nice) and
	// sessions the processes started in a session of their own
	// (stackConfig), kept for their restarts.
	procEnv    map[string][]string
	procRunner map[string][]string
	sessions   []string
	// owner is the test that started the stack: what lives as long as the
	// stack (the tests' NATS connections) is cleaned up with it, not with a
	// subtest that happened to make it first (TestNeighbourhoodLedger).
	owner *testing.T
}

var services = []string{"intake", "classify", "dispatch", "feedback", "console"}

// laneServices are the services whose emergency lane can run in a process
// of its own (pkg/lane.Run): "<svc>-emergency" beside "<svc>".
var laneServices = []string{"classify", "dispatch"}

// startLanes starts svc as two processes, its routine lane as svc and its
// emergency lane as svc-emergency, with env added to the stack's (issue
// 17); the caller waits for them (waitReady). Each names its PostgreSQL
// backends after itself (application_name gridflow-svc[-emergency]), so
// that the bench can tell them apart (routineBackends).
func (s *stack) startLanes(t *testing.T, svc string, env ...string) {
	t.Helper()
	for _, l := range []struct{ name, run string }{{svc, lane.RunRoutine}, {svc + "-emergency", lane.RunEmergency}} {
		if !slices.Contains(s.only, l.name) {
			s.only = append(s.only, l.name)
		}
		if s.addrs[l.name] == "" {
			s.addrs[l.name], s.admins[l.name] = freeAddr(t), freeAddr(t)
		}
		s.procEnv[l.name] = append(slices.Clone(env), strings.ToUpper(svc)+"_LANES="+l.run, "PGAPPNAME=gridflow-"+l.name)
		s.start(t, l.name, filepath.Join(s.bin, svc))
	}
}

func binDir(t *testing.T) string {
	t.Helper()
	dir := os.Getenv("GRIDFLOW_BIN_DIR")
	if dir == "" {
		dir, _ = filepath.Abs("../bin")
	}
	for _, b := range append([]string{"nats-server", "gridctl"}, services...) {
		if _, err := os.Stat(filepath.Join(dir, b)); err != nil {
			if os.Getenv("CI") == "true" {
				t.Fatalf("binary %s missing in %s under CI=true: run make build", b, dir)
			}
			t.Skipf("SKIPPING end-to-end test: %s missing in %s (run make build, or make test)", b, dir)
		}
	}
	return dir
}

// freeAddr finds a free port below Linux's ephemeral range (32768–60999),
// where outgoing connections take their local ports: a port found free and
// then bound by a service a moment later is not stolen by some client
// connection meanwhile. Two tests may still pick the same port; start
// notices (the service exits saying so) and starts it again elsewhere.
func freeAddr(t *testing.T) string {
	t.Helper()
	for range 100 {
		port := 20000 + rand.IntN(12000)
		l, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", port))
		if err == nil {
			addr := l.Addr().String()
			l.Close()
			return addr
		}
	}
	t.Fatal("no free port in 20000–31999")
	return ""
}

// startStack starts nats-server and the named services (all when none are
// named) and waits until they are ready.
func startStack(t *testing.T, only ...string) *stack {
	t.Helper()
	return startStackWith(t, stackConfig{}, only...)
}

// stackConfig is what a test may change about the stack startStack makes.
type stackConfig struct {
	// dbURL is the database the services use; "" makes one for the test on
	// the server TEST_DATABASE_URL names.
	dbURL string
	// env is added to every service's environment.
	env []string
	// sessions are the processes started in a session of their own, so
	// that Linux's autogroup scheduling gives each its own share of the
	// CPU (make bench, README's "Scheduling groups").
	sessions []string
}

func startStackWith(t *testing.T, cfg stackConfig, only ...string) *stack {
	t.Helper()
	if len(only) == 0 {
		only = services
	}
	s := &stack{bin: binDir(t), dir: t.TempDir(), addrs: map[string]string{}, admins: map[string]string{},
		procs: map[string]*exec.Cmd{}, exited: map[string]chan struct{}{}, logFiles: map[string]string{}, only: only,
		procEnv: map[string][]string{}, procRunner: map[string][]string{}, owner: t, sessions: cfg.sessions}
	dbURL := cfg.dbURL
	if dbURL == "" {
		dbURL = testenv.DatabaseURL(t)
	}
	s.dbURL = dbURL

	s.keyDir = filepath.Join(s.dir, "keys")
	if _, err := auth.EnsureKeyPair(s.keyDir); err != nil {
		t.Fatal(err)
	}
	key, err := auth.LoadPrivateKey(filepath.Join(s.keyDir, auth.PrivateKeyFile))
	if err != nil {
		t.Fatal(err)
	}
	s.signer = auth.NewSigner(key)

	// The NATS users, where gridctl finds the operator's and the streams
	// declarer's seeds by default (its run dir is s.dir).
	s.users = filepath.Join(s.dir, "nats", "users")
	s.nc = map[string]*nats.Conn{}
	if out, err := s.gridctl(t, "nats", "users"); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	s.startNATS(t)
	if out, err := s.gridctl(t, "nats", "streams"); err != nil {
		t.Fatalf("declare the streams: %v\n%s", err, out)
	}

	s.env = []string{
		"GRIDFLOW_DATABASE_URL=" + dbURL,
		"GRIDFLOW_NATS_URL=" + s.natsURL,
		// As make up runs them: every key in the directory, the deny list
		// gridctl auth revoke appends to there, checked often (creds_test).
		"GRIDFLOW_AUTH_KEY_DIR=" + s.keyDir,
		"GRIDFLOW_AUTH_DENY_LIST_FILE=" + filepath.Join(s.keyDir, "revoked"),
		"GRIDFLOW_AUTH_RELOAD_INTERVAL=200ms",
		"GRIDFLOW_LOG_LEVEL=debug",
		// Early warning (issue 20): warnings evaluated twice a second, so a
		// rise raises its warning while a story waits.
		"FEEDBACK_WARNING_EVERY=500ms",
	}
	// issue 20 (work tasks): the register's w-022001001 notifies the
	// stack's own receiver, and an inspection month lasts seconds
	// (ledger_worktasks_test.go).
	s.env = append(s.env, workTasksEnv(t, s)...)
	s.env = append(s.env, cfg.env...)
	for _, svc := range services {
		s.addrs[svc], s.admins[svc] = freeAddr(t), freeAddr(t)
	}
	for _, svc := range only {
		s.start(t, svc, filepath.Join(s.bin, svc))
	}
	for _, svc := range only {
		s.waitReady(t, svc)
	}
	return s
}

// startNATS starts nats-server on a free port and waits until it says it is
// ready — not merely until something answers on the port, which could be
// another test's server that took the port first (then it retries).
func (s *stack) startNATS(t *testing.T) {
	t.Helper()
	for range 3 {
		natsAddr := freeAddr(t)
		_, natsPort, _ := net.SplitHostPort(natsAddr)
		s.natsURL = "nats://" + natsAddr
		s.natsArgs = []string{"-c", natsauth.ConfigFile(s.users), "-a", "127.0.0.1", "-p", natsPort, "-js", "-sd", filepath.Join(s.dir, "nats")}
		s.start(t, "nats", filepath.Join(s.bin, "nats-server"), s.natsArgs...)
		if s.natsReady(t) {
			return
		}
	}
	t.Fatal("nats-server did not start on any of three ports")
}

// natsReady waits for the current nats-server's "Server is ready" line;
// false when it exited first.
func (s *stack) natsReady(t *testing.T) bool {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case <-s.exited["nats"]:
			return false
		default:
		}
		if b, _ := os.ReadFile(s.logFiles["nats"]); strings.Count(string(b), "Server is ready") > s.natsStarts {
			s.natsStarts++
			return true
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatal("nats-server not ready after 20 s")
	return false
}

// jetStream is the test's connection to the stack's NATS as the operator
// (gridctl's user: it reads the streams and the consumers' info), made once
// and closed with the test; it reconnects by itself across a NATS restart.
func (s *stack) jetStream(t *testing.T) jetstream.JetStream {
	t.Helper()
	return s.jetStreamAs(t, natsauth.Operator)
}

// jetStreamAs is jetStream as another NATS user: a test that publishes in
// a service's place does it with that service's rights.
func (s *stack) jetStreamAs(t *testing.T, user string) jetstream.JetStream {
	t.Helper()
	if s.nc[user] == nil {
		opts, err := natsjs.User(user, natsauth.SeedFile(s.users, user))
		if err != nil {
			t.Fatal(err)
		}
		nc, err := nats.Connect(s.natsURL, append(opts, nats.MaxReconnects(-1))...)
		if err != nil {
			t.Fatal(err)
		}
		s.owner.Cleanup(nc.Close)
		s.nc[user] = nc
	}
	js, err := jetstream.New(s.nc[user])
	if err != nil {
		t.Fatal(err)
	}
	return js
}

// serviceOf is the service a process runs: its name up to a "-" (a second
// replica is "intake-2").
func serviceOf(name string) string {
	svc, _, _ := strings.Cut(name, "-")
	return svc
}

// addrEnv is the service's own address settings.
func (s *stack) addrEnv(name string) []string {
	svc := serviceOf(name)
	up := strings.ToUpper(svc)
	addrVar := up + "_GRPC_ADDR"
	if svc == "console" {
		addrVar = "CONSOLE_HTTP_ADDR"
	}
	env := []string{addrVar + "=" + s.addrs[name], up + "_ADMIN_ADDR=" + s.admins[name]}
	// The neighbourhood's ledger (issue 20): a console started with the
	// whole stack calls the stack's services, not the default ports.
	if svc == "console" {
		for _, other := range []string{"intake", "classify", "dispatch", "feedback"} {
			env = append(env, strings.ToUpper(other)+"_GRPC_ADDR="+s.addrs[other])
		}
	}
	return env
}

// natsUserEnv is the NATS user a service connects as, the one the stack
// generated for it (none for the console, which does not connect).
func (s *stack) natsUserEnv(name string) []string {
	svc := serviceOf(name)
	seed := natsauth.SeedFile(s.users, svc)
	if _, err := os.Stat(seed); svc == "nats" || err != nil {
		seed = ""
	}
	return []string{"GRIDFLOW_NATS_NKEY_FILE=" + seed}
}

// kill9 kills a process the hard way: no drain, no goodbye.
func (s *stack) kill9(t *testing.T, name string) {
	t.Helper()
	if err := s.procs[name].Process.Kill(); err != nil {
		t.Fatalf("kill -9 %s: %v", name, err)
	}
	<-s.exited[name]
}

// restart starts a killed process again with the same settings.
func (s *stack) restart(t *testing.T, name string) {
	t.Helper()
	if name == "nats" {
		s.start(t, "nats", filepath.Join(s.bin, "nats-server"), s.natsArgs...)
		if !s.natsReady(t) {
			t.Fatal("nats-server did not come back on its port")
		}
		return
	}
	s.start(t, name, filepath.Join(s.bin, serviceOf(name)))
	s.waitReady(t, name)
}

func (s *stack) start(t *testing.T, name, path string, args ...string) {
	t.Helper()
	logPath := filepath.Join(s.dir, name+".log")
	f, err := os.OpenFile(logPath, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(path, args...)
	if r := s.procRunner[name]; len(r) > 0 {
		cmd = exec.Command(r[0], append(append(r[1:len(r):len(r)], path), args...)...)
	}
	cmd.Env = append(append(append(append(os.Environ(), s.env...), s.procEnv[name]...), s.addrEnv(name)...), s.natsUserEnv(name)...)
	cmd.Stdout, cmd.Stderr = f, f
	if slices.Contains(s.sessions, name) {
		cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	}
	if err := cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", name, err)
	}
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); close(done) }()
	s.procs[name], s.exited[name], s.logFiles[name] = cmd, done, logPath
	t.Cleanup(func() {
		_ = cmd.Process.Signal(os.Interrupt)
		select {
		case <-done:
		case <-time.After(15 * time.Second):
			_ = cmd.Process.Kill()
			<-done
		}
		f.Close()
		if t.Failed() {
			b, _ := os.ReadFile(logPath)
			t.Logf("--- %s log ---\n%s", name, tail(string(b), 4000))
		}
	})
}

func tail(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[len(s)-n:]
}

func (s *stack) waitReady(t *testing.T, svc string) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	url := "http://" + s.admins[svc] + "/readyz"
	for tries := 0; time.Now().Before(deadline); {
		select {
		case <-s.exited[svc]:
			b, _ := os.ReadFile(s.logFiles[svc])
			if tries < 3 && strings.Contains(string(b), "already in use") {
				// Another test took the port between our check and the bind.
				tries++
				s.addrs[svc], s.admins[svc] = freeAddr(t), freeAddr(t)
				url = "http://" + s.admins[svc] + "/readyz"
				s.start(t, svc, filepath.Join(s.bin, serviceOf(svc)))
				continue
			}
			t.Fatalf("%s exited during start; log:\n%s", svc, tail(string(b), 4000))
		default:
		}
		resp, err := http.Get(url)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	b, _ := os.ReadFile(s.logFiles[svc])
	t.Fatalf("%s not ready at %s after 60 s; log:\n%s", svc, url, tail(string(b), 4000))
}

// dial connects to a service as principal.
func (s *stack) dial(t *testing.T, svc string, p auth.Principal) *grpc.ClientConn {
	t.Helper()
	tok, err := s.signer.Issue(p, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	conn, err := grpc.NewClient(s.addrs[svc], grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithUnaryInterceptor(func(ctx context.Context, m string, req, reply any, cc *grpc.ClientConn, inv grpc.UnaryInvoker, o ...grpc.CallOption) error {
			return inv(metadata.AppendToOutgoingContext(ctx, "authorization", "Bearer "+tok), m, req, reply, cc, o...)
		}))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return conn
}

// gridctl runs the CLI against the stack and returns its stdout.
func (s *stack) gridctl(t *testing.T, args ...string) (string, error) {
	t.Helper()
	cmd := exec.Command(filepath.Join(s.bin, "gridctl"), append([]string{"--key-dir", s.keyDir}, args...)...)
	// GRIDFLOW_RUN_DIR: the test's own directory, so a developer's stack
	// (its .run/context.env) never answers for the test's; likewise the
	// deny list, or auth revoke would write into a developer's.
	cmd.Env = append(os.Environ(), "GRIDFLOW_NATS_URL="+s.natsURL, "GRIDFLOW_RUN_DIR="+s.dir,
		"GRIDFLOW_NATS_NKEY_FILE="+natsauth.SeedFile(s.users, natsauth.Operator),
		"GRIDFLOW_AUTH_KEY_DIR="+s.keyDir, "GRIDFLOW_AUTH_DENY_LIST_FILE="+filepath.Join(s.keyDir, "revoked"))
	var out, errb strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	if err != nil {
		return out.String(), fmt.Errorf("gridctl %v: %w: %s", args, err, errb.String())
	}
	return out.String(), nil
}

// events reads everything on the stream matching subject within wait.
func (s *stack) events(t *testing.T, subject string, want int, wait time.Duration) []jetstream.Msg {
	t.Helper()
	js := s.jetStream(t)
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	cons, err := js.OrderedConsumer(ctx, "GRID", jetstream.OrderedConsumerConfig{FilterSubjects: []string{subject}})
	if err != nil {
		t.Fatalf("consumer on GRID %s: %v", subject, err)
	}
	var msgs []jetstream.Msg
	for len(msgs) < want {
		m, err := cons.Next(jetstream.FetchContext(ctx))
		if err != nil {
			t.Fatalf("read %s: got %d of %d events: %v", subject, len(msgs), want, err)
		}
		msgs = append(msgs, m)
	}
	return msgs
}
