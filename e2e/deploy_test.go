package e2e

import (
	"bytes"
	"errors"
	"io"
	"os"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
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
