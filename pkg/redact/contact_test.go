package redact_test

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/gridflow/gridflow/pkg/address"
	"github.com/gridflow/gridflow/pkg/redact"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/testing/protocmp"

	eventsv1 "github.com/gridflow/gridflow/proto/gen/go/gridflow/events/v1"
	typesv1 "github.com/gridflow/gridflow/proto/gen/go/gridflow/types/v1"
)

func TestName(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ in, want string }{
		{"王小明", "王**"},
		{"王明", "王**"}, // the length is not told
		{"王", "王**"},
		{"欧阳娜娜", "欧**"},
		{" 李四 ", "李**"},
		{"Zhang Wei", "Z**"},
		{"王**", "王**"}, // masked already
		{"", ""},
	} {
		if got := redact.Name(tc.in); got != tc.want {
			t.Errorf("Name(%q) = %q, want %q", tc.in, got, tc.want)
		}
		if !redact.IsMaskedName(redact.Name(tc.in)) {
			t.Errorf("IsMaskedName(Name(%q)) = false", tc.in)
		}
	}
	if redact.IsMaskedName("王小明") {
		t.Error("IsMaskedName(王小明) = true")
	}
}

func TestPhone(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ in, want string }{
		{"13812345678", "138****5678"},
		{"138-1234-5678", "138-****-5678"},
		{"+8613812345678", "+86138****5678"},
		{"021-62345678", "021-****5678"},
		{"62345678", "****5678"}, // no area code: only the last four digits stay
		{"12345", "*2345"},
		{"110", "***"},
		{"138****5678", "138****5678"}, // masked already
		{"", ""},
	} {
		got := redact.Phone(tc.in)
		if got != tc.want {
			t.Errorf("Phone(%q) = %q, want %q", tc.in, got, tc.want)
		}
		if again := redact.Phone(got); again != got {
			t.Errorf("Phone is not idempotent: %q → %q → %q", tc.in, got, again)
		}
	}
}

func TestAnonymousAddress(t *testing.T) {
	t.Parallel()
	full := address.Normalise("静安区共和新路1234弄5号201室兰州拉面").WithDistrict("静安区").Record()
	got := redact.AnonymousAddress(full)
	want := address.Record{Raw: "静安区共和新路1234弄", District: "静安区", Road: "共和新路", Lane: 1234,
		Key: "静安区|共和新路|1234||"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("AnonymousAddress mismatch (-want +got):\n%s", diff)
	}
	if again := redact.AnonymousAddress(got); again != got {
		t.Errorf("AnonymousAddress is not idempotent: %+v → %+v", got, again)
	}
	// Two reports of one lane, by different houses, still share a key.
	other := redact.AnonymousAddress(address.Normalise("静安区共和新路1234弄7号").WithDistrict("静安区").Record())
	if other.Key != got.Key {
		t.Errorf("keys of one lane differ: %q, %q", other.Key, got.Key)
	}
	// A compound without a road stops at the compound.
	if got := redact.AnonymousAddress(address.Record{District: "静安区", Compound: "大宁小区", Building: "5", Room: "201",
		Raw: "静安区大宁小区5号楼201室"}); got.Raw != "静安区大宁小区" || got.Building != "" || got.Room != "" {
		t.Errorf("compound address masked to %+v", got)
	}
}

// TestEnvelope is the masking table: what each of intake's events carries
// on the stream, for a named and an anonymous caller. Every reader of an
// event (and of every read RPC, which masks through the same functions)
// sees the "want" side; only IntakeService.ReadContact gives the clear one.
func TestEnvelope(t *testing.T) {
	t.Parallel()
	addr := &typesv1.Address{Raw: "静安区共和新路1234弄5号201室", District: "静安区", Road: "共和新路", Lane: 1234, Number: 5,
		Room: "201", Key: "静安区|共和新路|1234|5|"}
	received := func(anonymous bool) *eventsv1.CaseReceived {
		return &eventsv1.CaseReceived{CaseId: "c1", Title: "噪声扰民", Content: "楼下噪声，请回电13812345678", Answer: "",
			Address: proto.Clone(addr).(*typesv1.Address), Location: &typesv1.LatLng{Lat: 31.2712345, Lng: 121.4512345},
			Caller: &eventsv1.Caller{Name: "王小明", Phone: "13812345678", Anonymous: anonymous}}
	}
	for _, tc := range []struct {
		name string
		in   *eventsv1.Envelope
		want *eventsv1.Envelope
	}{{
		name: "named caller: name and phone masked, text's phone masked, address and point kept",
		in:   &eventsv1.Envelope{Payload: &eventsv1.Envelope_CaseReceived{CaseReceived: received(false)}},
		want: &eventsv1.Envelope{Payload: &eventsv1.Envelope_CaseReceived{CaseReceived: &eventsv1.CaseReceived{
			CaseId: "c1", Title: "噪声扰民", Content: "楼下噪声，请回电138****5678", Address: addr,
			Location: &typesv1.LatLng{Lat: 31.2712345, Lng: 121.4512345},
			Caller:   &eventsv1.Caller{Name: "王**", Phone: "138****5678"}}}},
	}, {
		name: "anonymous caller: no name or phone, address down to the lane, point to a block",
		in:   &eventsv1.Envelope{Payload: &eventsv1.Envelope_CaseReceived{CaseReceived: received(true)}},
		want: &eventsv1.Envelope{Payload: &eventsv1.Envelope_CaseReceived{CaseReceived: &eventsv1.CaseReceived{
			CaseId: "c1", Title: "噪声扰民", Content: "楼下噪声，请回电138****5678",
			Address:  &typesv1.Address{Raw: "静安区共和新路1234弄", District: "静安区", Road: "共和新路", Lane: 1234, Key: "静安区|共和新路|1234||"},
			Location: &typesv1.LatLng{Lat: 31.271, Lng: 121.451},
			Caller:   &eventsv1.Caller{Anonymous: true}}}},
	}, {
		name: "case.answered like case.received, the answer's text too",
		in: &eventsv1.Envelope{Payload: &eventsv1.Envelope_CaseAnswered{CaseAnswered: &eventsv1.CaseReceived{
			Answer: "已告知致电021-62345678", Caller: &eventsv1.Caller{Name: "李四", Phone: "021-62345678"}}}},
		want: &eventsv1.Envelope{Payload: &eventsv1.Envelope_CaseAnswered{CaseAnswered: &eventsv1.CaseReceived{
			Answer: "已告知致电021-****5678", Caller: &eventsv1.Caller{Name: "李**", Phone: "021-****5678"}}}},
	}, {
		name: "case.followed_up: the text's phone",
		in: &eventsv1.Envelope{Payload: &eventsv1.Envelope_CaseFollowedUp{CaseFollowedUp: &eventsv1.CaseFollowedUp{
			Text: "新号码 139 8765 4321"}}},
		want: &eventsv1.Envelope{Payload: &eventsv1.Envelope_CaseFollowedUp{CaseFollowedUp: &eventsv1.CaseFollowedUp{
			Text: "新号码 139 **** 4321"}}},
	}, {
		name: "task events carry no personal data: untouched",
		in: &eventsv1.Envelope{Payload: &eventsv1.Envelope_TaskProgressReported{TaskProgressReported: &eventsv1.TaskProgressReported{
			Text: "已联系13812345678"}}},
		want: &eventsv1.Envelope{Payload: &eventsv1.Envelope_TaskProgressReported{TaskProgressReported: &eventsv1.TaskProgressReported{
			Text: "已联系13812345678"}}},
	}} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			changed := redact.Envelope(tc.in)
			if diff := cmp.Diff(tc.want, tc.in, protocmp.Transform()); diff != "" {
				t.Errorf("masked envelope mismatch (-want +got):\n%s", diff)
			}
			if wantChanged := tc.name != "task events carry no personal data: untouched"; changed != wantChanged {
				t.Errorf("Envelope reported changed=%v, want %v", changed, wantChanged)
			}
			if redact.Envelope(tc.in) {
				t.Error("masking a masked envelope changed it")
			}
		})
	}
}

func TestJSONText(t *testing.T) {
	t.Parallel()
	doc := []byte(`{"Case":{"Title":"请回电13812345678","Content":"无号码","Address":"共和新路1234弄","N":12345678901234567890},"Other":"13812345678"}`)
	out, changed, err := redact.JSONText(doc, []string{"Case", "Title"}, []string{"Case", "Content"}, []string{"Missing", "X"})
	if err != nil || !changed {
		t.Fatalf("JSONText = %s, %v, %v", out, changed, err)
	}
	want := `{"Case":{"Address":"共和新路1234弄","Content":"无号码","N":12345678901234567890,"Title":"请回电138****5678"},"Other":"13812345678"}`
	if string(out) != want {
		t.Errorf("JSONText = %s, want %s", out, want)
	}
	if again, changed, err := redact.JSONText(out, []string{"Case", "Title"}); err != nil || changed || string(again) != string(out) {
		t.Errorf("masking again: %s, %v, %v", again, changed, err)
	}
}
