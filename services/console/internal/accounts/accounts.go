// Package accounts is who may sign in to the console and as whom they act:
// people's accounts (a person id, a name, the principal they act as,
// enabled or not, an argon2id password hash), sign-in with a per-name
// lockout after repeated failures, and server-side sessions with an idle
// and an absolute expiry.
//
// This is identity, not domain state: the console keeps it in its own
// schema, and the services never read it. A signed-in person calls the
// services with a short-lived token naming their principal and themselves
// (auth.Principal with Person), so every audit line names who acted.
//
// Sign-in never says whether a name exists: an unknown name and a wrong
// password get the same answer (ErrBadCredentials), cost the same argon2id
// computation, and count towards the same lockout — failures are counted
// per submitted name, whether an account has it or not, so a locked-out
// answer says nothing either. Only a caller who gave the right password
// learns that the account is disabled.
package accounts

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/gridflow/gridflow/pkg/auth"
	"github.com/gridflow/gridflow/pkg/fault"
)

// Account is one person who may sign in.
type Account struct {
	// PersonID is the name they sign in with and the id the audit records
	// (auth.Person.ID): no spaces or parentheses, at most 64 bytes.
	PersonID string
	// Name is the person's name as the audit shows it (王芳).
	Name string
	// Principal is who they act as: a street's dispatcher, a department …
	// Never system (service-to-service only), never with a person inside.
	Principal auth.Principal
	Enabled   bool
	// UpdatedBy is the admin actor who last added or changed the account.
	UpdatedBy string
	CreatedAt time.Time
	UpdatedAt time.Time
}

// Acting is the principal the account's credentials name, with the person.
func (a Account) Acting() auth.Principal {
	p := a.Principal
	p.Person = auth.Person{ID: a.PersonID, Name: a.Name}
	return p
}

// Limits on a password: long enough that guessing is hopeless at
// argon2id's cost, short enough that hashing one is bounded work.
const (
	MinPasswordLen = 10  // characters
	MaxPasswordLen = 256 // bytes
)

// ValidatePassword checks a new password's length.
func ValidatePassword(field, pw string, vs *fault.Violations) {
	switch {
	case utf8.RuneCountInString(pw) < MinPasswordLen:
		vs.Add(field, "must be at least %d characters", MinPasswordLen)
	case len(pw) > MaxPasswordLen:
		vs.Add(field, "must be at most %d bytes", MaxPasswordLen)
	case !utf8.ValidString(pw):
		vs.Add(field, "is not valid UTF-8")
	}
}

// NewAccount is what an admin gives to add an account.
type NewAccount struct {
	PersonID  string
	Name      string
	Principal string
	Password  string
}

// validate returns the account it describes, or InvalidArgument naming
// every field at fault.
func (n NewAccount) validate() (Account, error) {
	var vs fault.Violations
	person := auth.Person{ID: n.PersonID, Name: strings.TrimSpace(n.Name)}
	if err := person.Validate(); err != nil {
		if strings.HasPrefix(err.Error(), "person id") {
			vs.Add("person_id", "%s", err)
		} else {
			vs.Add("name", "%s", err)
		}
	}
	p, err := auth.ParsePrincipal(n.Principal)
	switch {
	case err != nil:
		vs.Add("principal", "%s", err)
	case p.Role == auth.RoleSystem:
		vs.Add("principal", "system is for service-to-service calls and is never a person's account")
	}
	ValidatePassword("password", n.Password, &vs)
	if err := vs.Err(); err != nil {
		return Account{}, err
	}
	return Account{PersonID: person.ID, Name: person.Name, Principal: p, Enabled: true}, nil
}

// Session is a signed-in browser. The cookie holds only its random id; the
// store keeps the id's SHA-256, so a read of the table gives no usable
// cookie.
type Session struct {
	// ID is the cookie's value: 256 random bits, base64url. Set only when
	// the session is made; a looked-up session has only IDHash.
	ID     string
	IDHash []byte
	// CSRF is the token every form of this session carries back.
	CSRF      string
	Account   Account
	CreatedAt time.Time
	LastSeen  time.Time
	// ExpiresAt is the absolute end, however busy the session is.
	ExpiresAt time.Time
}

// HashSessionID is what the store keys a session by.
func HashSessionID(id string) []byte {
	s := sha256.Sum256([]byte(id))
	return s[:]
}

// Store keeps accounts, sign-in failures and sessions (internal/postgres).
type Store interface {
	CreateAccount(ctx context.Context, a Account, hash string, now time.Time) error
	Accounts(ctx context.Context) ([]Account, error)
	// Account returns the account and its password hash, or ErrNoAccount.
	Account(ctx context.Context, personID string) (Account, string, error)
	// SetEnabled changes the flag; disabling ends the account's sessions.
	SetEnabled(ctx context.Context, personID string, enabled bool, by string, now time.Time) error
	// SetPassword replaces the hash, ends the account's sessions and clears
	// its sign-in failures.
	SetPassword(ctx context.Context, personID, hash, by string, now time.Time) error

	// LockedUntil is when the name's lockout ends (zero: not locked).
	LockedUntil(ctx context.Context, name string, now time.Time) (time.Time, error)
	// RecordFailure counts a failed sign-in for name — restarting the count
	// when the last failure is older than window — and locks the name until
	// now+lockFor when the count reaches max; it returns the lock's end
	// (zero: not locked).
	RecordFailure(ctx context.Context, name string, now time.Time, max int, window, lockFor time.Duration) (time.Time, error)
	ClearFailures(ctx context.Context, name string) error

	CreateSession(ctx context.Context, s Session) error
	// TouchSession returns the live session with idHash — its account
	// enabled, last seen after idleSince, not past its absolute expiry — and
	// marks it seen at now; ErrNoSession otherwise.
	TouchSession(ctx context.Context, idHash []byte, now, idleSince time.Time) (Session, error)
	DeleteSession(ctx context.Context, idHash []byte) error
	// DeleteExpiredSessions removes sessions idle since idleSince or past
	// their absolute expiry.
	DeleteExpiredSessions(ctx context.Context, now, idleSince time.Time) (int64, error)
}

// Errors the store and the service return.
var (
	ErrNoAccount = errors.New("accounts: no such account")
	ErrNoSession = errors.New("accounts: no live session")
)

// Sign-in refusals. Each is the whole answer a browser gets.
var (
	// ErrBadCredentials is a wrong password or an unknown name: the same.
	ErrBadCredentials = errors.New("用户名或密码错误")
	// ErrDisabled is a disabled account, told only with the right password.
	ErrDisabled = errors.New("该账号已停用，请联系管理员")
)

// LockedError is a name locked out after repeated failures.
type LockedError struct{ Until time.Time }

func (e *LockedError) Error() string {
	return fmt.Sprintf("连续登录失败次数过多，账号已临时锁定，请于 %s 后再试", e.Until.In(shanghai).Format("15:04"))
}

var shanghai = func() *time.Location {
	loc, err := time.LoadLocation("Asia/Shanghai")
	if err != nil {
		return time.FixedZone("CST", 8*3600)
	}
	return loc
}()

// Policy is the configured sign-in and session rules.
type Policy struct {
	// MaxFailures failed sign-ins of one name within LockoutDuration lock
	// it for LockoutDuration.
	MaxFailures     int
	LockoutDuration time.Duration
	// SessionIdle ends a session nobody used for that long; SessionMax
	// ends any session that long after sign-in.
	SessionIdle time.Duration
	SessionMax  time.Duration
	// Hashing is argon2id's cost for new passwords.
	Hashing Params
	// ConcurrentHashes bounds the argon2id computations running at once
	// (each holds Hashing.MemKiB): a burst of sign-ins, honest or not,
	// queues instead of taking the machine's memory. 0: 4.
	ConcurrentHashes int
}

// Service is the accounts' use cases.
type Service struct {
	store  Store
	policy Policy
	now    func() time.Time
	// dummy is a hash an unknown name's password is checked against, so an
	// unknown name costs what a known one does.
	dummy string
	// hashing holds a slot per argon2id computation running.
	hashing chan struct{}
}

// NewService returns the service; now is the clock (time.Now).
func NewService(store Store, policy Policy, now func() time.Time) (*Service, error) {
	dummy, err := HashPassword("no account has this password", policy.Hashing)
	if err != nil {
		return nil, err
	}
	n := policy.ConcurrentHashes
	if n <= 0 {
		n = 4
	}
	return &Service{store: store, policy: policy, now: now, dummy: dummy, hashing: make(chan struct{}, n)}, nil
}

// slot waits for a hashing slot; release it when done.
func (s *Service) slot(ctx context.Context) (release func(), err error) {
	select {
	case s.hashing <- struct{}{}:
		return func() { <-s.hashing }, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

func (s *Service) hash(ctx context.Context, password string) (string, error) {
	release, err := s.slot(ctx)
	if err != nil {
		return "", err
	}
	defer release()
	return HashPassword(password, s.policy.Hashing)
}

func (s *Service) check(ctx context.Context, hash, password string) (bool, error) {
	release, err := s.slot(ctx)
	if err != nil {
		return false, err
	}
	defer release()
	return CheckPassword(hash, password)
}

// Policy returns the rules in force.
func (s *Service) Policy() Policy { return s.policy }

// Add creates an account; by is the admin's actor.
func (s *Service) Add(ctx context.Context, n NewAccount, by string) (Account, error) {
	a, err := n.validate()
	if err != nil {
		return Account{}, err
	}
	hash, err := s.hash(ctx, n.Password)
	if err != nil {
		return Account{}, fmt.Errorf("add account: %w", err)
	}
	now := s.now()
	a.UpdatedBy, a.CreatedAt, a.UpdatedAt = by, now, now
	if err := s.store.CreateAccount(ctx, a, hash, now); err != nil {
		return Account{}, err
	}
	return a, nil
}

// List returns every account, by person id.
func (s *Service) List(ctx context.Context) ([]Account, error) { return s.store.Accounts(ctx) }

// SetEnabled enables or disables an account; disabling signs it out
// everywhere at once.
func (s *Service) SetEnabled(ctx context.Context, personID string, enabled bool, by string) error {
	if err := s.store.SetEnabled(ctx, personID, enabled, by, s.now()); err != nil {
		return notFound(personID, err)
	}
	return nil
}

// Reset gives an account a new password, signs it out everywhere and lifts
// a lockout.
func (s *Service) Reset(ctx context.Context, personID, password, by string) error {
	var vs fault.Violations
	ValidatePassword("password", password, &vs)
	if err := vs.Err(); err != nil {
		return err
	}
	hash, err := s.hash(ctx, password)
	if err != nil {
		return fmt.Errorf("reset password: %w", err)
	}
	if err := s.store.SetPassword(ctx, personID, hash, by, s.now()); err != nil {
		return notFound(personID, err)
	}
	return s.store.ClearFailures(ctx, personID)
}

func notFound(personID string, err error) error {
	if errors.Is(err, ErrNoAccount) {
		return fault.NotFoundf("accounts/"+personID, "no account %q", personID)
	}
	return err
}

// SignIn checks a name and password and opens a session. Its refusals are
// ErrBadCredentials, *LockedError and ErrDisabled (see the package doc);
// anything else is internal.
func (s *Service) SignIn(ctx context.Context, name, password string) (Session, error) {
	now := s.now()
	if name == "" || len(name) > 64 || password == "" || len(password) > MaxPasswordLen {
		// Not worth a lookup, and not worth counting: the form's own
		// checks stop these before a person sends them.
		return Session{}, ErrBadCredentials
	}
	until, err := s.store.LockedUntil(ctx, name, now)
	if err != nil {
		return Session{}, fmt.Errorf("sign in: %w", err)
	}
	if !until.IsZero() {
		return Session{}, &LockedError{Until: until}
	}
	acct, hash, err := s.store.Account(ctx, name)
	known := err == nil
	if err != nil && !errors.Is(err, ErrNoAccount) {
		return Session{}, fmt.Errorf("sign in: %w", err)
	}
	if !known {
		hash = s.dummy
	}
	ok, err := s.check(ctx, hash, password)
	if err != nil {
		return Session{}, fmt.Errorf("sign in %s: %w", name, err)
	}
	if !ok || !known {
		until, err := s.store.RecordFailure(ctx, name, now, s.policy.MaxFailures, s.policy.LockoutDuration, s.policy.LockoutDuration)
		if err != nil {
			return Session{}, fmt.Errorf("sign in: %w", err)
		}
		if !until.IsZero() {
			return Session{}, &LockedError{Until: until}
		}
		return Session{}, ErrBadCredentials
	}
	if !acct.Enabled {
		return Session{}, ErrDisabled
	}
	if err := s.store.ClearFailures(ctx, name); err != nil {
		return Session{}, fmt.Errorf("sign in: %w", err)
	}
	return s.open(ctx, acct, now)
}

// ErrNotProvisioned is a person the city's single sign-on vouched for who
// has no console account: the directory says who someone is, the console's
// account which principal they act as.
var ErrNotProvisioned = errors.New("该统一身份账号尚未开通城运中心控制台，请联系管理员")

// SignInExternal opens a session for the account with personID, whose
// identity an OIDC issuer has proven; the account must exist and be
// enabled. Passwords and their lockout play no part.
func (s *Service) SignInExternal(ctx context.Context, personID string) (Session, error) {
	acct, _, err := s.store.Account(ctx, personID)
	switch {
	case errors.Is(err, ErrNoAccount):
		return Session{}, ErrNotProvisioned
	case err != nil:
		return Session{}, fmt.Errorf("sign in: %w", err)
	case !acct.Enabled:
		return Session{}, ErrDisabled
	}
	return s.open(ctx, acct, s.now())
}

// open makes and stores a session for acct.
func (s *Service) open(ctx context.Context, acct Account, now time.Time) (Session, error) {
	id, err := randomToken()
	if err != nil {
		return Session{}, err
	}
	csrf, err := randomToken()
	if err != nil {
		return Session{}, err
	}
	sess := Session{ID: id, IDHash: HashSessionID(id), CSRF: csrf, Account: acct,
		CreatedAt: now, LastSeen: now, ExpiresAt: now.Add(s.policy.SessionMax)}
	if err := s.store.CreateSession(ctx, sess); err != nil {
		return Session{}, fmt.Errorf("sign in: %w", err)
	}
	return sess, nil
}

// Session returns the live session a cookie names and marks it used, or
// ErrNoSession (unknown, idle too long, past its absolute end, or its
// account disabled).
func (s *Service) Session(ctx context.Context, cookie string) (Session, error) {
	if cookie == "" || len(cookie) > 100 {
		return Session{}, ErrNoSession
	}
	now := s.now()
	return s.store.TouchSession(ctx, HashSessionID(cookie), now, now.Add(-s.policy.SessionIdle))
}

// SignOut ends a session.
func (s *Service) SignOut(ctx context.Context, sess Session) error {
	return s.store.DeleteSession(ctx, sess.IDHash)
}

// Sweep removes expired sessions; it returns how many.
func (s *Service) Sweep(ctx context.Context) (int64, error) {
	now := s.now()
	return s.store.DeleteExpiredSessions(ctx, now, now.Add(-s.policy.SessionIdle))
}

// randomToken is 256 random bits, base64url.
func randomToken() (string, error) {
	var b [32]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", err
	}
	return base64.RawURLEncoding.EncodeToString(b[:]), nil
}

// NewToken is a fresh random token (a pre-sign-in CSRF value).
func NewToken() (string, error) { return randomToken() }
