package auth

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"
)

// DenyList is the revoked credentials: token ids, and principals whose
// tokens issued before a time are refused (a lost device, a person who left).
//
// Its file has one revocation a line, fields separated by spaces, '#' for
// comments; `gridctl auth revoke` appends to it:
//
//	token <jti> <revoked at, RFC 3339> [reason …]
//	principal <role[:subject]> <issued before, RFC 3339> [reason …]
type DenyList struct {
	tokens     map[string]Revocation
	principals map[string]Revocation // the latest "before" per principal
}

// Revocation is one line of a deny list.
type Revocation struct {
	// Token is the revoked token id; empty for a principal's revocation.
	Token string
	// Principal's tokens issued before At are revoked; empty for a token's.
	Principal string
	// At is when the token was revoked, or the principal's cut-off.
	At     time.Time
	Reason string
}

// ErrRevoked is why a revoked token is refused.
var ErrRevoked = errors.New("token revoked")

// Len is the number of revocations in force.
func (d *DenyList) Len() int {
	if d == nil {
		return 0
	}
	return len(d.tokens) + len(d.principals)
}

// Check returns ErrRevoked, wrapped with what revoked it, when the token
// id is denied or its principal's tokens issued before a cut-off are.
func (d *DenyList) Check(jti string, p Principal, issued time.Time) error {
	if d == nil {
		return nil
	}
	if r, ok := d.tokens[jti]; ok {
		return fmt.Errorf("%w (id %s, at %s)", ErrRevoked, jti, r.At.UTC().Format(time.RFC3339))
	}
	if r, ok := d.principals[p.String()]; ok && issued.Before(r.At) {
		return fmt.Errorf("%w (tokens of %s issued before %s)", ErrRevoked, p, r.At.UTC().Format(time.RFC3339))
	}
	return nil
}

// LoadDenyList reads the deny list in path; a missing file is an empty
// list (nothing revoked yet), an unreadable line an error naming it.
func LoadDenyList(path string) (*DenyList, error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return &DenyList{}, nil
	}
	if err != nil {
		return nil, err
	}
	return ParseDenyList(bytes.NewReader(b), path)
}

// ParseDenyList reads a deny list; name is the file, for errors.
func ParseDenyList(r io.Reader, name string) (*DenyList, error) {
	d := &DenyList{tokens: map[string]Revocation{}, principals: map[string]Revocation{}}
	sc := bufio.NewScanner(r)
	for n := 1; sc.Scan(); n++ {
		line, _, _ := strings.Cut(sc.Text(), "#")
		f := strings.Fields(line)
		if len(f) == 0 {
			continue
		}
		rv, err := parseRevocation(f)
		if err != nil {
			return nil, fmt.Errorf("%s:%d: %w", name, n, err)
		}
		switch {
		case rv.Token != "":
			d.tokens[rv.Token] = rv
		case rv.At.After(d.principals[rv.Principal].At):
			d.principals[rv.Principal] = rv
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	return d, nil
}

func parseRevocation(f []string) (Revocation, error) {
	if len(f) < 3 {
		return Revocation{}, fmt.Errorf("want `token <id> <time> [reason]` or `principal <role[:subject]> <time> [reason]`")
	}
	at, err := time.Parse(time.RFC3339, f[2])
	if err != nil {
		return Revocation{}, fmt.Errorf("time %q is not RFC 3339", f[2])
	}
	rv := Revocation{At: at, Reason: strings.Join(f[3:], " ")}
	switch f[0] {
	case "token":
		rv.Token = f[1]
	case "principal":
		p, err := ParsePrincipal(f[1])
		if err != nil {
			return Revocation{}, err
		}
		rv.Principal = p.String()
	default:
		return Revocation{}, fmt.Errorf("unknown revocation %q (want token or principal)", f[0])
	}
	return rv, nil
}

// Line renders r as its deny-list line.
func (r Revocation) Line() string {
	kind, what := "token", r.Token
	if r.Token == "" {
		kind, what = "principal", r.Principal
	}
	line := kind + " " + what + " " + r.At.UTC().Format(time.RFC3339)
	if r.Reason != "" {
		line += " " + strings.Join(strings.Fields(r.Reason), " ")
	}
	return line
}

// AppendDenyList adds r to the deny list in path (creating it). Services
// see it at their next poll of the file, or on SIGHUP.
func AppendDenyList(path string, r Revocation) error {
	if (r.Token == "") == (r.Principal == "") {
		return errors.New("a revocation names a token id or a principal")
	}
	if strings.ContainsAny(r.Token, " \t\n#") {
		return fmt.Errorf("token id %q has a space or #", r.Token)
	}
	if r.Principal != "" {
		if _, err := ParsePrincipal(r.Principal); err != nil {
			return err
		}
	}
	line := r.Line()
	line, _, _ = strings.Cut(line, "#") // a reason never comments out the next line
	f, err := os.OpenFile(path, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
	if err != nil {
		return err
	}
	if _, err := fmt.Fprintln(f, line); err != nil {
		_ = f.Close()
		return err
	}
	return f.Close()
}
