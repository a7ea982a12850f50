package tlsconfig_test

import (
	"crypto/tls"
	"strings"
	"testing"

	"github.com/gridflow/gridflow/pkg/testenv"
	"github.com/gridflow/gridflow/pkg/tlsconfig"
)

func TestServer(t *testing.T) {
	t.Parallel()
	f := testenv.TLS(t)
	off, err := tlsconfig.Server{}.Config()
	if err != nil || off != nil {
		t.Fatalf("no files = %v, %v; want nil (plaintext)", off, err)
	}
	on, err := tlsconfig.Server{CertFile: f.Cert, KeyFile: f.Key}.Config()
	if err != nil || len(on.Certificates) != 1 || on.ClientAuth != tls.NoClientCert || on.MinVersion != tls.VersionTLS12 {
		t.Fatalf("server = %+v, %v", on, err)
	}
	mutual, err := tlsconfig.Server{CertFile: f.Cert, KeyFile: f.Key, ClientCAFile: f.CA}.Config()
	if err != nil || mutual.ClientAuth != tls.RequireAndVerifyClientCert || mutual.ClientCAs == nil {
		t.Fatalf("mutual = %+v, %v", mutual, err)
	}
	for _, tc := range []struct {
		s    tlsconfig.Server
		want string
	}{
		{tlsconfig.Server{CertFile: f.Cert}, "both"},
		{tlsconfig.Server{ClientCAFile: f.CA}, "without a server certificate"},
		{tlsconfig.Server{CertFile: f.Cert, KeyFile: f.CA}, "key pair"},
		{tlsconfig.Server{CertFile: f.Cert, KeyFile: f.Key, ClientCAFile: f.Key}, "no PEM certificate"},
		{tlsconfig.Server{CertFile: f.Cert, KeyFile: f.Key, ClientCAFile: f.CA + ".missing"}, "no such file"},
	} {
		if _, err := tc.s.Config(); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%+v: %v, want an error with %q", tc.s, err, tc.want)
		}
	}
}

func TestClient(t *testing.T) {
	t.Parallel()
	f := testenv.TLS(t)
	c, err := tlsconfig.Client{CAFile: f.CA, CertFile: f.Cert, KeyFile: f.Key, ServerName: "nats"}.Config()
	if err != nil || c.RootCAs == nil || len(c.Certificates) != 1 || c.ServerName != "nats" {
		t.Fatalf("client = %+v, %v", c, err)
	}
	if _, err := (tlsconfig.Client{CAFile: f.CA, KeyFile: f.Key}).Config(); err == nil || !strings.Contains(err.Error(), "both") {
		t.Errorf("key without certificate: %v", err)
	}
}
