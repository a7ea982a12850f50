package accounts

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"
)

// cheap keeps the tests fast; DefaultParams is what the console uses.
var cheap = Params{Time: 1, MemKiB: 1024, Threads: 1}

func TestPasswordHash(t *testing.T) {
	t.Parallel()
	h, err := HashPassword("correct horse battery", cheap)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(h, "$argon2id$v=19$m=1024,t=1,p=1$") {
		t.Fatalf("hash %q is not an argon2id PHC string with its parameters", h)
	}
	if strings.Contains(h, "correct horse") {
		t.Fatal("the hash contains the password")
	}
	h2, _ := HashPassword("correct horse battery", cheap)
	if h == h2 {
		t.Fatal("two hashes of one password are equal: no random salt")
	}
	for _, tc := range []struct {
		pw   string
		want bool
	}{{"correct horse battery", true}, {"correct horse batterY", false}, {"", false}} {
		ok, err := CheckPassword(h, tc.pw)
		if err != nil || ok != tc.want {
			t.Errorf("CheckPassword(%q) = %v, %v; want %v", tc.pw, ok, err, tc.want)
		}
	}
	for _, bad := range []string{"", "$argon2i$v=19$m=1024,t=1,p=1$c2FsdA$aGFzaA", "$argon2id$v=19$m=1024,t=0,p=1$c2FsdA$aGFzaA", "plain"} {
		if _, err := CheckPassword(bad, "x"); err == nil {
			t.Errorf("CheckPassword accepted malformed hash %q", bad)
		}
	}
}

func TestNewAccountValidation(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name  string
		in    NewAccount
		field string
	}{
		{"system principal", NewAccount{PersonID: "zj-07", Name: "王芳", Principal: "system:intake", Password: "long enough pw"}, "principal"},
		{"unknown role", NewAccount{PersonID: "zj-07", Name: "王芳", Principal: "mayor", Password: "long enough pw"}, "principal"},
		{"no subject", NewAccount{PersonID: "zj-07", Name: "王芳", Principal: "dispatcher", Password: "long enough pw"}, "principal"},
		{"short password", NewAccount{PersonID: "zj-07", Name: "王芳", Principal: "dispatcher:310106022", Password: "short"}, "password"},
		{"space in id", NewAccount{PersonID: "zj 07", Name: "王芳", Principal: "dispatcher:310106022", Password: "long enough pw"}, "person_id"},
		{"no name", NewAccount{PersonID: "zj-07", Name: " ", Principal: "dispatcher:310106022", Password: "long enough pw"}, "name"},
	} {
		_, err := tc.in.validate()
		if err == nil || !strings.Contains(err.Error(), tc.field+": ") {
			t.Errorf("%s: err = %v, want a violation of %s", tc.name, err, tc.field)
		}
	}
	a, err := NewAccount{PersonID: "zj-07", Name: "王芳", Principal: "dispatcher:310106022", Password: "long enough pw"}.validate()
	if err != nil {
		t.Fatal(err)
	}
	if got := a.Acting().Actor(); got != "dispatcher:310106022 (zj-07 王芳)" {
		t.Fatalf("actor = %q", got)
	}
}

func TestHashingIsBounded(t *testing.T) {
	t.Parallel()
	s, err := NewService(nil, Policy{Hashing: cheap, ConcurrentHashes: 1}, nil)
	if err != nil {
		t.Fatal(err)
	}
	release, err := s.slot(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if _, err := s.check(ctx, s.dummy, "x"); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("a second computation while the only slot is held: %v, want it to wait until its deadline", err)
	}
	release()
	if ok, err := s.check(context.Background(), s.dummy, "x"); err != nil || ok {
		t.Fatalf("after release: %v, %v", ok, err)
	}
}
