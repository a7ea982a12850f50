// Package auth names who is calling. Tokens are Ed25519-signed JWTs whose
// subject is a principal "role[:subject]" (DESIGN.md: hotline, patrol:<worker>,
// secretary:<community>, dispatcher:<street>, district:<district>,
// department:<code>, admin). Services hold only the public key; gridctl and
// trusted systems hold the private one.
package auth

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// Role is what a principal may do.
type Role string

// The roles of DESIGN.md. System is for service-to-service calls.
const (
	RoleHotline    Role = "hotline"
	RolePatrol     Role = "patrol"
	RoleSecretary  Role = "secretary"
	RoleDispatcher Role = "dispatcher"
	RoleDistrict   Role = "district"
	RoleDepartment Role = "department"
	RoleAdmin      Role = "admin"
	RoleSystem     Role = "system"
)

// needsSubject says whether a role must name a subject (a worker, a street …).
var needsSubject = map[Role]bool{
	RoleHotline: false, RolePatrol: true, RoleSecretary: true, RoleDispatcher: true,
	RoleDistrict: true, RoleDepartment: true, RoleAdmin: false, RoleSystem: true,
}

// Principal is an authenticated caller.
type Principal struct {
	Role    Role
	Subject string
}

// String renders "role" or "role:subject"; it is the scope of request ids.
func (p Principal) String() string {
	if p.Subject == "" {
		return string(p.Role)
	}
	return string(p.Role) + ":" + p.Subject
}

// ParsePrincipal parses "role[:subject]" and checks the role's subject rule.
func ParsePrincipal(s string) (Principal, error) {
	role, subject, _ := strings.Cut(s, ":")
	p := Principal{Role: Role(role), Subject: subject}
	return p, p.Validate()
}

// Validate checks the role is known and has a subject exactly when it needs one.
func (p Principal) Validate() error {
	need, ok := needsSubject[p.Role]
	switch {
	case !ok:
		return fmt.Errorf("unknown role %q (want one of hotline, patrol, secretary, dispatcher, district, department, admin, system)", p.Role)
	case need && p.Subject == "":
		return fmt.Errorf("role %s needs a subject (e.g. %s:<id>)", p.Role, p.Role)
	case !need && p.Subject != "":
		return fmt.Errorf("role %s takes no subject", p.Role)
	case strings.ContainsAny(p.Subject, " \t\n:"):
		return fmt.Errorf("subject %q has a space or colon", p.Subject)
	}
	return nil
}

type ctxKey struct{}

// WithPrincipal returns ctx carrying p.
func WithPrincipal(ctx context.Context, p Principal) context.Context {
	return context.WithValue(ctx, ctxKey{}, p)
}

// FromContext returns the caller, if the auth interceptor found one.
func FromContext(ctx context.Context) (Principal, bool) {
	p, ok := ctx.Value(ctxKey{}).(Principal)
	return p, ok
}

const issuer = "gridflow"

// Signer mints tokens.
type Signer struct{ key ed25519.PrivateKey }

// NewSigner returns a signer for key.
func NewSigner(key ed25519.PrivateKey) *Signer { return &Signer{key: key} }

// Issue returns a token naming p, valid for ttl.
func (s *Signer) Issue(p Principal, ttl time.Duration) (string, error) {
	if err := p.Validate(); err != nil {
		return "", err
	}
	now := time.Now()
	claims := jwt.RegisteredClaims{
		Issuer:    issuer,
		Subject:   p.String(),
		IssuedAt:  jwt.NewNumericDate(now),
		NotBefore: jwt.NewNumericDate(now.Add(-time.Minute)),
		ExpiresAt: jwt.NewNumericDate(now.Add(ttl)),
	}
	return jwt.NewWithClaims(jwt.SigningMethodEdDSA, claims).SignedString(s.key)
}

// Verifier checks tokens. Verifying an Ed25519 signature costs tens of
// microseconds — a third of intake's CPU under load when every call paid it —
// while a caller (the hotline's gateway, a department's client) sends one
// token many times. Verified tokens are therefore remembered until they
// expire; the cache is bounded and simply emptied when full.
type Verifier struct {
	key ed25519.PublicKey

	mu    sync.RWMutex
	cache map[string]verified
}

type verified struct {
	p   Principal
	exp time.Time
}

// maxCachedTokens bounds the verified-token cache.
const maxCachedTokens = 10000

// NewVerifier returns a verifier for key.
func NewVerifier(key ed25519.PublicKey) *Verifier {
	return &Verifier{key: key, cache: make(map[string]verified)}
}

// ErrInvalidToken wraps every reason a token is refused.
var ErrInvalidToken = errors.New("invalid token")

// Verify returns the principal a valid token names.
func (v *Verifier) Verify(token string) (Principal, error) {
	v.mu.RLock()
	hit, ok := v.cache[token]
	v.mu.RUnlock()
	if ok && time.Now().Before(hit.exp) {
		return hit.p, nil
	}
	p, exp, err := v.verify(token)
	if err != nil {
		return Principal{}, err
	}
	v.mu.Lock()
	if len(v.cache) >= maxCachedTokens {
		clear(v.cache)
	}
	v.cache[token] = verified{p: p, exp: exp}
	v.mu.Unlock()
	return p, nil
}

func (v *Verifier) verify(token string) (Principal, time.Time, error) {
	var claims jwt.RegisteredClaims
	_, err := jwt.ParseWithClaims(token, &claims, func(*jwt.Token) (any, error) { return v.key, nil },
		jwt.WithValidMethods([]string{jwt.SigningMethodEdDSA.Alg()}),
		jwt.WithIssuer(issuer), jwt.WithExpirationRequired(), jwt.WithLeeway(30*time.Second))
	if err != nil {
		return Principal{}, time.Time{}, fmt.Errorf("%w: %v", ErrInvalidToken, err)
	}
	p, err := ParsePrincipal(claims.Subject)
	if err != nil {
		return Principal{}, time.Time{}, fmt.Errorf("%w: %v", ErrInvalidToken, err)
	}
	return p, claims.ExpiresAt.Time, nil
}

// Key file names inside a key directory.
const (
	PrivateKeyFile = "dev-ed25519.key"
	PublicKeyFile  = "dev-ed25519.pub"
)

// EnsureKeyPair creates an Ed25519 key pair in dir unless one is there. It is
// the local development key `make run` uses; production keys are provisioned.
func EnsureKeyPair(dir string) (created bool, err error) {
	priv := filepath.Join(dir, PrivateKeyFile)
	if _, err := os.Stat(priv); err == nil {
		return false, nil
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return false, err
	}
	pub, key, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return false, err
	}
	privDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return false, err
	}
	pubDER, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		return false, err
	}
	if err := os.WriteFile(filepath.Join(dir, PublicKeyFile), pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pubDER}), 0o644); err != nil {
		return false, err
	}
	// The private key is written last so a half-made pair is never taken as whole.
	if err := os.WriteFile(priv, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: privDER}), 0o600); err != nil {
		return false, err
	}
	return true, nil
}

// LoadPrivateKey reads a PKCS#8 PEM Ed25519 private key.
func LoadPrivateKey(path string) (ed25519.PrivateKey, error) {
	der, err := readPEM(path, "PRIVATE KEY")
	if err != nil {
		return nil, err
	}
	k, err := x509.ParsePKCS8PrivateKey(der)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	ek, ok := k.(ed25519.PrivateKey)
	if !ok {
		return nil, fmt.Errorf("%s: not an Ed25519 key", path)
	}
	return ek, nil
}

// LoadPublicKey reads a PKIX PEM Ed25519 public key.
func LoadPublicKey(path string) (ed25519.PublicKey, error) {
	der, err := readPEM(path, "PUBLIC KEY")
	if err != nil {
		return nil, err
	}
	k, err := x509.ParsePKIXPublicKey(der)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	ek, ok := k.(ed25519.PublicKey)
	if !ok {
		return nil, fmt.Errorf("%s: not an Ed25519 key", path)
	}
	return ek, nil
}

func readPEM(path, typ string) ([]byte, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	block, _ := pem.Decode(b)
	if block == nil || block.Type != typ {
		return nil, fmt.Errorf("%s: no %s PEM block", path, typ)
	}
	return block.Bytes, nil
}
