package auth

import (
	"crypto/ed25519"
	"crypto/rand"
	"errors"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestParsePrincipal(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in      string
		want    Principal
		wantErr bool
	}{
		{in: "hotline", want: Principal{Role: RoleHotline}},
		{in: "patrol:w-17", want: Principal{Role: RolePatrol, Subject: "w-17"}},
		{in: "department:310106022-cgzd", want: Principal{Role: RoleDepartment, Subject: "310106022-cgzd"}},
		{in: "patrol", wantErr: true},
		{in: "hotline:x", wantErr: true},
		{in: "mayor:x", wantErr: true},
		{in: "dispatcher:a b", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			t.Parallel()
			got, err := ParsePrincipal(tt.in)
			if (err != nil) != tt.wantErr {
				t.Fatalf("ParsePrincipal(%q) err = %v, wantErr %v", tt.in, err, tt.wantErr)
			}
			if !tt.wantErr {
				if diff := cmp.Diff(tt.want, got); diff != "" {
					t.Errorf("mismatch (-want +got):\n%s", diff)
				}
			}
		})
	}
}

func TestIssueVerify(t *testing.T) {
	t.Parallel()
	pub, priv, _ := ed25519.GenerateKey(rand.Reader)
	otherPub, _, _ := ed25519.GenerateKey(rand.Reader)
	s := NewSigner(priv)
	p := Principal{Role: RolePatrol, Subject: "w1"}
	tok, err := s.Issue(p, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	got, err := NewVerifier(pub).Verify(tok)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(p, got); diff != "" {
		t.Errorf("mismatch (-want +got):\n%s", diff)
	}
	if _, err := NewVerifier(otherPub).Verify(tok); !errors.Is(err, ErrInvalidToken) {
		t.Errorf("other key: err = %v, want ErrInvalidToken", err)
	}
	expired, _ := s.Issue(p, -time.Hour)
	if _, err := NewVerifier(pub).Verify(expired); !errors.Is(err, ErrInvalidToken) {
		t.Errorf("expired: err = %v, want ErrInvalidToken", err)
	}
	if _, err := NewVerifier(pub).Verify(tok + "x"); !errors.Is(err, ErrInvalidToken) {
		t.Errorf("tampered: err = %v, want ErrInvalidToken", err)
	}

	// The cache answers repeats with the same principal and never lets a
	// cached entry stand for another token.
	v := NewVerifier(pub)
	for range 3 {
		if got, err := v.Verify(tok); err != nil || got != p {
			t.Fatalf("repeat Verify = %v, %v", got, err)
		}
	}
	if _, err := v.Verify(expired); !errors.Is(err, ErrInvalidToken) {
		t.Errorf("expired after a cached hit: err = %v, want ErrInvalidToken", err)
	}
	v.cache[tok] = verified{p: p, exp: time.Now().Add(-time.Second)} // a stale entry is re-verified
	if got, err := v.Verify(tok); err != nil || got != p {
		t.Errorf("stale entry: %v, %v", got, err)
	}
}

func TestKeyPairFiles(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	created, err := EnsureKeyPair(dir)
	if err != nil || !created {
		t.Fatalf("EnsureKeyPair = %v, %v", created, err)
	}
	if created, _ := EnsureKeyPair(dir); created {
		t.Error("second EnsureKeyPair created a new pair")
	}
	priv, err := LoadPrivateKey(dir + "/" + PrivateKeyFile)
	if err != nil {
		t.Fatal(err)
	}
	pub, err := LoadPublicKey(dir + "/" + PublicKeyFile)
	if err != nil {
		t.Fatal(err)
	}
	tok, _ := NewSigner(priv).Issue(Principal{Role: RoleAdmin}, time.Minute)
	if _, err := NewVerifier(pub).Verify(tok); err != nil {
		t.Error(err)
	}
}
