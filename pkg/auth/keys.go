package auth

import (
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"
)

// Key file names inside a key directory: the first pair (made by
// EnsureKeyPair), and each pair a rotation adds, named by when it was made
// (ed25519-20261203T154012.123Z.key/.pub).
const (
	PrivateKeyFile = "dev-ed25519.key"
	PublicKeyFile  = "dev-ed25519.pub"

	rotatedPrefix = "ed25519-"
	rotatedLayout = "20060102T150405.000Z"
)

// KeyID names a public key in a token's kid header: the first 16 characters
// of the base64url SHA-256 of the key. It follows from the key alone, so a
// verifier given one key file and a signer given its private half agree.
func KeyID(pub ed25519.PublicKey) string {
	sum := sha256.Sum256(pub)
	return base64.RawURLEncoding.EncodeToString(sum[:])[:16]
}

// Key is one public key of a key set.
type Key struct {
	ID     string
	Public ed25519.PublicKey
	// File it was read from ("" when given in code).
	File string
	// Made is when a rotation made the key; zero for the first key.
	Made time.Time
	// Retires is when tokens it signed stop being accepted: the next key's
	// Made plus the overlap. Zero for the newest key (in force).
	Retires time.Time
}

// KeySet is the public keys a verifier accepts, by key id.
type KeySet struct {
	keys  map[string]Key
	order []string // oldest first
}

// NewKeySet is the set of pub alone, never retiring (tests, a single key
// file).
func NewKeySet(pub ed25519.PublicKey) *KeySet {
	id := KeyID(pub)
	return &KeySet{keys: map[string]Key{id: {ID: id, Public: pub}}, order: []string{id}}
}

// Keys lists the keys, oldest first.
func (s *KeySet) Keys() []Key {
	out := make([]Key, 0, len(s.order))
	for _, id := range s.order {
		out = append(out, s.keys[id])
	}
	return out
}

// Key returns the key named id.
func (s *KeySet) Key(id string) (Key, bool) {
	k, ok := s.keys[id]
	return k, ok
}

// LoadKeyFile is the set of the one public key in path.
func LoadKeyFile(path string) (*KeySet, error) {
	pub, err := LoadPublicKey(path)
	if err != nil {
		return nil, err
	}
	s := NewKeySet(pub)
	k := s.keys[s.order[0]]
	k.File = path
	s.keys[k.ID] = k
	return s, nil
}

// LoadKeyDir reads every public key (*.pub) in dir. Keys are ordered by
// when they were made (the first key, then rotations by the time in their
// names); every key but the newest retires overlap after its successor was
// made. A directory without a public key is an error.
func LoadKeyDir(dir string, overlap time.Duration) (*KeySet, error) {
	files, err := filepath.Glob(filepath.Join(dir, "*.pub"))
	if err != nil {
		return nil, err
	}
	var keys []Key
	for _, f := range files {
		pub, err := LoadPublicKey(f)
		if err != nil {
			return nil, err
		}
		made, err := madeOf(f)
		if err != nil {
			return nil, err
		}
		keys = append(keys, Key{ID: KeyID(pub), Public: pub, File: f, Made: made})
	}
	if len(keys) == 0 {
		return nil, fmt.Errorf("key directory %s has no public key (*.pub): run `gridctl auth keygen --key-dir %s`", dir, dir)
	}
	slices.SortStableFunc(keys, func(a, b Key) int {
		if c := a.Made.Compare(b.Made); c != 0 {
			return c
		}
		return strings.Compare(a.File, b.File)
	})
	s := &KeySet{keys: map[string]Key{}}
	for i, k := range keys {
		if i+1 < len(keys) {
			k.Retires = keys[i+1].Made.Add(overlap)
		}
		if prev, dup := s.keys[k.ID]; dup {
			return nil, fmt.Errorf("%s and %s hold the same key", prev.File, k.File)
		}
		s.keys[k.ID] = k
		s.order = append(s.order, k.ID)
	}
	return s, nil
}

// madeOf reads when a rotation made the key in file f from its name; the
// first key (any other name) is zero, older than every rotation.
func madeOf(f string) (time.Time, error) {
	name := strings.TrimSuffix(filepath.Base(f), filepath.Ext(f))
	stamp, ok := strings.CutPrefix(name, rotatedPrefix)
	if !ok {
		return time.Time{}, nil
	}
	t, err := time.Parse(rotatedLayout, stamp)
	if err != nil {
		return time.Time{}, fmt.Errorf("%s: a rotated key's name is %s<%s>: %w", f, rotatedPrefix, rotatedLayout, err)
	}
	return t, nil
}

// EnsureKeyPair creates an Ed25519 key pair in dir unless one is there. It is
// the local development key `make run` uses; production keys are provisioned.
func EnsureKeyPair(dir string) (created bool, err error) {
	if _, err := os.Stat(filepath.Join(dir, PrivateKeyFile)); err == nil {
		return false, nil
	}
	if keys, _ := filepath.Glob(filepath.Join(dir, rotatedPrefix+"*.key")); len(keys) > 0 {
		return false, nil // rotated since; the newest is the signing key
	}
	return true, writeKeyPair(dir, PrivateKeyFile, PublicKeyFile)
}

// RotateKey adds a new key pair to dir, made at now, and so makes it the
// signing key (SigningKey takes the newest). Verifiers that reload dir keep
// accepting the previous keys for their overlap. It returns the new key's id.
func RotateKey(dir string, now time.Time) (id string, err error) {
	base := rotatedPrefix + now.UTC().Format(rotatedLayout)
	if _, err := os.Stat(filepath.Join(dir, base+".pub")); err == nil {
		return "", fmt.Errorf("a key made at %s is already in %s", now.UTC().Format(rotatedLayout), dir)
	}
	if err := writeKeyPair(dir, base+".key", base+".pub"); err != nil {
		return "", err
	}
	pub, err := LoadPublicKey(filepath.Join(dir, base+".pub"))
	if err != nil {
		return "", err
	}
	return KeyID(pub), nil
}

func writeKeyPair(dir, privName, pubName string) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	pub, key, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return err
	}
	privDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return err
	}
	pubDER, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, pubName), pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pubDER}), 0o644); err != nil {
		return err
	}
	// The private key is written last so a half-made pair is never taken as whole.
	return os.WriteFile(filepath.Join(dir, privName), pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: privDER}), 0o600)
}

// SigningKey returns the private key gridctl signs with from dir: the newest
// key (the last rotation, else the first pair).
func SigningKey(dir string) (ed25519.PrivateKey, error) {
	rotated, err := filepath.Glob(filepath.Join(dir, rotatedPrefix+"*.key"))
	if err != nil {
		return nil, err
	}
	path := filepath.Join(dir, PrivateKeyFile)
	if len(rotated) > 0 {
		slices.Sort(rotated) // the layout sorts by time
		path = rotated[len(rotated)-1]
	}
	return LoadPrivateKey(path)
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
