// Package auth names who is calling. Tokens are Ed25519-signed JWTs whose
// subject is a principal "role[:subject]" (DESIGN.md: hotline, patrol:<worker>,
// secretary:<community>, dispatcher:<street>, district:<district>,
// department:<code>, admin, and system:<service> for service-to-service
// calls; gridleader:<grid>, a grid's leader, since issue 20). Beside the principal a token may name the person behind it (an
// id and a name), which the audit trail records as the actor.
//
// Every token has an id (jti), which a deny list can revoke, and names the
// key that signed it (kid in the header). Services hold a set of public keys
// (a key directory): a new key becomes the signing key, and the key it
// replaces stays valid for a configured overlap, then is refused. The key
// set and the deny list are reloaded on SIGHUP and when their files change
// (Live). Services hold only public keys; gridctl and trusted systems hold
// the private ones.
package auth

import (
	"context"
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Role is what a principal may do.
type Role string

// The roles of DESIGN.md. System is for service-to-service calls.
const (
	RoleHotline    Role = "hotline"
	RolePatrol     Role = "patrol"
	RoleSecretary  Role = "secretary"
	RoleDispatcher Role = "dispatcher"
	RoleDistrict   Role = "district"
	RoleDepartment Role = "department"
	RoleAdmin      Role = "admin"
	RoleSystem     Role = "system"
	// RolePublic is a member of the public through the Open311 door
	// (issue 19): public:<key id>, the api_key an admin issued.
	RolePublic Role = "public"
	// RoleGridLeader is a grid's leader (网格长, issue 20): gridleader:<grid>,
	// the grid's 15-digit code. It reads its grid's cases and checks its
	// workers' self-disposals.
	RoleGridLeader Role = "gridleader"
)

// needsSubject says whether a role must name a subject (a worker, a street …).
var needsSubject = map[Role]bool{
	RoleHotline: false, RolePatrol: true, RoleSecretary: true, RoleDispatcher: true,
	RoleDistrict: true, RoleDepartment: true, RoleAdmin: false, RoleSystem: true,
	RolePublic: true, // Open311 (issue 19)
	// Self-disposal (issue 20): a grid's leader.
	RoleGridLeader: true,
}

// Principal is an authenticated caller: a role, its subject, and the person
// the credential was issued to, when it names one.
type Principal struct {
	Role    Role
	Subject string
	// Person is who holds the credential (a dispatcher on duty, a hotline
	// agent); zero when the token names no one. It never widens or narrows
	// what the principal may do: it is recorded, not authorised.
	Person Person
}

// Person is the human a credential was issued to.
type Person struct {
	ID   string `json:"id"`
	Name string `json:"name"`
}

// IsZero reports whether no person is named.
func (p Person) IsZero() bool { return p == Person{} }

// maxPersonLen bounds a person's id (bytes) and name (characters).
const maxPersonLen = 64

// Validate checks a named person: an id without spaces or parentheses and a
// printable name, both required and at most 64 long.
func (p Person) Validate() error {
	switch {
	case p.ID == "":
		return fmt.Errorf("person id is empty")
	case len(p.ID) > maxPersonLen:
		return fmt.Errorf("person id is longer than %d bytes", maxPersonLen)
	case !utf8.ValidString(p.ID) || strings.ContainsFunc(p.ID, func(r rune) bool { return unicode.IsSpace(r) || !unicode.IsPrint(r) || r == '(' || r == ')' }):
		return fmt.Errorf("person id %q has a space, a parenthesis or an unprintable character", p.ID)
	case strings.TrimSpace(p.Name) == "":
		return fmt.Errorf("person name is empty")
	case !utf8.ValidString(p.Name):
		return fmt.Errorf("person name is not valid UTF-8")
	case utf8.RuneCountInString(p.Name) > maxPersonLen:
		return fmt.Errorf("person name is longer than %d characters", maxPersonLen)
	case strings.ContainsFunc(p.Name, func(r rune) bool { return !unicode.IsPrint(r) && r != ' ' }):
		return fmt.Errorf("person name %q has an unprintable character", p.Name)
	}
	return nil
}

// String renders "role" or "role:subject"; it is the scope of request ids.
func (p Principal) String() string {
	if p.Subject == "" {
		return string(p.Role)
	}
	return string(p.Role) + ":" + p.Subject
}

// Actor is the principal as the audit trail records it: String, followed
// by " (<person id> <person name>)" when a person is named. Actors are
// stored as text in every service's tables and events; SplitActor reads
// one back. Request ids stay scoped to String, the principal alone.
func (p Principal) Actor() string {
	if p.Person.IsZero() {
		return p.String()
	}
	return p.String() + " (" + p.Person.ID + " " + p.Person.Name + ")"
}

// SplitActor is Actor's inverse: the principal ("role[:subject]") and the
// person, zero when the actor names none.
func SplitActor(actor string) (principal string, person Person) {
	principal, rest, ok := strings.Cut(actor, " (")
	if !ok || !strings.HasSuffix(rest, ")") {
		return actor, Person{}
	}
	id, name, _ := strings.Cut(strings.TrimSuffix(rest, ")"), " ")
	return principal, Person{ID: id, Name: name}
}

// ParsePrincipal parses "role[:subject]" and checks the role's subject rule.
func ParsePrincipal(s string) (Principal, error) {
	role, subject, _ := strings.Cut(s, ":")
	p := Principal{Role: Role(role), Subject: subject}
	return p, p.Validate()
}

// Validate checks the role is known and has a subject exactly when it needs one.
func (p Principal) Validate() error {
	need, ok := needsSubject[p.Role]
	switch {
	case !ok:
		return fmt.Errorf("unknown role %q (want one of hotline, patrol, secretary, dispatcher, district, department, admin, system, public, gridleader)", p.Role)
	case need && p.Subject == "":
		return fmt.Errorf("role %s needs a subject (e.g. %s:<id>)", p.Role, p.Role)
	case !need && p.Subject != "":
		return fmt.Errorf("role %s takes no subject", p.Role)
	case strings.ContainsAny(p.Subject, " \t\n:"):
		return fmt.Errorf("subject %q has a space or colon", p.Subject)
	case p.Role == RoleGridLeader && !isGridCode(p.Subject):
		// Self-disposal (issue 20): the leader's reach is a grid's cases.
		return fmt.Errorf("role gridleader needs a 15-digit grid code as its subject, not %q", p.Subject)
	case p.Person.IsZero():
		return nil
	case p.Role == RoleSystem:
		// Settled (issue 14): system is for service-to-service calls only.
		return fmt.Errorf("role system is for service-to-service calls and never names a person")
	}
	return p.Person.Validate()
}

type ctxKey struct{}

// WithPrincipal returns ctx carrying p.
func WithPrincipal(ctx context.Context, p Principal) context.Context {
	return context.WithValue(ctx, ctxKey{}, p)
}

// FromContext returns the caller, if the auth interceptor found one.
func FromContext(ctx context.Context) (Principal, bool) {
	p, ok := ctx.Value(ctxKey{}).(Principal)
	return p, ok
}

// isGridCode reports whether s is a grid code: 15 digits (community + 3).
func isGridCode(s string) bool {
	if len(s) != 15 {
		return false
	}
	for _, r := range s {
		if r < '0' || r > '9' {
			return false
		}
	}
	return true
}
