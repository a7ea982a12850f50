package auth

import (
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

const issuer = "gridflow"

// claims are a token's: iss, sub (the principal), jti (its id), iat, nbf,
// exp, and the person when one is named. The header's kid names the key.
type claims struct {
	jwt.RegisteredClaims
	Person *Person `json:"person,omitempty"`
}

// Signer mints tokens.
type Signer struct {
	key ed25519.PrivateKey
	kid string
}

// NewSigner returns a signer for key; its tokens name the key by KeyID.
func NewSigner(key ed25519.PrivateKey) *Signer {
	return &Signer{key: key, kid: KeyID(key.Public().(ed25519.PublicKey))}
}

// KeyID is the id of the signer's key, in every token's kid header.
func (s *Signer) KeyID() string { return s.kid }

// Issue returns a token naming p (and p's person, if any), valid for ttl.
func (s *Signer) Issue(p Principal, ttl time.Duration) (string, error) {
	tok, _, err := s.IssueWithID(p, ttl)
	return tok, err
}

// IssueWithID is Issue that also returns the token's id (jti), the name a
// deny list revokes it by.
func (s *Signer) IssueWithID(p Principal, ttl time.Duration) (token, id string, err error) {
	if err := p.Validate(); err != nil {
		return "", "", err
	}
	id, err = newTokenID()
	if err != nil {
		return "", "", err
	}
	now := time.Now()
	c := claims{RegisteredClaims: jwt.RegisteredClaims{
		Issuer:    issuer,
		Subject:   p.String(),
		ID:        id,
		IssuedAt:  jwt.NewNumericDate(now),
		NotBefore: jwt.NewNumericDate(now.Add(-time.Minute)),
		ExpiresAt: jwt.NewNumericDate(now.Add(ttl)),
	}}
	if !p.Person.IsZero() {
		person := p.Person
		c.Person = &person
	}
	t := jwt.NewWithClaims(jwt.SigningMethodEdDSA, c)
	t.Header["kid"] = s.kid
	token, err = t.SignedString(s.key)
	return token, id, err
}

// newTokenID is 128 random bits, base64url: unguessable, so knowing one
// token's id says nothing of another's.
func newTokenID() (string, error) {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", err
	}
	return base64.RawURLEncoding.EncodeToString(b[:]), nil
}

// Verifier checks tokens against a key set and a deny list, both of which
// Replace swaps while it serves (a reload).
//
// Verifying an Ed25519 signature costs tens of microseconds — a third of
// intake's CPU under load when every call paid it — while a caller (the
// hotline's gateway, a department's client) sends one token many times.
// Verified tokens are therefore remembered until they expire; the cache is
// bounded and simply emptied when full. What can change while a token is
// cached — its key retiring or leaving the set, its id or principal being
// revoked — is checked on every call, hit or not.
type Verifier struct {
	now func() time.Time

	mu    sync.RWMutex
	keys  *KeySet
	deny  *DenyList
	cache map[string]verified
}

type verified struct {
	p   Principal
	exp time.Time
	iat time.Time
	jti string
	kid string
}

// maxCachedTokens bounds the verified-token cache.
const maxCachedTokens = 10000

// NewVerifier returns a verifier for key alone, with nothing revoked.
func NewVerifier(key ed25519.PublicKey) *Verifier {
	return NewKeySetVerifier(NewKeySet(key), nil)
}

// NewKeySetVerifier returns a verifier accepting the keys of ks (each until
// it retires) and refusing what deny revokes; deny may be nil.
func NewKeySetVerifier(ks *KeySet, deny *DenyList) *Verifier {
	return &Verifier{now: time.Now, keys: ks, deny: deny, cache: make(map[string]verified)}
}

// Replace puts a reloaded key set and deny list in force; the next call of
// every token, cached or not, is checked against them.
func (v *Verifier) Replace(ks *KeySet, deny *DenyList) {
	v.mu.Lock()
	v.keys, v.deny = ks, deny
	v.mu.Unlock()
}

// ErrInvalidToken wraps every reason a token is refused.
var ErrInvalidToken = errors.New("invalid token")

// Verify returns the principal a valid token names.
func (v *Verifier) Verify(token string) (Principal, error) {
	now := v.now()
	v.mu.RLock()
	hit, ok := v.cache[token]
	keys, deny := v.keys, v.deny
	v.mu.RUnlock()
	if !ok || !now.Before(hit.exp) {
		var err error
		if hit, err = v.verify(token, keys); err != nil {
			return Principal{}, err
		}
		v.mu.Lock()
		if len(v.cache) >= maxCachedTokens {
			clear(v.cache)
		}
		v.cache[token] = hit
		v.mu.Unlock()
	}
	if err := admit(hit, keys, deny, now); err != nil {
		return Principal{}, fmt.Errorf("%w: %w", ErrInvalidToken, err)
	}
	return hit.p, nil
}

// admit checks what may have changed since the token was verified.
func admit(t verified, keys *KeySet, deny *DenyList, now time.Time) error {
	k, ok := keys.Key(t.kid)
	if !ok {
		return fmt.Errorf("signed with key %s, which is not in the key set", t.kid)
	}
	if !k.Retires.IsZero() && !now.Before(k.Retires) {
		return fmt.Errorf("signed with key %s, retired at %s (rotated; get a new token)", t.kid, k.Retires.UTC().Format(time.RFC3339))
	}
	return deny.Check(t.jti, t.p, t.iat)
}

func (v *Verifier) verify(token string, keys *KeySet) (verified, error) {
	var c claims
	var kid string
	_, err := jwt.ParseWithClaims(token, &c, func(t *jwt.Token) (any, error) {
		kid, _ = t.Header["kid"].(string)
		if kid == "" {
			return nil, errors.New("token names no key (kid)")
		}
		k, ok := keys.Key(kid)
		if !ok {
			return nil, fmt.Errorf("signed with key %s, which is not in the key set", kid)
		}
		return k.Public, nil
	},
		jwt.WithValidMethods([]string{jwt.SigningMethodEdDSA.Alg()}),
		jwt.WithIssuer(issuer), jwt.WithExpirationRequired(), jwt.WithIssuedAt(), jwt.WithLeeway(30*time.Second))
	if err != nil {
		return verified{}, fmt.Errorf("%w: %v", ErrInvalidToken, err)
	}
	p, err := ParsePrincipal(c.Subject)
	if err != nil {
		return verified{}, fmt.Errorf("%w: %v", ErrInvalidToken, err)
	}
	if c.Person != nil {
		p.Person = *c.Person
		// Validate refuses a person on a system token: system is for
		// service-to-service calls and is never a person's credential.
		if err := p.Validate(); err != nil {
			return verified{}, fmt.Errorf("%w: %v", ErrInvalidToken, err)
		}
	}
	switch {
	case c.ID == "":
		return verified{}, fmt.Errorf("%w: token has no id (jti), so it could not be revoked", ErrInvalidToken)
	case c.IssuedAt == nil:
		return verified{}, fmt.Errorf("%w: token has no issue time (iat)", ErrInvalidToken)
	}
	return verified{p: p, exp: c.ExpiresAt.Time, iat: c.IssuedAt.Time, jti: c.ID, kid: kid}, nil
}
