package redact

import (
	"github.com/gridflow/gridflow/pkg/wire"
	"google.golang.org/protobuf/proto"

	eventsv1 "github.com/gridflow/gridflow/proto/gen/go/gridflow/events/v1"
	typesv1 "github.com/gridflow/gridflow/proto/gen/go/gridflow/types/v1"
)

// Envelope masks, in place, the personal data of an event intake publishes
// — case.received and case.answered (the caller, the free text, and for an
// anonymous caller the address and point), case.followed_up (its text) —
// and reports whether it changed anything. Other payloads carry no personal
// data (task events never do: dispatch builds them without it) and are left
// alone. It is the one function every publisher of intake's events and every
// migration of stored envelopes calls: intake before its outbox, feedback
// over its event log, the stream scrub's test over what it finds.
func Envelope(env *eventsv1.Envelope) bool {
	switch p := env.GetPayload().(type) {
	case *eventsv1.Envelope_CaseReceived:
		return CaseReceived(p.CaseReceived)
	case *eventsv1.Envelope_CaseAnswered:
		return CaseReceived(p.CaseAnswered)
	case *eventsv1.Envelope_CaseFollowedUp:
		return set(&p.CaseFollowedUp.Text, Text(p.CaseFollowedUp.GetText()))
	}
	return false
}

// CaseReceived masks a case.received (or case.answered) payload in place.
// An anonymous caller's name and phone are dropped rather than masked:
// even a surname and the number's ends are more than anonymity allows.
func CaseReceived(p *eventsv1.CaseReceived) bool {
	if p == nil {
		return false
	}
	changed := false
	for _, f := range []*string{&p.Title, &p.Content, &p.Answer, &p.SelfDisposalNote} { // the note: self-disposal (issue 20)
		changed = set(f, Text(*f)) || changed
	}
	c := p.GetCaller()
	if c != nil {
		if c.GetAnonymous() {
			changed = set(&c.Name, "") || changed
			changed = set(&c.Phone, "") || changed
		} else {
			changed = set(&c.Name, Name(c.GetName())) || changed
			changed = set(&c.Phone, Phone(c.GetPhone())) || changed
		}
	}
	if !c.GetAnonymous() {
		return changed
	}
	if a := p.GetAddress(); a != nil {
		changed = AddressProto(a) || changed
	}
	if l := p.GetLocation(); l != nil {
		lat, lng := AnonymousPoint(l.GetLat(), l.GetLng())
		if lat != l.GetLat() || lng != l.GetLng() {
			l.Lat, l.Lng, changed = lat, lng, true
		}
	}
	return changed
}

// AddressProto is AnonymousAddress over the wire's address, in place.
func AddressProto(a *typesv1.Address) bool {
	m := wire.AddressOut(AnonymousAddress(wire.AddressIn(a)))
	if proto.Equal(a, m) {
		return false
	}
	proto.Reset(a)
	proto.Merge(a, m)
	return true
}

func set(dst *string, v string) bool {
	if *dst == v {
		return false
	}
	*dst = v
	return true
}

// EnvelopeBytes is Envelope over a stored or delivered envelope: its masked
// encoding and whether it held clear data. Bytes that are not an envelope
// are an error.
func EnvelopeBytes(data []byte) ([]byte, bool, error) {
	var env eventsv1.Envelope
	if err := proto.Unmarshal(data, &env); err != nil {
		return nil, false, err
	}
	if !Envelope(&env) {
		return data, false, nil
	}
	out, err := proto.Marshal(&env)
	return out, true, err
}
