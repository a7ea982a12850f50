package e2e

import (
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/nats-io/nats-server/v2/server"
	"gopkg.in/yaml.v3"

	"github.com/gridflow/gridflow/pkg/natsauth"
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
