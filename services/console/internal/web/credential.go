package web

import (
	"fmt"
	"sync"
	"time"

	"github.com/gridflow/gridflow/pkg/auth"
)

// Minter signs the short-lived credentials the console calls the services
// with: the account's principal with the person named, so the services'
// policy scopes the call as that principal and every audit line (an
// event's actor, a contact read) names the person.
//
// The key is the key directory's signing key — the newest pair, as gridctl
// signs with — which every service already accepts (GRIDFLOW_AUTH_KEY_DIR;
// CONSOLE_SIGNING_KEY_DIR names the directory, by default that one).
// It is re-read every keyRecheck, so a rotation (gridctl auth keygen
// --rotate) reaches the console without a restart, well inside the overlap
// the old key stays valid for.
type Minter struct {
	dir string
	ttl time.Duration

	mu      sync.Mutex
	signer  *auth.Signer
	checked time.Time
}

const keyRecheck = 10 * time.Second

// NewMinter returns a minter signing with dir's key, for tokens valid ttl.
// It fails at once when the directory has no key.
func NewMinter(dir string, ttl time.Duration) (*Minter, error) {
	m := &Minter{dir: dir, ttl: ttl}
	if _, err := m.current(time.Now()); err != nil {
		return nil, err
	}
	return m, nil
}

// KeyID names the key in force, for the start log.
func (m *Minter) KeyID() string {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.signer.KeyID()
}

func (m *Minter) current(now time.Time) (*auth.Signer, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.signer != nil && now.Sub(m.checked) < keyRecheck {
		return m.signer, nil
	}
	key, err := auth.SigningKey(m.dir)
	if err != nil {
		if m.signer != nil {
			return m.signer, nil // keep the key in force through a bad read
		}
		return nil, fmt.Errorf("console signing key (CONSOLE_SIGNING_KEY_DIR %s): %w", m.dir, err)
	}
	m.signer, m.checked = auth.NewSigner(key), now
	return m.signer, nil
}

// Token returns a credential for p (with its person), valid for the TTL.
func (m *Minter) Token(p auth.Principal) (string, error) {
	s, err := m.current(time.Now())
	if err != nil {
		return "", err
	}
	return s.Issue(p, m.ttl)
}
