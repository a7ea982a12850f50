// Package tlsconfig turns the certificate files named in configuration into
// tls.Configs for gridflow's servers and clients: gRPC servers (the service's
// certificate, and with mutual TLS the CA its clients' certificates must chain
// to), gRPC clients (gridctl, tests) and the NATS connection. PEM files as
// scripts/dev-ca.sh writes them, or as a Kubernetes TLS Secret mounts them.
//
// TLS is configuration: with no files named everything stays plaintext
// (make run on loopback); deploy/ names them. PostgreSQL is not here: pgx
// reads TLS from the database URL itself (sslmode=verify-full&sslrootcert=…,
// and sslcert/sslkey for client certificates).
//
// Certificates are read once, at start; a rotated certificate takes a
// restart (a Deployment's rolling restart), as the token key does.
package tlsconfig

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"os"
)

// Server is a server's side: its own key pair and, for mutual TLS, the CA
// that signs its clients.
type Server struct {
	CertFile, KeyFile string
	// ClientCAFile, when set, makes every client present a certificate
	// that chains to it (mutual TLS).
	ClientCAFile string
}

// Enabled reports whether a certificate is configured.
func (s Server) Enabled() bool { return s.CertFile != "" || s.KeyFile != "" }

// Config returns the server's tls.Config, or nil when TLS is off.
func (s Server) Config() (*tls.Config, error) {
	if !s.Enabled() {
		if s.ClientCAFile != "" {
			return nil, errors.New("tls: a client CA without a server certificate: set the certificate and key files too")
		}
		return nil, nil
	}
	if s.CertFile == "" || s.KeyFile == "" {
		return nil, errors.New("tls: set both the certificate and the key file, or neither")
	}
	cert, err := tls.LoadX509KeyPair(s.CertFile, s.KeyFile)
	if err != nil {
		return nil, fmt.Errorf("tls: server key pair: %w", err)
	}
	cfg := &tls.Config{MinVersion: tls.VersionTLS12, Certificates: []tls.Certificate{cert}}
	if s.ClientCAFile != "" {
		pool, err := loadPool(s.ClientCAFile)
		if err != nil {
			return nil, err
		}
		cfg.ClientCAs = pool
		cfg.ClientAuth = tls.RequireAndVerifyClientCert
	}
	return cfg, nil
}

// Client is a client's side: the CA it trusts (empty: the system's roots)
// and, for servers that ask for one, its own key pair.
type Client struct {
	CAFile            string
	CertFile, KeyFile string
	// ServerName overrides the name checked in the server's certificate
	// (empty: the host dialled).
	ServerName string
}

// Config returns the client's tls.Config.
func (c Client) Config() (*tls.Config, error) {
	cfg := &tls.Config{MinVersion: tls.VersionTLS12, ServerName: c.ServerName}
	if c.CAFile != "" {
		pool, err := loadPool(c.CAFile)
		if err != nil {
			return nil, err
		}
		cfg.RootCAs = pool
	}
	switch {
	case c.CertFile != "" && c.KeyFile != "":
		cert, err := tls.LoadX509KeyPair(c.CertFile, c.KeyFile)
		if err != nil {
			return nil, fmt.Errorf("tls: client key pair: %w", err)
		}
		cfg.Certificates = []tls.Certificate{cert}
	case c.CertFile != "" || c.KeyFile != "":
		return nil, errors.New("tls: set both the client certificate and key file, or neither")
	}
	return cfg, nil
}

func loadPool(file string) (*x509.CertPool, error) {
	pem, err := os.ReadFile(file)
	if err != nil {
		return nil, fmt.Errorf("tls: CA: %w", err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		return nil, fmt.Errorf("tls: CA %s: no PEM certificate in it", file)
	}
	return pool, nil
}
