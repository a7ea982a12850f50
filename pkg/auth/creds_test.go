package auth

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"errors"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/google/go-cmp/cmp"
)

func TestPersonClaims(t *testing.T) {
	t.Parallel()
	pub, priv, _ := ed25519.GenerateKey(rand.Reader)
	s, v := NewSigner(priv), NewVerifier(pub)
	p := Principal{Role: RoleDispatcher, Subject: "310106022", Person: Person{ID: "p-0042", Name: "王芳"}}
	tok, id, err := s.IssueWithID(p, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	if id == "" {
		t.Error("IssueWithID returned no token id")
	}
	got, err := v.Verify(tok)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(p, got); diff != "" {
		t.Errorf("mismatch (-want +got):\n%s", diff)
	}
	if got.String() != "dispatcher:310106022" {
		t.Errorf("String = %q: request ids stay scoped to the principal alone", got.String())
	}
	if got.Actor() != "dispatcher:310106022 (p-0042 王芳)" {
		t.Errorf("Actor = %q", got.Actor())
	}

	for _, actor := range []string{"dispatcher:310106022 (p-0042 王芳)", "hotline (a-7 Li Lei (night shift))", "hotline", "system:dispatch"} {
		principal, person := SplitActor(actor)
		back := Principal{Person: person}
		pp, _ := ParsePrincipal(principal)
		back.Role, back.Subject = pp.Role, pp.Subject
		if back.Actor() != actor {
			t.Errorf("SplitActor(%q) = %q, %+v; does not read back", actor, principal, person)
		}
	}

	// Two tokens for one principal have different ids.
	_, id2, _ := s.IssueWithID(p, time.Hour)
	if id == id2 {
		t.Errorf("two tokens share the id %s", id)
	}

	for name, person := range map[string]Person{
		"no id":      {Name: "王芳"},
		"no name":    {ID: "p-1"},
		"space":      {ID: "p 1", Name: "王芳"},
		"paren":      {ID: "p(1)", Name: "王芳"},
		"long name":  {ID: "p-1", Name: strings.Repeat("王", 65)},
		"control":    {ID: "p-1", Name: "王\n芳"},
		"bad utf8":   {ID: "p-1", Name: "\xff"},
		"blank name": {ID: "p-1", Name: "  "},
	} {
		if _, err := s.Issue(Principal{Role: RoleHotline, Person: person}, time.Hour); err == nil {
			t.Errorf("%s: Issue(%+v) succeeded", name, person)
		}
	}
}

// System is for service-to-service calls only: a token names a service and
// never a person, at issue and — for a token minted elsewhere — at
// verification.
func TestSystemTokens(t *testing.T) {
	t.Parallel()
	pub, priv, _ := ed25519.GenerateKey(rand.Reader)
	s, v := NewSigner(priv), NewVerifier(pub)
	if tok, err := s.Issue(Principal{Role: RoleSystem, Subject: "dispatch"}, time.Hour); err != nil {
		t.Fatal(err)
	} else if got, err := v.Verify(tok); err != nil || got.Role != RoleSystem {
		t.Errorf("a service's system token: %v, %v", got, err)
	}
	if _, err := s.Issue(Principal{Role: RoleSystem}, time.Hour); err == nil {
		t.Error("a system token naming no service was issued")
	}
	if _, err := s.Issue(Principal{Role: RoleSystem, Subject: "dispatch", Person: Person{ID: "p-1", Name: "张三"}}, time.Hour); err == nil ||
		!strings.Contains(err.Error(), "never names a person") {
		t.Errorf("a system token for a person: err = %v", err)
	}
	forged := mint(t, priv, KeyID(pub), jwt.MapClaims{"sub": "system:dispatch", "person": map[string]string{"id": "p-1", "name": "张三"}})
	if _, err := v.Verify(forged); !errors.Is(err, ErrInvalidToken) || !strings.Contains(err.Error(), "never names a person") {
		t.Errorf("verifying a system token with a person: err = %v", err)
	}
}

// mint signs claims (iss, jti, iat and exp filled in unless set) with kid in
// the header: tokens gridflow's Signer would not make.
func mint(t *testing.T, key ed25519.PrivateKey, kid string, c jwt.MapClaims) string {
	t.Helper()
	now := time.Now()
	for k, v := range map[string]any{"iss": issuer, "jti": "forged-1", "iat": now.Unix(), "exp": now.Add(time.Hour).Unix()} {
		if _, ok := c[k]; !ok {
			c[k] = v
		}
	}
	tok := jwt.NewWithClaims(jwt.SigningMethodEdDSA, c)
	if kid != "" {
		tok.Header["kid"] = kid
	}
	s, err := tok.SignedString(key)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestTokenNeedsKeyIDAndTokenID(t *testing.T) {
	t.Parallel()
	pub, priv, _ := ed25519.GenerateKey(rand.Reader)
	v := NewVerifier(pub)
	exp := time.Now().Add(time.Hour).Unix()
	for name, tc := range map[string]struct {
		kid  string
		c    jwt.MapClaims
		want string
	}{
		"no kid":      {"", jwt.MapClaims{"sub": "hotline"}, "names no key"},
		"unknown kid": {"nope", jwt.MapClaims{"sub": "hotline"}, "not in the key set"},
		"no jti":      {KeyID(pub), jwt.MapClaims{"sub": "hotline", "jti": ""}, "no id (jti)"},
	} {
		if _, err := v.Verify(mint(t, priv, tc.kid, tc.c)); !errors.Is(err, ErrInvalidToken) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: err = %v, want %q", name, err, tc.want)
		}
	}
	noIAT := jwt.NewWithClaims(jwt.SigningMethodEdDSA, jwt.MapClaims{"sub": "hotline", "iss": issuer, "jti": "x", "exp": exp})
	noIAT.Header["kid"] = KeyID(pub)
	tok, _ := noIAT.SignedString(priv)
	if _, err := v.Verify(tok); err == nil || !strings.Contains(err.Error(), "no issue time") {
		t.Errorf("no iat: err = %v", err)
	}
}

// Rotation: keygen's first pair, then a rotation; the newest key signs,
// and the previous one is accepted until its successor's age passes the
// overlap, then refused (cached or not).
func TestKeyRotation(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	if _, err := EnsureKeyPair(dir); err != nil {
		t.Fatal(err)
	}
	first, err := SigningKey(dir)
	if err != nil {
		t.Fatal(err)
	}
	made := time.Now().Add(-30 * time.Minute).Truncate(time.Millisecond)
	newID, err := RotateKey(dir, made)
	if err != nil {
		t.Fatal(err)
	}
	if created, _ := EnsureKeyPair(dir); created {
		t.Error("EnsureKeyPair made a pair in a directory that has keys")
	}
	second, err := SigningKey(dir)
	if err != nil {
		t.Fatal(err)
	}
	if got := NewSigner(second).KeyID(); got != newID {
		t.Fatalf("SigningKey is key %s, want the rotated %s", got, newID)
	}
	oldID := NewSigner(first).KeyID()

	ks, err := LoadKeyDir(dir, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, k := range ks.Keys() {
		got = append(got, k.ID+" "+k.Retires.Format(time.RFC3339Nano))
	}
	want := []string{oldID + " " + made.Add(time.Hour).Format(time.RFC3339Nano), newID + " " + time.Time{}.Format(time.RFC3339Nano)}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("keys (id, retires) mismatch (-want +got):\n%s", diff)
	}

	v := NewKeySetVerifier(ks, nil)
	p := Principal{Role: RoleHotline}
	oldTok, _ := NewSigner(first).Issue(p, 2*time.Hour)
	newTok, _ := NewSigner(second).Issue(p, 2*time.Hour)
	for name, tok := range map[string]string{"old key in its overlap": oldTok, "new key": newTok} {
		if _, err := v.Verify(tok); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
	v.now = func() time.Time { return made.Add(time.Hour) } // the overlap is over
	if _, err := v.Verify(oldTok); !errors.Is(err, ErrInvalidToken) || !strings.Contains(err.Error(), "retired") {
		t.Errorf("old key after its overlap (cached token): err = %v, want retired", err)
	}
	if _, err := v.Verify(newTok); err != nil {
		t.Errorf("new key after the overlap: %v", err)
	}

	// A second rotation retires the middle key overlap after it.
	third := made.Add(10 * time.Minute)
	if _, err := RotateKey(dir, third); err != nil {
		t.Fatal(err)
	}
	ks, _ = LoadKeyDir(dir, 0)
	if k, _ := ks.Key(newID); !k.Retires.Equal(third) {
		t.Errorf("middle key retires %v, want %v (no overlap)", k.Retires, third)
	}
	v.Replace(ks, nil)
	v.now = time.Now
	if _, err := v.Verify(newTok); err == nil {
		t.Error("a key retired by a reload still verifies its cached token")
	}

	// A key dropped from the directory is refused at once.
	if err := os.Remove(filepath.Join(dir, PublicKeyFile)); err != nil {
		t.Fatal(err)
	}
	ks, _ = LoadKeyDir(dir, 24*time.Hour)
	v.Replace(ks, nil)
	if _, err := v.Verify(oldTok); err == nil || !strings.Contains(err.Error(), "not in the key set") {
		t.Errorf("removed key: err = %v", err)
	}
	if _, err := LoadKeyDir(t.TempDir(), time.Hour); err == nil {
		t.Error("an empty key directory loaded")
	}
}

func TestDenyList(t *testing.T) {
	t.Parallel()
	pub, priv, _ := ed25519.GenerateKey(rand.Reader)
	s := NewSigner(priv)
	v := NewVerifier(pub)
	w17 := Principal{Role: RolePatrol, Subject: "w-0017"}
	tok, id, _ := s.IssueWithID(w17, time.Hour)
	other, _, _ := s.IssueWithID(w17, time.Hour)
	hotline, _, _ := s.IssueWithID(Principal{Role: RoleHotline}, time.Hour)
	for _, x := range []string{tok, other, hotline} {
		if _, err := v.Verify(x); err != nil { // cached from here on
			t.Fatal(err)
		}
	}

	path := filepath.Join(t.TempDir(), "revoked")
	if d, err := LoadDenyList(path); err != nil || d.Len() != 0 {
		t.Fatalf("a missing deny list = %v, %v; want empty", d, err)
	}
	if err := AppendDenyList(path, Revocation{Token: id, At: time.Now(), Reason: "phone lost # on the bus"}); err != nil {
		t.Fatal(err)
	}
	d, err := LoadDenyList(path)
	if err != nil {
		t.Fatal(err)
	}
	v.Replace(v.keys, d)
	if _, err := v.Verify(tok); !errors.Is(err, ErrRevoked) || !errors.Is(err, ErrInvalidToken) || !strings.Contains(err.Error(), "token revoked") {
		t.Errorf("revoked id: err = %v", err)
	}
	if _, err := v.Verify(other); err != nil {
		t.Errorf("another token of the same principal: %v", err)
	}

	// A principal's tokens issued before the cut-off go; later ones stay.
	cut := time.Now().Add(time.Second)
	if err := AppendDenyList(path, Revocation{Principal: "patrol:w-0017", At: cut, Reason: "left the team"}); err != nil {
		t.Fatal(err)
	}
	d, _ = LoadDenyList(path)
	v.Replace(v.keys, d)
	if _, err := v.Verify(other); !errors.Is(err, ErrRevoked) {
		t.Errorf("principal revoked: err = %v", err)
	}
	if _, err := v.Verify(hotline); err != nil {
		t.Errorf("another principal: %v", err)
	}
	if err := d.Check("x", w17, cut.Add(time.Second)); err != nil {
		t.Errorf("a token issued after the cut-off: %v", err)
	}
	if d.Len() != 2 {
		t.Errorf("Len = %d, want 2", d.Len())
	}

	for _, tc := range []struct{ in, want string }{
		{"token abc", "want `token"},
		{"token abc yesterday", "not RFC 3339"},
		{"person p-1 2026-12-03T00:00:00Z", "unknown revocation"},
		{"principal mayor:x 2026-12-03T00:00:00Z", "unknown role"},
		{"# fine\n\ntoken a 2026-12-03T00:00:00Z why\nprincipal patrol 2026-12-03T00:00:00Z", "revoked:4:"},
	} {
		if _, err := ParseDenyList(strings.NewReader(tc.in), "revoked"); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("ParseDenyList(%q) err = %v, want %q", tc.in, err, tc.want)
		}
	}
	if err := AppendDenyList(path, Revocation{Token: "a b", At: time.Now()}); err == nil {
		t.Error("a token id with a space was appended")
	}
}

// Live reloads the key directory and the deny list on Refresh (SIGHUP) and
// when Poll sees a file change; a broken file keeps what is in force.
func TestLive(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	if _, err := EnsureKeyPair(dir); err != nil {
		t.Fatal(err)
	}
	denyFile := filepath.Join(dir, "revoked")
	l, err := NewLive(Source{KeyDir: dir, Overlap: time.Hour, DenyListFile: denyFile})
	if err != nil {
		t.Fatal(err)
	}
	key, _ := SigningKey(dir)
	tok, id, _ := NewSigner(key).IssueWithID(Principal{Role: RoleAdmin}, time.Hour)
	if _, err := l.Verifier().Verify(tok); err != nil {
		t.Fatal(err)
	}

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- l.Poll(ctx, 10*time.Millisecond, slog.New(slog.NewTextHandler(io.Discard, nil))) }()
	if err := AppendDenyList(denyFile, Revocation{Token: id, At: time.Now()}); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		if _, err := l.Verifier().Verify(tok); errors.Is(err, ErrRevoked) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the poll did not pick up the revocation")
		}
		time.Sleep(10 * time.Millisecond)
	}
	cancel()
	<-done

	// A broken deny list fails the reload and keeps the list in force.
	if err := os.WriteFile(denyFile, []byte("token\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := l.Refresh(context.Background()); err == nil || !strings.Contains(err.Error(), "revoked:1") {
		t.Errorf("Refresh of a broken deny list: err = %v", err)
	}
	if _, err := l.Verifier().Verify(tok); !errors.Is(err, ErrRevoked) {
		t.Errorf("after a failed reload: err = %v, want still revoked", err)
	}
	if _, err := NewLive(Source{}); err == nil {
		t.Error("NewLive without keys succeeded")
	}
}
