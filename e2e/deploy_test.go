package e2e

import (
	"bytes"
	"errors"
	"io"
	"io/fs"
	"net/url"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"gopkg.in/yaml.v3"

	"github.com/gridflow/gridflow/pkg/lane"
	"github.com/gridflow/gridflow/pkg/natsauth"
	"github.com/gridflow/gridflow/pkg/natsjs"
)

// TestDeployManifests validates deploy/ without a cluster or a Docker
// engine: every manifest parses, every service has a Deployment and Service
// on its default ports with probes on the admin port, and the Dockerfile
// builds every binary.
func TestDeployManifests(t *testing.T) {
	t.Parallel()
	defaults := map[string][2]int{"intake": {7101, 7201}, "classify": {7102, 7202}, "dispatch": {7103, 7203},
		"feedback": {7104, 7204}, "console": {7180, 7205}}
	type container struct {
		Name    string   `yaml:"name"`
		Command []string `yaml:"command"`
		Ports   []struct {
			Name          string `yaml:"name"`
			ContainerPort int    `yaml:"containerPort"`
		} `yaml:"ports"`
		ReadinessProbe *struct {
			HTTPGet struct {
				Path string `yaml:"path"`
				Port string `yaml:"port"`
			} `yaml:"httpGet"`
		} `yaml:"readinessProbe"`
		Env []struct {
			Name  string `yaml:"name"`
			Value string `yaml:"value"`
		} `yaml:"env"`
	}
	type object struct {
		APIVersion string `yaml:"apiVersion"`
		Kind       string `yaml:"kind"`
		Metadata   struct {
			Name string `yaml:"name"`
		} `yaml:"metadata"`
		Spec struct {
			Template struct {
				Spec struct {
					Containers []container `yaml:"containers"`
				} `yaml:"spec"`
			} `yaml:"template"`
		} `yaml:"spec"`
	}
	deployments := map[string]container{}
	services := map[string]bool{}
	for _, file := range []string{"../deploy/k8s/gridflow.yaml", "../deploy/k8s/nats.yaml"} {
		data, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		dec := yaml.NewDecoder(bytes.NewReader(data))
		for {
			var o object
			err := dec.Decode(&o)
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				t.Fatalf("%s: %v", file, err)
			}
			if o.APIVersion == "" || o.Kind == "" || o.Metadata.Name == "" {
				t.Errorf("%s: object without apiVersion, kind or name: %+v", file, o)
			}
			switch o.Kind {
			case "Deployment":
				deployments[o.Metadata.Name] = o.Spec.Template.Spec.Containers[0]
			case "Service":
				services[o.Metadata.Name] = true
			}
		}
	}
	dockerfile, err := os.ReadFile("../deploy/Dockerfile")
	if err != nil {
		t.Fatal(err)
	}
	for svc, ports := range defaults {
		c, ok := deployments[svc]
		if !ok || !services[svc] {
			t.Errorf("%s: no Deployment or Service", svc)
			continue
		}
		got := map[int]bool{}
		for _, p := range c.Ports {
			got[p.ContainerPort] = true
		}
		if !got[ports[0]] || !got[ports[1]] {
			t.Errorf("%s: container ports %v, want %d and %d", svc, c.Ports, ports[0], ports[1])
		}
		if c.ReadinessProbe == nil || c.ReadinessProbe.HTTPGet.Path != "/readyz" {
			t.Errorf("%s: no /readyz readiness probe", svc)
		}
		if len(c.Command) != 1 || c.Command[0] != "/usr/local/bin/"+svc {
			t.Errorf("%s: command %v", svc, c.Command)
		}
		if !strings.Contains(string(dockerfile), "./services/"+svc) {
			t.Errorf("Dockerfile does not build %s", svc)
		}
	}
	// Issue 17: classify's and dispatch's emergency lanes run in
	// Deployments of their own (pkg/lane.Run), the routine lane in the
	// service's.
	lanesOf := func(c container, svc string) string {
		for _, e := range c.Env {
			if e.Name == strings.ToUpper(svc)+"_LANES" {
				return e.Value
			}
		}
		return lane.RunAll
	}
	for _, svc := range laneServices {
		if got := lanesOf(deployments[svc], svc); got != lane.RunRoutine {
			t.Errorf("%s: lanes %q, want %q beside %s-emergency", svc, got, lane.RunRoutine, svc)
		}
		c, ok := deployments[svc+"-emergency"]
		if !ok {
			t.Errorf("no Deployment %s-emergency", svc)
			continue
		}
		if got := lanesOf(c, svc); got != lane.RunEmergency {
			t.Errorf("%s-emergency: lanes %q, want %q", svc, got, lane.RunEmergency)
		}
		if len(c.Command) != 1 || c.Command[0] != "/usr/local/bin/"+svc || c.ReadinessProbe == nil || c.ReadinessProbe.HTTPGet.Path != "/readyz" {
			t.Errorf("%s-emergency: command %v, readiness probe %v", svc, c.Command, c.ReadinessProbe)
		}
	}
}

// TestDeployNATSUsers: deploy/ runs NATS with the users of pkg/natsauth —
// nats.conf includes the authorization block `gridctl nats users` writes
// (nats-server's own parser reads it from where the StatefulSet mounts it),
// and each service, and the streams Job, is given its own seed and no one
// else's.
func TestDeployNATSUsers(t *testing.T) {
	t.Parallel()
	var conf string
	seeds := map[string][]string{} // workload → seed keys mounted
	nkeyFile := map[string]string{}
	natsMounts := map[string]bool{}
	type object struct {
		Kind     string `yaml:"kind"`
		Metadata struct {
			Name string `yaml:"name"`
		} `yaml:"metadata"`
		Data map[string]string `yaml:"data"`
		Spec struct {
			Template struct {
				Spec struct {
					Containers []struct {
						Command []string `yaml:"command"`
						Env     []struct {
							Name  string `yaml:"name"`
							Value string `yaml:"value"`
						} `yaml:"env"`
						VolumeMounts []struct {
							Name      string `yaml:"name"`
							MountPath string `yaml:"mountPath"`
						} `yaml:"volumeMounts"`
					} `yaml:"containers"`
					Volumes []struct {
						Name   string `yaml:"name"`
						Secret *struct {
							SecretName string `yaml:"secretName"`
							Items      []struct {
								Key string `yaml:"key"`
							} `yaml:"items"`
						} `yaml:"secret"`
					} `yaml:"volumes"`
				} `yaml:"spec"`
			} `yaml:"template"`
		} `yaml:"spec"`
	}
	for _, file := range []string{"../deploy/k8s/gridflow.yaml", "../deploy/k8s/nats.yaml"} {
		data, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		dec := yaml.NewDecoder(bytes.NewReader(data))
		for {
			var o object
			if err := dec.Decode(&o); errors.Is(err, io.EOF) {
				break
			} else if err != nil {
				t.Fatalf("%s: %v", file, err)
			}
			if o.Kind == "ConfigMap" && o.Metadata.Name == "nats-config" {
				conf = o.Data["nats.conf"]
			}
			for _, v := range o.Spec.Template.Spec.Volumes {
				if v.Secret == nil {
					continue
				}
				switch v.Secret.SecretName {
				case "gridflow-nats-seeds":
					for _, it := range v.Secret.Items {
						seeds[o.Metadata.Name] = append(seeds[o.Metadata.Name], it.Key)
					}
				case "gridflow-nats-auth":
					for _, c := range o.Spec.Template.Spec.Containers {
						for _, m := range c.VolumeMounts {
							natsMounts[o.Metadata.Name] = natsMounts[o.Metadata.Name] || (m.Name == v.Name && m.MountPath == "/etc/nats-auth")
						}
					}
				}
			}
			for _, c := range o.Spec.Template.Spec.Containers {
				for _, e := range c.Env {
					if e.Name == "GRIDFLOW_NATS_NKEY_FILE" {
						nkeyFile[o.Metadata.Name] = e.Value
					}
				}
				if i := slices.Index(c.Command, "--nkey"); i >= 0 && i+1 < len(c.Command) {
					nkeyFile[o.Metadata.Name] = c.Command[i+1]
				}
			}
		}
	}
	want := map[string]string{"intake": "intake", "classify": "classify", "dispatch": "dispatch", "feedback": "feedback",
		"gridflow-streams": "streams"}
	for workload, user := range want {
		if got := seeds[workload]; len(got) != 1 || got[0] != user+".nk" {
			t.Errorf("%s mounts the seeds %v, want only %s.nk", workload, got, user)
		}
		if got := nkeyFile[workload]; got != "/etc/gridflow/nats/"+user+".nk" {
			t.Errorf("%s reads its nkey from %q", workload, got)
		}
	}
	if !natsMounts["nats"] {
		t.Error("the nats StatefulSet does not mount gridflow-nats-auth at /etc/nats-auth")
	}

	// nats-server reads the ConfigMap's nats.conf with the generated block
	// where the StatefulSet mounts them.
	root := t.TempDir()
	for _, d := range []string{"nats", "nats-auth"} {
		if err := os.MkdirAll(filepath.Join(root, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := natsauth.Generate(filepath.Join(root, "nats-auth"), natsauth.Users); err != nil {
		t.Fatal(err)
	}
	// The TLS files and the pod name are the cluster's; the users are what
	// this test reads.
	var kept []string
	for l := range strings.Lines(conf) {
		if !strings.Contains(l, "tls {") && !strings.Contains(l, "server_name") {
			kept = append(kept, l)
		}
	}
	path := filepath.Join(root, "nats", "nats.conf")
	if err := os.WriteFile(path, []byte(strings.Join(kept, "")), 0o644); err != nil {
		t.Fatal(err)
	}
	opts, err := server.ProcessConfigFile(path)
	if err != nil {
		t.Fatalf("nats-server cannot read deploy's nats.conf with the users: %v", err)
	}
	if len(opts.Nkeys) != len(natsauth.Users) {
		t.Errorf("nats.conf has %d nkey users, want the %d of pkg/natsauth", len(opts.Nkeys), len(natsauth.Users))
	}
}

// manifests reads every object of the named files under deploy/k8s as
// plain maps, in order.
func manifests(t *testing.T, files ...string) []map[string]any {
	t.Helper()
	var out []map[string]any
	for _, f := range files {
		data, err := os.ReadFile(filepath.Join("../deploy/k8s", f))
		if err != nil {
			t.Fatal(err)
		}
		dec := yaml.NewDecoder(bytes.NewReader(data))
		for {
			var o map[string]any
			if err := dec.Decode(&o); errors.Is(err, io.EOF) {
				break
			} else if err != nil {
				t.Fatalf("%s: %v", f, err)
			}
			if o == nil {
				continue
			}
			if o["apiVersion"] == nil || o["kind"] == nil || str(o, "metadata", "name") == "" {
				t.Errorf("%s: object without apiVersion, kind or name: %v", f, o)
			}
			out = append(out, o)
		}
	}
	return out
}

// at walks m by keys and list indexes ("0"); nil where the path ends.
func at(m any, path ...string) any {
	for _, p := range path {
		switch v := m.(type) {
		case map[string]any:
			m = v[p]
		case []any:
			i, err := strconv.Atoi(p)
			if err != nil || i < 0 || i >= len(v) {
				return nil
			}
			m = v[i]
		default:
			return nil
		}
	}
	return m
}

func str(m any, path ...string) string {
	s, _ := at(m, path...).(string)
	return s
}

func num(m any, path ...string) int {
	switch v := at(m, path...).(type) {
	case int:
		return v
	case string:
		n, _ := strconv.Atoi(v)
		return n
	}
	return 0
}

func byKind(objs []map[string]any, kind string) map[string]map[string]any {
	out := map[string]map[string]any{}
	for _, o := range objs {
		if o["kind"] == kind {
			out[str(o, "metadata", "name")] = o
		}
	}
	return out
}

// TestDeployScaling: every service keeps two replicas and loses at most one
// to a drain (a PodDisruptionBudget over its pods); each durable consumer of
// pkg/natsauth's table drives its service's replicas through a KEDA
// ScaledObject reading its lag from a NATS monitor port the manifests
// expose; every container states its resources and probes; and PostgreSQL
// (CloudNativePG) is the database the services' URL names, with room for
// every replica's pool at the scaling maxima.
func TestDeployScaling(t *testing.T) {
	t.Parallel()
	objs := manifests(t, "gridflow.yaml", "nats.yaml", "scaling.yaml", "postgres.yaml")
	deployments, pdbs, scaled := byKind(objs, "Deployment"), byKind(objs, "PodDisruptionBudget"), byKind(objs, "ScaledObject")
	services := byKind(objs, "Service")
	config := byKind(objs, "ConfigMap")["gridflow-config"]

	maxReplicas := map[string]int{}
	for name, d := range deployments {
		labels, _ := at(d, "spec", "template", "metadata", "labels").(map[string]any)
		minR, maxR := num(d, "spec", "replicas"), num(d, "spec", "replicas")
		if so, ok := scaled[name]; ok {
			if str(so, "spec", "scaleTargetRef", "name") != name {
				t.Errorf("ScaledObject %s targets %q", name, str(so, "spec", "scaleTargetRef", "name"))
			}
			minR, maxR = num(so, "spec", "minReplicaCount"), num(so, "spec", "maxReplicaCount")
			if maxR < minR {
				t.Errorf("ScaledObject %s: max %d below min %d", name, maxR, minR)
			}
		}
		maxReplicas[name] = maxR
		if minR < 2 {
			t.Errorf("%s runs %d replica(s) at least, want 2: one drained or crashed must not stop its stage", name, minR)
		}
		var covered bool
		for _, p := range pdbs {
			sel, _ := at(p, "spec", "selector", "matchLabels").(map[string]any)
			matches := len(sel) > 0
			for k, v := range sel {
				matches = matches && labels[k] == v
			}
			if !matches {
				continue
			}
			covered = true
			if mu, ma := at(p, "spec", "maxUnavailable"), at(p, "spec", "minAvailable"); !(mu == 1 || (ma != nil && num(p, "spec", "minAvailable") < minR)) {
				t.Errorf("PodDisruptionBudget %s (maxUnavailable %v, minAvailable %v) would block every drain of %s's %d replicas or allow all of them", str(p, "metadata", "name"), mu, ma, name, minR)
			}
		}
		if !covered {
			t.Errorf("%s: no PodDisruptionBudget selects its pods", name)
		}
		c := at(d, "spec", "template", "spec", "containers", "0")
		for _, want := range [][]string{{"resources", "requests", "cpu"}, {"resources", "requests", "memory"}, {"resources", "limits", "memory"},
			{"readinessProbe", "httpGet", "path"}, {"livenessProbe", "httpGet", "path"}} {
			if at(c, want...) == nil {
				t.Errorf("%s: container without %s", name, strings.Join(want, "."))
			}
		}
	}

	// Lag drives the consumers' replicas: each durable, on its own service.
	for _, u := range natsauth.Users {
		for _, dur := range u.Durables {
			// Issue 17: an emergency lane's durable runs in its own
			// Deployment (pkg/lane.Run), and scales there.
			owner := u.Name
			if slices.Contains(laneServices, owner) && !slices.ContainsFunc(dur.Filter, func(s string) bool { return !lane.IsEmergency(s) }) {
				owner += "-emergency"
			}
			so, ok := scaled[owner]
			if !ok {
				t.Errorf("%s runs the durable %s but has no ScaledObject", owner, dur.Name)
				continue
			}
			found := false
			triggers, _ := at(so, "spec", "triggers").([]any)
			for _, tr := range triggers {
				if str(tr, "type") != "nats-jetstream" || str(tr, "metadata", "consumer") != dur.Name {
					continue
				}
				found = true
				if str(tr, "metadata", "stream") != natsjs.StreamGrid || str(tr, "metadata", "account") != "$G" || num(tr, "metadata", "lagThreshold") <= 0 {
					t.Errorf("ScaledObject %s: trigger %v, want stream GRID, account $G (no NATS accounts) and a lag threshold", owner, tr)
				}
				endpoint := str(tr, "metadata", "natsServerMonitoringEndpoint")
				host, port, _ := strings.Cut(endpoint, ":")
				svc := services[strings.Split(host, ".")[0]]
				exposed := false
				ports, _ := at(svc, "spec", "ports").([]any)
				for _, p := range ports {
					exposed = exposed || strconv.Itoa(num(p, "port")) == port
				}
				if svc == nil || !exposed || at(svc, "spec", "clusterIP") != "None" {
					t.Errorf("ScaledObject %s reads %s: want a headless NATS Service of the manifests exposing that port (KEDA asks the consumer's leader by pod name)", owner, endpoint)
				}
			}
			if !found {
				t.Errorf("ScaledObject %s has no nats-jetstream trigger on its durable %s", owner, dur.Name)
			}
		}
	}

	// The database the services' URL names, sized for every pool.
	cluster := byKind(objs, "Cluster")["gridflow-pg"]
	if cluster == nil || str(cluster, "apiVersion") != "postgresql.cnpg.io/v1" {
		t.Fatal("no CloudNativePG Cluster gridflow-pg")
	}
	if n := num(cluster, "spec", "instances"); n < 3 {
		t.Errorf("gridflow-pg has %d instances, want a primary and two replicas", n)
	}
	secret := byKind(objs, "Secret")["gridflow-secrets"]
	u, err := url.Parse(str(secret, "stringData", "GRIDFLOW_DATABASE_URL"))
	if err != nil {
		t.Fatal(err)
	}
	if u.Hostname() != "gridflow-pg-rw" || strings.TrimPrefix(u.Path, "/") != str(cluster, "spec", "bootstrap", "initdb", "database") ||
		u.User.Username() != str(cluster, "spec", "bootstrap", "initdb", "owner") || u.Query().Get("sslmode") != "verify-full" {
		t.Errorf("GRIDFLOW_DATABASE_URL %s does not name gridflow-pg's primary (gridflow-pg-rw), database and owner with verify-full", u.Redacted())
	}
	poolSize := 16 // pkg/config's default
	if v := str(config, "data", "GRIDFLOW_DATABASE_MAX_CONNS"); v != "" {
		poolSize, _ = strconv.Atoi(v)
	}
	need := 10 // the operator, a psql, replication
	for name, n := range maxReplicas {
		pool := poolSize
		envs, _ := at(deployments[name], "spec", "template", "spec", "containers", "0", "env").([]any)
		for _, e := range envs {
			if str(e, "name") == "GRIDFLOW_DATABASE_MAX_CONNS" {
				pool, _ = strconv.Atoi(str(e, "value"))
			}
			if strings.HasSuffix(str(e, "name"), "_LANES") && str(e, "value") == lane.RunEmergency {
				pool++ // the emergency consumer's own connection (pkg/consumer Config.Reserved)
			}
		}
		need += n * pool
	}
	if have := num(cluster, "spec", "postgresql", "parameters", "max_connections"); have < need {
		t.Errorf("gridflow-pg allows %d connections; every replica at its maximum with a pool of %d needs %d", have, poolSize, need)
	}
}

// TestDeployNATSHelmValues: the values for the NATS Helm chart make the
// same cluster as nats.yaml — three JetStream nodes (at least the streams'
// replicas), TLS, the users' authorization block included from where it is
// mounted — under the names gridflow.yaml and scaling.yaml dial.
func TestDeployNATSHelmValues(t *testing.T) {
	t.Parallel()
	data, err := os.ReadFile("../deploy/k8s/nats-values.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var v map[string]any
	if err := yaml.Unmarshal(data, &v); err != nil {
		t.Fatal(err)
	}
	objs := manifests(t, "gridflow.yaml", "nats.yaml", "scaling.yaml")
	config := byKind(objs, "ConfigMap")["gridflow-config"]
	if at(v, "config", "cluster", "enabled") != true || num(v, "config", "cluster", "replicas") != 3 {
		t.Errorf("cluster: %v, want enabled with 3 replicas", at(v, "config", "cluster"))
	}
	if r := num(config, "data", "GRIDFLOW_STREAM_REPLICAS"); r < 3 || r > num(v, "config", "cluster", "replicas") {
		t.Errorf("GRIDFLOW_STREAM_REPLICAS %d: want R3 on the cluster's nodes", r)
	}
	if at(v, "config", "jetstream", "enabled") != true || at(v, "config", "jetstream", "fileStore", "enabled") != true ||
		at(v, "config", "jetstream", "fileStore", "pvc", "enabled") != true {
		t.Errorf("jetstream: %v, want file storage on a volume", at(v, "config", "jetstream"))
	}
	for _, l := range []string{"nats", "cluster"} {
		if at(v, "config", l, "tls", "enabled") != true || str(v, "config", l, "tls", "secretName") != "gridflow-tls" ||
			at(v, "config", l, "tls", "merge", "verify") != true {
			t.Errorf("config.%s.tls: %v, want gridflow-tls, verifying peers", l, at(v, "config", l, "tls"))
		}
	}
	// The users: included from the mounted Secret gridflow-nats-auth.
	include := str(v, "config", "merge", "$include")
	want := path.Join("/etc/nats-config", include)
	var mountName, mountPath string
	patches, _ := at(v, "container", "patch").([]any)
	for _, p := range patches {
		if str(p, "op") == "add" && str(p, "path") == "/volumeMounts/-" {
			mountName, mountPath = str(p, "value", "name"), str(p, "value", "mountPath")
		}
	}
	if mountPath == "" || path.Join(mountPath, "auth.conf") != want {
		t.Errorf("nats.conf includes %s (%s) but the container mounts %q at %q", include, want, mountName, mountPath)
	}
	volumeOK := false
	vpatches, _ := at(v, "podTemplate", "patch").([]any)
	for _, p := range vpatches {
		volumeOK = volumeOK || (str(p, "path") == "/spec/volumes/-" && str(p, "value", "name") == mountName &&
			str(p, "value", "secret", "secretName") == "gridflow-nats-auth")
	}
	if !volumeOK {
		t.Errorf("no volume %q from the Secret gridflow-nats-auth", mountName)
	}
	// The names the rest dials.
	natsURL, err := url.Parse(str(config, "data", "GRIDFLOW_NATS_URL"))
	if err != nil {
		t.Fatal(err)
	}
	if str(v, "service", "name") != natsURL.Hostname() || num(v, "config", "nats", "port") != 4222 || natsURL.Port() != "4222" {
		t.Errorf("the chart's Service %q:%d is not GRIDFLOW_NATS_URL's %s", str(v, "service", "name"), num(v, "config", "nats", "port"), natsURL.Host)
	}
	for _, so := range byKind(objs, "ScaledObject") {
		triggers, _ := at(so, "spec", "triggers").([]any)
		for _, tr := range triggers {
			if ep := str(tr, "metadata", "natsServerMonitoringEndpoint"); ep != "" {
				host, port, _ := strings.Cut(ep, ":")
				if strings.Split(host, ".")[0] != str(v, "headlessService", "name") || strconv.Itoa(num(v, "config", "monitor", "port")) != port ||
					at(v, "config", "monitor", "enabled") != true {
					t.Errorf("KEDA reads %s; the chart's headless Service is %q with the monitor on %d", ep, str(v, "headlessService", "name"), num(v, "config", "monitor", "port"))
				}
			}
		}
	}
}

// exportedMetrics are the metric names the code registers: the string
// literals gridflow_… in pkg and the services (tests aside).
func exportedMetrics(t *testing.T) map[string]bool {
	t.Helper()
	re := regexp.MustCompile(`"(gridflow_[a-z0-9_]+)"`)
	names := map[string]bool{}
	for _, root := range []string{"../pkg", "../services"} {
		err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() || !strings.HasSuffix(p, ".go") || strings.HasSuffix(p, "_test.go") {
				return err
			}
			b, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			for _, m := range re.FindAllStringSubmatch(string(b), -1) {
				names[m[1]] = true
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	return names
}

// TestAlertRules: deploy/prometheus/alerts.yaml parses, every rule says
// how bad and what to do, every metric it reads is one the services export,
// and it covers consumer lag, dead letters, the SLA backlog and the relay's
// backlog. With promtool installed (Debian's prometheus package), promtool
// also checks the PromQL and runs alerts_test.yaml.
func TestAlertRules(t *testing.T) {
	t.Parallel()
	data, err := os.ReadFile("../deploy/prometheus/alerts.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var file struct {
		Groups []struct {
			Name  string `yaml:"name"`
			Rules []struct {
				Alert       string            `yaml:"alert"`
				Expr        string            `yaml:"expr"`
				For         string            `yaml:"for"`
				Labels      map[string]string `yaml:"labels"`
				Annotations map[string]string `yaml:"annotations"`
			} `yaml:"rules"`
		} `yaml:"groups"`
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(&file); err != nil {
		t.Fatalf("alerts.yaml: %v", err)
	}
	exported := exportedMetrics(t)
	metricRE := regexp.MustCompile(`\bgridflow_[a-z0-9_]+`)
	used := map[string]bool{}
	seen := map[string]bool{}
	for _, g := range file.Groups {
		for _, r := range g.Rules {
			if r.Alert == "" || seen[r.Alert] || r.Expr == "" {
				t.Errorf("group %s: a rule without a (unique) name or an expression: %+v", g.Name, r)
			}
			seen[r.Alert] = true
			if s := r.Labels["severity"]; s != "warning" && s != "critical" {
				t.Errorf("%s: severity %q, want warning or critical", r.Alert, s)
			}
			if r.Annotations["summary"] == "" || r.Annotations["description"] == "" {
				t.Errorf("%s: no summary or description for whoever is paged", r.Alert)
			}
			if r.For != "" {
				if _, err := time.ParseDuration(r.For); err != nil {
					t.Errorf("%s: for %q: %v", r.Alert, r.For, err)
				}
			}
			depth, closedEarly := 0, false
			for _, c := range r.Expr {
				switch c {
				case '(', '[', '{':
					depth++
				case ')', ']', '}':
					depth--
				}
				closedEarly = closedEarly || depth < 0
			}
			if depth != 0 || closedEarly {
				t.Errorf("%s: unbalanced brackets in %q", r.Alert, r.Expr)
			}
			for _, m := range metricRE.FindAllString(r.Expr, -1) {
				base := m
				for _, suffix := range []string{"_bucket", "_sum", "_count"} {
					if b, ok := strings.CutSuffix(m, suffix); ok && exported[b] {
						base = b
					}
				}
				if !exported[base] {
					t.Errorf("%s reads %s, which no service exports", r.Alert, m)
				}
				used[base] = true
			}
		}
	}
	for what, metric := range map[string]string{"consumer lag": "gridflow_consumer_pending_messages", "dead letters": "gridflow_consumer_dead_letters",
		"SLA backlog": "gridflow_dispatch_overdue_tasks", "relay backlog": "gridflow_outbox_oldest_age_seconds",
		"dead webhook deliveries": "gridflow_dispatch_webhook_dead_deliveries", // issue 19
	} {
		if !used[metric] {
			t.Errorf("no alert on the %s (%s)", what, metric)
		}
	}

	promtool, err := exec.LookPath("promtool")
	if err != nil {
		t.Log("promtool not installed: the PromQL itself is not parsed (apt-get install prometheus has it)")
		return
	}
	for _, args := range [][]string{{"check", "rules", "alerts.yaml"}, {"test", "rules", "alerts_test.yaml"}} {
		cmd := exec.Command(promtool, args...)
		cmd.Dir = "../deploy/prometheus"
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Errorf("promtool %s: %v\n%s", strings.Join(args, " "), err, out)
		}
	}
}
