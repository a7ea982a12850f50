package main

import (
	"bytes"
	"strings"
	"testing"

	"github.com/spf13/cobra"
)

func TestUserPasswords(t *testing.T) {
	t.Parallel()
	seen := map[string]bool{}
	for range 50 {
		pw, err := generatePassword()
		if err != nil {
			t.Fatal(err)
		}
		if len(pw) != generatedPasswordLen || strings.Trim(pw, passwordAlphabet) != "" || seen[pw] {
			t.Fatalf("generated %q: want %d characters of the alphabet, never twice", pw, generatedPasswordLen)
		}
		seen[pw] = true
	}

	cmd := &cobra.Command{}
	cmd.SetIn(strings.NewReader("a password with spaces\nsecond line\n"))
	pw, generated, err := readPassword(cmd, true)
	if err != nil || generated || pw != "a password with spaces" {
		t.Fatalf("readPassword from stdin = %q, %v, %v; want the first line", pw, generated, err)
	}
	cmd.SetIn(strings.NewReader("no newline"))
	if pw, _, err := readPassword(cmd, true); err != nil || pw != "no newline" {
		t.Fatalf("readPassword without a newline = %q, %v", pw, err)
	}
	cmd.SetIn(strings.NewReader(""))
	if _, _, err := readPassword(cmd, true); err == nil {
		t.Fatal("an empty stdin gave a password")
	}
	if pw, generated, err := readPassword(cmd, false); err != nil || !generated || len(pw) != generatedPasswordLen {
		t.Fatalf("readPassword without stdin = %q, %v, %v; want a generated one", pw, generated, err)
	}

	// No command takes a password as a flag's value.
	root := newRoot()
	root.SetOut(&bytes.Buffer{})
	for _, c := range []string{"add", "reset"} {
		sub, _, err := root.Find([]string{"user", c})
		if err != nil {
			t.Fatal(err)
		}
		if f := sub.Flags().Lookup("password"); f != nil {
			t.Errorf("user %s has a --password flag", c)
		}
	}
}
