package main

import (
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/gridflow/gridflow/pkg/auth"
)

// issueAs runs auth issue and returns the token and its id.
func issueAs(t *testing.T, keys string, args ...string) (token, id string, err error) {
	t.Helper()
	out, stderr, err := gridctl(t, append([]string{"--key-dir", keys, "auth", "issue"}, args...)...)
	if err != nil {
		return "", "", err
	}
	l := lines(out)
	_, id, _ = strings.Cut(strings.TrimSpace(stderr), ", id ")
	return l[len(l)-1], id, nil
}

// auth issue names a person on request and keeps system to services; keygen
// --rotate makes a new signing key while the old one's tokens stay valid;
// auth revoke puts a token (or a principal's tokens) on the deny list the
// services read.
func TestAuthPersonRotateRevoke(t *testing.T) {
	t.Parallel()
	keys := filepath.Join(t.TempDir(), "keys")
	if _, _, err := gridctl(t, "--key-dir", keys, "auth", "keygen"); err != nil {
		t.Fatal(err)
	}
	verifier := func() *auth.Verifier {
		ks, err := auth.LoadKeyDir(keys, time.Hour)
		if err != nil {
			t.Fatal(err)
		}
		deny, err := auth.LoadDenyList(filepath.Join(keys, "revoked"))
		if err != nil {
			t.Fatal(err)
		}
		return auth.NewKeySetVerifier(ks, deny)
	}

	wang := auth.Principal{Role: auth.RoleDispatcher, Subject: "310106022", Person: auth.Person{ID: "p-0042", Name: "王芳"}}
	tok, id, err := issueAs(t, keys, "--role", "dispatcher", "--subject", "310106022", "--person-id", "p-0042", "--person-name", "王芳")
	if err != nil {
		t.Fatal(err)
	}
	if got, err := verifier().Verify(tok); err != nil || !cmp.Equal(got, wang) {
		t.Errorf("person token: %+v, %v; want %+v", got, err, wang)
	}
	if sys, _, err := issueAs(t, keys, "--role", "system", "--service", "dispatch"); err != nil {
		t.Errorf("system --service dispatch: %v", err)
	} else if got, err := verifier().Verify(sys); err != nil || got != (auth.Principal{Role: auth.RoleSystem, Subject: "dispatch"}) {
		t.Errorf("system token: %v, %v", got, err)
	}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--role", "system"}, "--service"},
		{[]string{"--role", "system", "--subject", "dispatch"}, "--service"},
		{[]string{"--role", "system", "--service", "dispatch", "--person-id", "p-1", "--person-name", "张三"}, "never issued to a person"},
		{[]string{"--role", "hotline", "--service", "intake"}, "--role system only"},
		{[]string{"--role", "hotline", "--person-id", "p-1"}, "go together"},
		{[]string{"--role", "hotline", "--person-id", "p 1", "--person-name", "张三"}, "person id"},
	} {
		if _, _, err := issueAs(t, keys, tc.args...); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("auth issue %v: err = %v, want %q", tc.args, err, tc.want)
		}
	}

	// Rotation: the next token is signed with the new key; both verify.
	out, _, err := gridctl(t, "--key-dir", keys, "auth", "keygen", "--rotate")
	if err != nil || !strings.HasPrefix(out, "rotated: key ") {
		t.Fatalf("keygen --rotate = %q, %v", out, err)
	}
	newKey, _, _ := strings.Cut(strings.TrimPrefix(out, "rotated: key "), " ")
	fresh, _, err := issueAs(t, keys, "--role", "hotline")
	if err != nil {
		t.Fatal(err)
	}
	ks, _ := auth.LoadKeyDir(keys, time.Hour)
	if n := len(ks.Keys()); n != 2 || ks.Keys()[1].ID != newKey {
		t.Errorf("keys after a rotation: %+v; want 2, the newest %s", ks.Keys(), newKey)
	}
	v := verifier()
	for name, x := range map[string]string{"old key": tok, "new key": fresh} {
		if _, err := v.Verify(x); err != nil {
			t.Errorf("%s after the rotation: %v", name, err)
		}
	}
	if _, err := auth.NewVerifier(mustPub(t, filepath.Join(keys, auth.PublicKeyFile))).Verify(fresh); err == nil {
		t.Error("a token of the rotated key verifies with the first key")
	}
	if out, _, err := gridctl(t, "--key-dir", keys, "auth", "keygen"); err != nil || !strings.HasPrefix(out, "kept existing") {
		t.Errorf("keygen after a rotation = %q, %v; want it to keep the keys", out, err)
	}

	// Revocation by id, then by principal. The deny list is named: a
	// GRIDFLOW_AUTH_DENY_LIST_FILE in the environment (a developer's stack)
	// would otherwise win over <key-dir>/revoked.
	denyList := filepath.Join(keys, "revoked")
	if out, _, err := gridctl(t, "--key-dir", keys, "auth", "revoke", "--deny-list", denyList, "--id", id, "--reason", "phone lost"); err != nil || !strings.Contains(out, "revoked: token "+id) {
		t.Fatalf("revoke --id = %q, %v", out, err)
	}
	if _, err := verifier().Verify(tok); !errors.Is(err, auth.ErrRevoked) {
		t.Errorf("revoked token: err = %v", err)
	}
	if _, err := verifier().Verify(fresh); err != nil {
		t.Errorf("another token: %v", err)
	}
	if _, _, err := gridctl(t, "--key-dir", keys, "auth", "revoke", "--deny-list", denyList, "--principal", "hotline", "--before", time.Now().Add(time.Minute).Format(time.RFC3339)); err != nil {
		t.Fatal(err)
	}
	if _, err := verifier().Verify(fresh); !errors.Is(err, auth.ErrRevoked) {
		t.Errorf("hotline's tokens revoked: err = %v", err)
	}
	for _, args := range [][]string{{}, {"--id", "a", "--principal", "hotline"}, {"--id", "a", "--before", "2026-12-03T00:00:00Z"}, {"--principal", "mayor"}, {"--principal", "hotline", "--before", "today"}} {
		if _, _, err := gridctl(t, append([]string{"--key-dir", keys, "auth", "revoke", "--deny-list", denyList}, args...)...); err == nil {
			t.Errorf("auth revoke %v succeeded", args)
		}
	}
}

func mustPub(t *testing.T, path string) []byte {
	t.Helper()
	pub, err := auth.LoadPublicKey(path)
	if err != nil {
		t.Fatal(err)
	}
	return pub
}
