package wire

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/gridflow/gridflow/pkg/address"
	"github.com/gridflow/gridflow/pkg/geo"
	"github.com/gridflow/gridflow/pkg/reference"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/testing/protocmp"

	typesv1 "github.com/gridflow/gridflow/proto/gen/go/gridflow/types/v1"
)

// mapping is one vocabulary's two directions, seen through strings and
// numbers so one table covers them all.
type mapping struct {
	name   string
	enum   protoreflect.EnumDescriptor
	domain []string // every value of the domain vocabulary
	valid  func(string) bool
	in     func(protoreflect.EnumNumber) string
	out    func(string) protoreflect.EnumNumber
}

var mappings = []mapping{
	{
		name: "source", enum: typesv1.Source(0).Descriptor(),
		domain: []string{"hotline", "patrol", "secretary", "public"},
		valid:  func(s string) bool { return reference.Source(s).Valid() },
		in:     func(n protoreflect.EnumNumber) string { return string(SourceIn(typesv1.Source(n))) },
		out:    func(s string) protoreflect.EnumNumber { return SourceOut(reference.Source(s)).Number() },
	},
	{
		name: "appeal type", enum: typesv1.AppealType(0).Descriptor(),
		domain: []string{"consultation", "help", "complaint", "report", "suggestion", "praise"},
		valid:  func(s string) bool { return reference.AppealType(s).Valid() },
		in:     func(n protoreflect.EnumNumber) string { return string(AppealTypeIn(typesv1.AppealType(n))) },
		out:    func(s string) protoreflect.EnumNumber { return AppealTypeOut(reference.AppealType(s)).Number() },
	},
	{
		name: "urgency", enum: typesv1.Urgency(0).Descriptor(),
		domain: []string{"normal", "urgent", "emergency"},
		// "" is a valid urgency (normal), so only a non-empty one counts here.
		valid: func(s string) bool { return s != "" && reference.Urgency(s).Valid() },
		in:    func(n protoreflect.EnumNumber) string { return string(UrgencyIn(typesv1.Urgency(n))) },
		out:   func(s string) protoreflect.EnumNumber { return UrgencyOut(reference.Urgency(s)).Number() },
	},
}

// Every proto value maps in to a valid domain value and back to itself, and
// every domain value out and back: a value added on either side alone fails
// here.
func TestEnumMappingsBothWays(t *testing.T) {
	t.Parallel()
	for _, m := range mappings {
		t.Run(m.name, func(t *testing.T) {
			t.Parallel()
			values := m.enum.Values()
			if got, want := values.Len()-1, len(m.domain); got != want {
				t.Errorf("%s has %d values besides UNSPECIFIED, the domain %d", m.enum.FullName(), got, want)
			}
			for i := range values.Len() {
				v := values.Get(i)
				if v.Number() == 0 {
					continue
				}
				d := m.in(v.Number())
				if !m.valid(d) {
					t.Errorf("%s in = %q, not a valid %s", v.Name(), d, m.name)
				}
				if back := m.out(d); back != v.Number() {
					t.Errorf("%s in = %q, out again = %d, want %d", v.Name(), d, back, v.Number())
				}
			}
			for _, d := range m.domain {
				n := m.out(d)
				if n == 0 {
					t.Errorf("%q out = UNSPECIFIED", d)
				}
				if back := m.in(n); back != d {
					t.Errorf("%q out = %d, in again = %q", d, n, back)
				}
			}
		})
	}
}

// UNSPECIFIED and "" are each other's image; a number this build does not
// know becomes a value Valid rejects, naming the number; an unknown domain
// value goes out as UNSPECIFIED.
func TestEnumMappingsUnspecifiedAndUnknown(t *testing.T) {
	t.Parallel()
	for _, m := range mappings {
		t.Run(m.name, func(t *testing.T) {
			t.Parallel()
			if got := m.in(0); got != "" {
				t.Errorf("UNSPECIFIED in = %q, want \"\"", got)
			}
			if got := m.out(""); got != 0 {
				t.Errorf("\"\" out = %d, want UNSPECIFIED", got)
			}
			got := m.in(99)
			if got != "enum#99" {
				t.Errorf("99 in = %q, want enum#99", got)
			}
			if m.valid(got) {
				t.Errorf("%q is valid", got)
			}
			for _, d := range []string{"unspecified", "enum#99", "Normal", "bogus"} {
				if got := m.out(d); got != 0 {
					t.Errorf("%q out = %d, want UNSPECIFIED", d, got)
				}
			}
		})
	}
}

func TestAreaBothWays(t *testing.T) {
	t.Parallel()
	codes := reference.AreaCodes{District: "310106", Street: "310106022", Community: "310106022001", Grid: "310106022001001"}
	pb := &typesv1.Area{DistrictCode: "310106", StreetCode: "310106022", CommunityCode: "310106022001", GridCode: "310106022001001"}
	if diff := cmp.Diff(pb, AreaOut(codes), protocmp.Transform()); diff != "" {
		t.Errorf("AreaOut mismatch (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(codes, AreaIn(pb)); diff != "" {
		t.Errorf("AreaIn mismatch (-want +got):\n%s", diff)
	}
	// The resolution is intake's; the codes map whatever it says.
	withRes := proto.Clone(pb).(*typesv1.Area)
	withRes.Resolution = typesv1.AreaResolution_AREA_RESOLUTION_ADDRESS
	if diff := cmp.Diff(codes, AreaIn(withRes)); diff != "" {
		t.Errorf("AreaIn with a resolution mismatch (-want +got):\n%s", diff)
	}
	// Unknown levels travel as they are, "0" or "".
	partial := reference.AreaCodes{District: "310106", Street: "0"}
	if diff := cmp.Diff(partial, AreaIn(AreaOut(partial))); diff != "" {
		t.Errorf("partial area mismatch (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(reference.AreaCodes{}, AreaIn(nil)); diff != "" {
		t.Errorf("AreaIn(nil) mismatch (-want +got):\n%s", diff)
	}
	want := reference.AreaCodes{District: "310106", Street: "0", Community: "0", Grid: "0"}
	if diff := cmp.Diff(want, partial.OrUnknown()); diff != "" {
		t.Errorf("OrUnknown mismatch (-want +got):\n%s", diff)
	}
}

func TestAddressBothWays(t *testing.T) {
	t.Parallel()
	rec := address.Normalise("上海市静安区共和新路1234弄5号201室兰州拉面").Record()
	want := address.Record{Raw: "上海市静安区共和新路1234弄5号201室兰州拉面", District: "静安区", Road: "共和新路", Lane: 1234,
		Number: 5, Room: "201", Shop: "兰州拉面", Key: "静安区|共和新路|1234|5|兰州拉面"}
	if diff := cmp.Diff(want, rec); diff != "" {
		t.Fatalf("Record mismatch (-want +got):\n%s", diff)
	}
	pb := &typesv1.Address{Raw: want.Raw, District: "静安区", Road: "共和新路", Lane: 1234, Number: 5, Room: "201", Shop: "兰州拉面",
		Key: want.Key}
	if diff := cmp.Diff(pb, AddressOut(rec), protocmp.Transform()); diff != "" {
		t.Errorf("AddressOut mismatch (-want +got):\n%s", diff)
	}
	full := address.Record{Raw: "r", District: "d", Street: "s", Road: "road", Lane: 1, Number: 2, Building: "b", Room: "3",
		Compound: "c", Shop: "shop", Key: "k"}
	if diff := cmp.Diff(full, AddressIn(AddressOut(full))); diff != "" {
		t.Errorf("round trip mismatch (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(address.Record{}, AddressIn(nil)); diff != "" {
		t.Errorf("AddressIn(nil) mismatch (-want +got):\n%s", diff)
	}
}

func TestPoint(t *testing.T) {
	t.Parallel()
	wgs := &geo.Point{Lat: 31.2795, Lng: 121.4521}
	gcjLat, gcjLng := geo.WGS84ToGCJ02(wgs.Lat, wgs.Lng)
	tests := []struct {
		name string
		in   *typesv1.LatLng
		want *geo.Point
	}{
		{"absent", nil, nil},
		{"WGS-84", &typesv1.LatLng{Lat: wgs.Lat, Lng: wgs.Lng, Datum: typesv1.Datum_DATUM_WGS84}, wgs},
		{"no datum is WGS-84", &typesv1.LatLng{Lat: wgs.Lat, Lng: wgs.Lng}, wgs},
		{"GCJ-02 converted", &typesv1.LatLng{Lat: gcjLat, Lng: gcjLng, Datum: typesv1.Datum_DATUM_GCJ02}, wgs},
		{"invalid", &typesv1.LatLng{Lat: 91, Lng: 0, Datum: typesv1.Datum_DATUM_WGS84}, nil},
	}
	for _, tt := range tests {
		got := PointIn(tt.in)
		if (got == nil) != (tt.want == nil) {
			t.Errorf("%s: PointIn = %v, want %v", tt.name, got, tt.want)
			continue
		}
		if got != nil && (abs(got.Lat-tt.want.Lat) > 1e-5 || abs(got.Lng-tt.want.Lng) > 1e-5) {
			t.Errorf("%s: PointIn = %v, want %v", tt.name, got, tt.want)
		}
	}
	if PointOut(nil) != nil {
		t.Error("PointOut(nil) is not nil")
	}
	want := &typesv1.LatLng{Lat: wgs.Lat, Lng: wgs.Lng, Datum: typesv1.Datum_DATUM_WGS84}
	if diff := cmp.Diff(want, PointOut(wgs), protocmp.Transform()); diff != "" {
		t.Errorf("PointOut mismatch (-want +got):\n%s", diff)
	}
}

func abs(x float64) float64 {
	if x < 0 {
		return -x
	}
	return x
}

// A principal goes out as role and subject and comes back as it was
// written; no actor is no principal, both ways.
func TestPrincipalBothWays(t *testing.T) {
	t.Parallel()
	tests := []struct {
		actor string
		pb    *typesv1.Principal
	}{
		{"", nil},
		{"hotline", &typesv1.Principal{Role: "hotline"}},
		{"admin", &typesv1.Principal{Role: "admin"}},
		{"department:310106022-cgzd", &typesv1.Principal{Role: "department", Subject: "310106022-cgzd"}},
		{"system:dispatch", &typesv1.Principal{Role: "system", Subject: "dispatch"}},
		{"dispatcher:310106022 (p-0042 王芳)", &typesv1.Principal{Role: "dispatcher", Subject: "310106022",
			Person: &typesv1.Person{Id: "p-0042", Name: "王芳"}}},
		{"hotline (a-7 Li Lei)", &typesv1.Principal{Role: "hotline", Person: &typesv1.Person{Id: "a-7", Name: "Li Lei"}}},
	}
	for _, tt := range tests {
		if diff := cmp.Diff(tt.pb, PrincipalOut(tt.actor), protocmp.Transform()); diff != "" {
			t.Errorf("PrincipalOut(%q) mismatch (-want +got):\n%s", tt.actor, diff)
		}
		if got := PrincipalIn(tt.pb); got != tt.actor {
			t.Errorf("PrincipalIn(%v) = %q, want %q", tt.pb, got, tt.actor)
		}
	}
	// Only the first colon separates: a subject may hold one.
	if got := PrincipalIn(PrincipalOut("patrol:w:17")); got != "patrol:w:17" {
		t.Errorf("round trip of patrol:w:17 = %q", got)
	}
	if got := PrincipalIn(&typesv1.Principal{}); got != "" {
		t.Errorf("PrincipalIn(empty) = %q, want \"\"", got)
	}
}

func TestTimeBothWays(t *testing.T) {
	t.Parallel()
	if TimeOut(time.Time{}) != nil {
		t.Error("TimeOut(zero) is not nil")
	}
	if got := TimeIn(nil); !got.IsZero() {
		t.Errorf("TimeIn(nil) = %v, want the zero time", got)
	}
	at := time.Date(2026, 3, 2, 10, 0, 0, 123456789, time.FixedZone("CST", 8*3600))
	if got := TimeIn(TimeOut(at)); !got.Equal(at) {
		t.Errorf("round trip = %v, want %v", got, at)
	}
}

// A service's own table reads back by the package rule, and Lookup tells
// the values it knows from the rest.
func TestEnumOfAService(t *testing.T) {
	t.Parallel()
	type kind string
	e := NewEnum(map[kind]typesv1.Datum{"wgs": typesv1.Datum_DATUM_WGS84, "gcj": typesv1.Datum_DATUM_GCJ02})
	if got := e.Out("gcj"); got != typesv1.Datum_DATUM_GCJ02 {
		t.Errorf("Out(gcj) = %v", got)
	}
	if got := e.Out("bd09"); got != typesv1.Datum_DATUM_UNSPECIFIED {
		t.Errorf("Out(bd09) = %v, want UNSPECIFIED", got)
	}
	for p, want := range map[typesv1.Datum]kind{typesv1.Datum_DATUM_WGS84: "wgs", 0: "", 9: "enum#9"} {
		if got := e.In(p); got != want {
			t.Errorf("In(%d) = %q, want %q", p, got, want)
		}
	}
	if d, ok := e.Lookup(typesv1.Datum_DATUM_WGS84); !ok || d != "wgs" {
		t.Errorf("Lookup(WGS84) = %q, %v", d, ok)
	}
	for _, p := range []typesv1.Datum{0, 9} {
		if d, ok := e.Lookup(p); ok || d != "" {
			t.Errorf("Lookup(%d) = %q, %v, want \"\", false", p, d, ok)
		}
	}
}

// A table that cannot be read back is refused when it is built.
func TestNewEnumRefusesAmbiguousTables(t *testing.T) {
	t.Parallel()
	for name, out := range map[string]map[string]typesv1.Datum{
		"two values, one number": {"a": typesv1.Datum_DATUM_WGS84, "b": typesv1.Datum_DATUM_WGS84},
		"a value to UNSPECIFIED": {"a": typesv1.Datum_DATUM_UNSPECIFIED},
	} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("%s: NewEnum did not panic", name)
				}
			}()
			NewEnum(out)
		}()
	}
}
