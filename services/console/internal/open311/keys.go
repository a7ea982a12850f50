package open311

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/gridflow/gridflow/pkg/auth"
	"github.com/gridflow/gridflow/pkg/fault"
)

// An api_key is "o311_" + 43 characters of base64url (32 random bytes).
// The console keeps its SHA-256 only: the key is random, not a password, so
// a fast hash is enough to make a stolen table useless, and it lets a key
// be found by its hash. Each key has an id (k + 12 hex digits), the
// subject of its principal public:<id>, which logs and audit lines name
// instead of the key.
const keyPrefix = "o311_"

// Key is an issued api_key as the console keeps it.
type Key struct {
	ID        string    `json:"key_id"`
	Name      string    `json:"name"`
	CreatedBy string    `json:"created_by"`
	CreatedAt time.Time `json:"created_at"`
	Revoked   bool      `json:"revoked"`
}

// Principal is the key's principal, public:<id>.
func (k Key) Principal() auth.Principal { return auth.Principal{Role: auth.RolePublic, Subject: k.ID} }

// KeyStore keeps the keys (internal/postgres).
type KeyStore interface {
	CreateKey(ctx context.Context, k Key, hash []byte) error
	// KeyByHash returns the live key with hash; NOT_FOUND when none.
	KeyByHash(ctx context.Context, hash []byte) (Key, error)
	ListKeys(ctx context.Context) ([]Key, error)
	RevokeKey(ctx context.Context, id string, at time.Time) error
}

// Keys issues and checks api_keys.
type Keys struct {
	Store KeyStore
	Now   func() time.Time
}

func hashKey(key string) []byte {
	h := sha256.Sum256([]byte(key))
	return h[:]
}

// Issue makes a key named name and returns it with the api_key, which is
// shown this once.
func (ks Keys) Issue(ctx context.Context, name string, by auth.Principal) (Key, string, error) {
	name = strings.TrimSpace(name)
	var vs fault.Violations
	switch {
	case name == "":
		vs.Add("name", "is required: who the key is for")
	case !utf8.ValidString(name) || utf8.RuneCountInString(name) > 100:
		vs.Add("name", "must be valid UTF-8 of at most 100 characters")
	}
	if err := vs.Err(); err != nil {
		return Key{}, "", err
	}
	var id [6]byte
	var secret [32]byte
	_, _ = rand.Read(id[:])
	_, _ = rand.Read(secret[:])
	k := Key{ID: "k" + hex.EncodeToString(id[:]), Name: name, CreatedBy: by.Actor(), CreatedAt: ks.Now().UTC()}
	key := keyPrefix + base64.RawURLEncoding.EncodeToString(secret[:])
	if err := ks.Store.CreateKey(ctx, k, hashKey(key)); err != nil {
		return Key{}, "", err
	}
	return k, key, nil
}

// Check returns the live key an api_key is: UNAUTHENTICATED when none was
// given, PERMISSION_DENIED for one that is not a live key (Open311's 403
// "invalid api_key").
func (ks Keys) Check(ctx context.Context, key string) (Key, error) {
	if key == "" {
		return Key{}, fault.New(fault.Unauthenticated, "api_key is required")
	}
	if !strings.HasPrefix(key, keyPrefix) || len(key) > 128 {
		return Key{}, fault.New(fault.PermissionDenied, "invalid api_key")
	}
	k, err := ks.Store.KeyByHash(ctx, hashKey(key))
	if fault.KindOf(err) == fault.NotFound {
		return Key{}, fault.New(fault.PermissionDenied, "invalid api_key")
	}
	return k, err
}
