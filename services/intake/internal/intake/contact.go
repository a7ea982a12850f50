package intake

import (
	"context"
	"time"

	"github.com/gridflow/gridflow/pkg/address"
	"github.com/gridflow/gridflow/pkg/auth"
	"github.com/gridflow/gridflow/pkg/caseref"
	"github.com/gridflow/gridflow/pkg/fault"
	"github.com/gridflow/gridflow/pkg/policy"
	"github.com/gridflow/gridflow/pkg/redact"
	"github.com/gridflow/gridflow/pkg/reference"
)

// The caller's contact is personal data (DESIGN.md, "Who may see and do
// what"): intake alone keeps it in clear, every event and every read masks
// it (Masked, redact.Envelope), and the full contact leaves only through
// ReadContact, which is audited by a case.contact_read event.

// Masked is the submission as every reader sees it, admin and the hotline
// included: the caller's name and phone masked (王**, 138****5678) — or,
// for an anonymous caller, absent, with the address only down to the road
// and lane and the point coarsened to a block — and phone numbers typed in
// any free text masked. s is not changed.
func (s *Submission) Masked() *Submission {
	m := *s
	anonymous := s.WorkOrder != nil && s.WorkOrder.Anonymous
	if wo := s.WorkOrder; wo != nil {
		w := *wo
		if anonymous {
			w.CallerName, w.CallerPhone = "", ""
			w.Address = redact.AnonymousAddress(s.Address).Raw
			w.Location = coarse(w.Location)
		} else {
			w.CallerName, w.CallerPhone = redact.Name(w.CallerName), redact.Phone(w.CallerPhone)
		}
		w.Title, w.Content, w.Answer = redact.Text(w.Title), redact.Text(w.Content), redact.Text(w.Answer)
		m.WorkOrder = &w
	}
	if anonymous {
		m.Address = redact.AnonymousAddress(s.Address)
		m.Location = coarse(s.Location)
	}
	if r := s.Patrol; r != nil {
		p := *r
		p.Description = redact.Text(p.Description)
		m.Patrol = &p
	}
	if sd := s.SelfDisposal; sd != nil { // self-disposal (issue 20): free text, masked as the description
		d := *sd
		d.Note = redact.Text(d.Note)
		m.SelfDisposal = &d
	}
	if r := s.Public; r != nil { // Open311 (issue 19)
		p := *r
		p.Description, p.Address = redact.Text(p.Description), redact.Text(p.Address)
		m.Public = &p
	}
	if is := s.Issue; is != nil {
		i := *is
		i.Title, i.Content = redact.Text(i.Title), redact.Text(i.Content)
		m.Issue = &i
	}
	if len(s.FollowUps) > 0 {
		m.FollowUps = make([]FollowUp, len(s.FollowUps))
		for i, f := range s.FollowUps {
			f.Text = redact.Text(f.Text)
			m.FollowUps[i] = f
		}
	}
	return &m
}

func coarse(p *LatLng) *LatLng {
	if p == nil {
		return nil
	}
	c := *p
	c.Lat, c.Lng = redact.AnonymousPoint(p.Lat, p.Lng)
	return &c
}

// Contact is a hotline caller's full contact, as ReadContact gives it.
type Contact struct {
	Name, Phone string
	Anonymous   bool
	NoCallback  bool
	// Address is the address as the caller gave it; Normalised as intake
	// read it.
	Address    string
	Normalised address.Record
}

// Grant is why a reader may read a contact: the exception of DESIGN.md it
// falls under. It is recorded with every read.
type Grant string

// Grants.
const (
	GrantHotline          Grant = "hotline"
	GrantStreetDispatcher Grant = "street_dispatcher"
	GrantLeadDepartment   Grant = "lead_department"
	GrantCoHandler        Grant = "co_handler_department"
	GrantAdmin            Grant = "admin"
)

// TaskHolder is a department holding an open task on a case, as intake
// learns it from dispatch's task events.
type TaskHolder struct {
	TaskID, Department string
	Lead               bool
}

// ContactRead is one audited read of a caller's contact: it becomes the
// case.contact_read event, committed before the contact is answered.
type ContactRead struct {
	CaseID, CaseNumber string
	Area               Area
	// Reader is the principal with the person its credential named
	// (auth.Principal.Actor).
	Reader string
	Grant  Grant
	At     time.Time
}

// ContactStore is what ReadContact needs beside Get.
type ContactStore interface {
	// OpenTasks lists the departments holding an open task on the case.
	OpenTasks(ctx context.Context, caseID string) ([]TaskHolder, error)
	// RecordContactRead commits r's event to the outbox.
	RecordContactRead(ctx context.Context, r ContactRead) error
}

// mayReadContact is the whole rule of who may read a caller's full contact
// (DESIGN.md, "Who may see and do what"; the issue's "Personal data"):
//
//   - the hotline, for every hotline case — and it alone for an anonymous
//     caller;
//   - the dispatcher of the case's street (dispatcher:<street code>);
//   - a department holding an open task on the case, lead or co-handler
//     (department:<code>); a task rejected, forwarded, withdrawn or
//     completed is not open;
//   - admin, audited like everyone else.
//
// Everyone else — district desks, secretaries, patrol workers, system
// callers, a dispatcher of another street, a department whose task is
// closed — is refused. sub is nil when the case does not exist: the answer
// is then the same refusal (only admin may learn that a case is missing), so
// nobody learns whether a case exists from this door. pkg/policy's table
// names the roles that may call ReadContact at all; this is the rule over
// which case each of them may read, in one place.
func mayReadContact(p auth.Principal, sub *Submission, open []TaskHolder) (Grant, bool) {
	if sub == nil || sub.Source != reference.FromHotline || sub.WorkOrder == nil {
		return "", false
	}
	if p.Role == auth.RoleHotline {
		return GrantHotline, true
	}
	if sub.WorkOrder.Anonymous {
		return "", false
	}
	switch p.Role {
	case auth.RoleAdmin:
		return GrantAdmin, true
	case auth.RoleDispatcher:
		if p.Subject != "" && p.Subject == sub.Area.Street {
			return GrantStreetDispatcher, true
		}
	case auth.RoleDepartment:
		grant, ok := Grant(""), false
		for _, t := range open {
			if p.Subject == "" || t.Department != p.Subject {
				continue
			}
			if t.Lead {
				return GrantLeadDepartment, true
			}
			grant, ok = GrantCoHandler, true
		}
		return grant, ok
	}
	return "", false
}

// ReadContact returns the full contact of a hotline case's caller to a
// reader mayReadContact allows, after committing the audit event
// (case.contact_read) — no event, no contact. Anyone else gets
// PERMISSION_DENIED, whether or not the case exists; admin alone is told
// NOT_FOUND. A contact erased by retention is FAILED_PRECONDITION.
func (s *Service) ReadContact(ctx context.Context, id, number, orderNo string) (*Submission, Contact, time.Time, error) {
	// A role the table does not name never gets as far as a lookup.
	p, _, err := policy.Authorize(ctx, opReadContact)
	if err != nil {
		return nil, Contact{}, time.Time{}, err
	}
	ref, err := caseref.FromFields("", id, number, orderNo)
	if err != nil {
		return nil, Contact{}, time.Time{}, err
	}
	denied := fault.New(fault.PermissionDenied, "%s may not read the caller's contact of %s", p, ref)
	k := Key{}
	k.CaseID, k.CaseNumber, k.HotlineOrderNo = ref.Fields()
	sub, err := s.store.Get(ctx, k)
	switch {
	case fault.KindOf(err) == fault.NotFound && p.Role == auth.RoleAdmin:
		return nil, Contact{}, time.Time{}, ref.NotFound("intake")
	case fault.KindOf(err) == fault.NotFound:
		sub = nil
	case err != nil:
		return nil, Contact{}, time.Time{}, err
	}
	var open []TaskHolder
	if sub != nil && p.Role == auth.RoleDepartment {
		if open, err = s.store.OpenTasks(ctx, sub.CaseID); err != nil {
			return nil, Contact{}, time.Time{}, err
		}
	}
	grant, ok := mayReadContact(p, sub, open)
	if !ok {
		if sub != nil && p.Role == auth.RoleAdmin && sub.WorkOrder == nil {
			return nil, Contact{}, time.Time{}, fault.New(fault.FailedPrecondition,
				"case %s came in as a %s, not a hotline call: it has no caller contact", sub.CaseNumber, sub.Source)
		}
		return nil, Contact{}, time.Time{}, denied
	}
	if !sub.ContactErasedAt.IsZero() {
		return nil, Contact{}, time.Time{}, fault.New(fault.FailedPrecondition,
			"the caller's contact of case %s was erased on %s, after the retention period that follows its closing",
			sub.CaseNumber, sub.ContactErasedAt.UTC().Format(time.RFC3339))
	}
	read := ContactRead{CaseID: sub.CaseID, CaseNumber: sub.CaseNumber, Area: sub.Area, Reader: p.Actor(), Grant: grant,
		At: s.now().UTC()}
	if err := s.store.RecordContactRead(ctx, read); err != nil {
		return nil, Contact{}, time.Time{}, err
	}
	wo := sub.WorkOrder
	return sub, Contact{Name: wo.CallerName, Phone: wo.CallerPhone, Anonymous: wo.Anonymous, NoCallback: wo.NoCallback,
		Address: wo.Address, Normalised: sub.Address}, read.At, nil
}
