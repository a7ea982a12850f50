package e2e

import (
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// The dev CA script's certificates, named in the TLS settings, make intake
// serve mutual TLS: gridctl with the CA and its client certificate is
// answered, without a client certificate or in plaintext it is not.
func TestTLSWithDevCA(t *testing.T) {
	dir := t.TempDir()
	if out, err := exec.Command("../scripts/dev-ca.sh", dir).CombinedOutput(); err != nil {
		t.Fatalf("scripts/dev-ca.sh: %v\n%s", err, out)
	}
	file := func(name string) string { return filepath.Join(dir, name) }
	t.Setenv("GRIDFLOW_TLS_CERT_FILE", file("server.crt"))
	t.Setenv("GRIDFLOW_TLS_KEY_FILE", file("server.key"))
	t.Setenv("GRIDFLOW_TLS_CA_FILE", file("ca.crt"))
	t.Setenv("GRIDFLOW_TLS_CLIENT_AUTH", "true")
	s := startStack(t, "intake")

	show := func(tlsArgs ...string) string {
		args := append([]string{"--addr", s.addrs["intake"], "--timeout", "5s"}, tlsArgs...)
		_, err := s.gridctl(t, append(args, "submission", "show", "GF-20261203-000001")...)
		if err == nil {
			t.Fatalf("gridctl %v: no error for a case that does not exist", tlsArgs)
		}
		return err.Error()
	}
	if got := show("--tls-ca", file("ca.crt"), "--tls-cert", file("client.crt"), "--tls-key", file("client.key")); !strings.Contains(got, "NotFound") {
		t.Errorf("with the CA and a client certificate: %s; want intake's NotFound", got)
	}
	if got := show("--tls-ca", file("ca.crt")); !strings.Contains(got, "Unavailable") {
		t.Errorf("without a client certificate: %s; want Unavailable", got)
	}
	if got := show("--tls-ca="); !strings.Contains(got, "Unavailable") {
		t.Errorf("plaintext: %s; want Unavailable", got)
	}
}
