//go:build cluster

package e2e

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/gridflow/gridflow/pkg/auth"
	"github.com/gridflow/gridflow/pkg/natsjs"
	"github.com/gridflow/gridflow/pkg/testenv"
	intakev1 "github.com/gridflow/gridflow/proto/gen/go/gridflow/intake/v1"
	typesv1 "github.com/gridflow/gridflow/proto/gen/go/gridflow/types/v1"
)

// startNATSCluster starts three nats-server processes as one JetStream
// cluster, each with the stack's users, and points the stack at all three.
func (s *stack) startNATSCluster(t *testing.T) []string {
	t.Helper()
	var names, clientURLs, routes []string
	clusterAddrs := make([]string, 3)
	for i := range 3 {
		clusterAddrs[i] = freeAddr(t)
		routes = append(routes, "nats://"+clusterAddrs[i])
	}
	for i := range 3 {
		name := fmt.Sprintf("nats-%d", i+1)
		client := freeAddr(t)
		host, port, _ := net.SplitHostPort(client)
		chost, cport, _ := net.SplitHostPort(clusterAddrs[i])
		conf := fmt.Sprintf(`server_name: %s
host: %s
port: %s
jetstream { store_dir: %q }
cluster {
  name: gridflow
  host: %s
  port: %s
  routes: [%s]
}
include ./users/auth.conf
`, name, host, port, filepath.Join(s.dir, name), chost, cport, strings.Join(routes, ", "))
		path := filepath.Join(s.dir, "nats", name+".conf")
		if err := os.WriteFile(path, []byte(conf), 0o644); err != nil {
			t.Fatal(err)
		}
		s.start(t, name, filepath.Join(s.bin, "nats-server"), "-c", path)
		names = append(names, name)
		clientURLs = append(clientURLs, "nats://"+client)
	}
	for _, name := range names {
		deadline := time.Now().Add(30 * time.Second)
		for {
			if b, _ := os.ReadFile(s.logFiles[name]); strings.Contains(string(b), "Server is ready") {
				break
			}
			select {
			case <-s.exited[name]:
				b, _ := os.ReadFile(s.logFiles[name])
				t.Fatalf("%s exited: %s", name, tail(string(b), 2000))
			default:
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s not ready after 30 s", name)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	s.natsURL = strings.Join(clientURLs, ",")
	return names
}

// TestNATSClusterLosesANode: gridflow on a three-node NATS cluster, GRID at
// R3. Under a steady load of work orders the node leading GRID is killed
// (kill -9); the cluster elects another leader and the loop goes on. Every
// order intake accepted reaches the stream once and its outcome (classified
// and dispatched) once, before and after the kill. Then the node comes back
// and catches up. About a minute on a 2-core machine, so it runs with its
// build tag, in make cluster-test, rather than in every make test.
func TestNATSClusterLosesANode(t *testing.T) {
	s := &stack{bin: binDir(t), dir: t.TempDir(), addrs: map[string]string{}, admins: map[string]string{},
		procs: map[string]*exec.Cmd{}, exited: map[string]chan struct{}{}, logFiles: map[string]string{}, owner: t}
	s.dbURL = testenv.DatabaseURL(t)
	s.keyDir = filepath.Join(s.dir, "keys")
	if _, err := auth.EnsureKeyPair(s.keyDir); err != nil {
		t.Fatal(err)
	}
	key, err := auth.LoadPrivateKey(filepath.Join(s.keyDir, auth.PrivateKeyFile))
	if err != nil {
		t.Fatal(err)
	}
	s.signer = auth.NewSigner(key)
	s.users = filepath.Join(s.dir, "nats", "users")
	s.nc = map[string]*nats.Conn{}
	if out, err := s.gridctl(t, "nats", "users"); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	s.startNATSCluster(t)
	if out, err := s.gridctl(t, "nats", "streams", "--replicas", "3", "--wait", "30s"); err != nil {
		t.Fatalf("declare the streams at R3: %v\n%s", err, out)
	}
	s.env = []string{"GRIDFLOW_DATABASE_URL=" + s.dbURL, "GRIDFLOW_NATS_URL=" + s.natsURL,
		"GRIDFLOW_AUTH_KEY_DIR=" + s.keyDir, "GRIDFLOW_LOG_LEVEL=info"}
	s.only = []string{"intake", "classify", "dispatch", "feedback"}
	for _, svc := range s.only {
		s.addrs[svc], s.admins[svc] = freeAddr(t), freeAddr(t)
		s.start(t, svc, filepath.Join(s.bin, svc))
	}
	for _, svc := range s.only {
		s.waitReady(t, svc)
	}

	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	js := s.jetStream(t)
	st, err := js.Stream(ctx, natsjs.StreamGrid)
	if err != nil {
		t.Fatal(err)
	}
	info := st.CachedInfo()
	if info.Config.Replicas != 3 || info.Cluster == nil || len(info.Cluster.Replicas) != 2 {
		t.Fatalf("GRID runs with %d replicas (cluster %+v), want R3 on three nodes", info.Config.Replicas, info.Cluster)
	}
	leader := info.Cluster.Leader

	// The load: eight hotline workers, each submitting an order every 50 ms,
	// for 12 s; the stream's leader dies 4 s in.
	client := intakev1.NewIntakeServiceClient(s.dial(t, "intake", auth.Principal{Role: auth.RoleHotline}))
	var (
		mu       sync.Mutex
		accepted []string
		next     atomic.Int64
		wg       sync.WaitGroup
	)
	stop := time.Now().Add(12 * time.Second)
	for range 8 {
		wg.Go(func() {
			for time.Now().Before(stop) {
				i := int(next.Add(1))
				o := replicaOrders[i%len(replicaOrders)]
				no := fmt.Sprintf("CL-%04d", i)
				cctx, ccancel := context.WithTimeout(ctx, 10*time.Second)
				_, err := client.SubmitWorkOrder(cctx, &intakev1.SubmitWorkOrderRequest{WorkOrder: &intakev1.WorkOrder{
					HotlineOrderNo: no, ReceivedAt: timestamppb.New(time.Now().Add(-time.Minute)),
					AppealType: typesv1.AppealType_APPEAL_TYPE_COMPLAINT, Title: o.title, Content: o.content,
					CallerName: "李女士", CallerPhone: "13900002222",
					Address:      fmt.Sprintf("上海市静安区共和新路%d弄%d号", 2000+i, i),
					DistrictCode: "310106", StreetCode: o.street, Urgency: typesv1.Urgency_URGENCY_NORMAL,
				}})
				ccancel()
				if err != nil {
					t.Errorf("order %s refused: %v", no, err)
					return
				}
				mu.Lock()
				accepted = append(accepted, no)
				mu.Unlock()
				time.Sleep(50 * time.Millisecond)
			}
		})
	}
	time.Sleep(4 * time.Second)
	killedAt := time.Now()
	s.kill9(t, leader)
	t.Logf("killed %s, GRID's leader, with %d orders accepted", leader, next.Load())
	wg.Wait()

	// Another node leads and the loop goes on without the dead one: every
	// durable consumer drains, every outbox empties.
	settle(t, s)
	info, err = st.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if info.Cluster.Leader == leader || info.Cluster.Leader == "" {
		t.Errorf("GRID's leader after the kill: %q", info.Cluster.Leader)
	}

	// The node comes back and catches up with the stream.
	s.start(t, leader, filepath.Join(s.bin, "nats-server"), "-c", filepath.Join(s.dir, "nats", leader+".conf"))
	deadline := time.Now().Add(30 * time.Second)
	for {
		info, err = st.Info(ctx)
		if err == nil && info.Cluster != nil {
			current := 0
			for _, r := range info.Cluster.Replicas {
				if r.Current && !r.Offline {
					current++
				}
			}
			if current == 2 {
				break
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s did not catch up with GRID within 30 s: %+v", leader, info.Cluster)
		}
		time.Sleep(200 * time.Millisecond)
	}

	// What reached the stream, read once the node is back.
	run := readRun(t, s)
	t.Logf("%d orders accepted in 12 s (%s killed after %s); %d events on the stream; GRID now led by %s",
		len(accepted), leader, killedAt.Sub(stop.Add(-12*time.Second)).Round(time.Second), run.events, info.Cluster.Leader)
	for id, n := range run.eventIDs {
		if n > 1 {
			t.Errorf("event %s is on the stream %d times", id, n)
		}
	}
	for _, no := range accepted {
		evs := run.outcomes[no]
		counts := map[string]int{}
		for _, e := range evs {
			kind, _, _ := strings.Cut(e, "|")
			counts[kind]++
			if strings.HasPrefix(e, "task.dispatched|") {
				counts[e]++
			}
		}
		if counts["case.received"] != 1 || counts["case.classified"]+counts["case.review_needed"] != 1 {
			t.Errorf("order %s: %v, want it received and classified once", no, evs)
			continue
		}
		for e, n := range counts {
			if strings.HasPrefix(e, "task.dispatched|") && n != 1 {
				t.Errorf("order %s: %s %d times", no, e, n)
			}
		}
		if counts["task.dispatched"] == 0 && counts["case.review_needed"] == 0 {
			t.Errorf("order %s was never dispatched: %v", no, evs)
		}
	}
	if len(run.outcomes) != len(accepted) {
		t.Errorf("%d cases on the stream for %d accepted orders", len(run.outcomes), len(accepted))
	}
}
