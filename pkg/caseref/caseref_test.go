package caseref

import (
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/gridflow/gridflow/pkg/fault"
)

func TestParse(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		in   string
		want Ref
		err  string
	}{
		{in: "0b7e6a4e-52f1-4c7e-9b35-6f5a2c1d9e80", want: Ref{ID, "0b7e6a4e-52f1-4c7e-9b35-6f5a2c1d9e80"}},
		{in: " 0B7E6A4E-52F1-4C7E-9B35-6F5A2C1D9E80 ", want: Ref{ID, "0b7e6a4e-52f1-4c7e-9b35-6f5a2c1d9e80"}},
		{in: "GF-20261203-000001", want: Ref{Number, "GF-20261203-000001"}},
		{in: "GF-20261203-1234567", want: Ref{Number, "GF-20261203-1234567"}},
		{in: "DEMO-0001", want: Ref{OrderNo, "DEMO-0001"}},
		{in: "12345-20261203-0042", want: Ref{OrderNo, "12345-20261203-0042"}},
		{in: "", err: "empty"},
		{in: "   ", err: "empty"},
		{in: "GF-2026123-000001", err: "not a case number"},
		{in: "GF-20261203-01", err: "not a case number"},
		{in: "GF-2026", err: "not a case number"},
		{in: "two words", err: "white space"},
		{in: strings.Repeat("x", MaxOrderNo+1), err: "longer than"},
		{in: "bad\xffutf8", err: "UTF-8"},
	} {
		got, err := Parse(tc.in)
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("Parse(%q) = %v, %v; want an error containing %q", tc.in, got, err, tc.err)
			}
			continue
		}
		if err != nil {
			t.Errorf("Parse(%q): %v", tc.in, err)
			continue
		}
		if diff := cmp.Diff(tc.want, got); diff != "" {
			t.Errorf("Parse(%q) mismatch (-want +got):\n%s", tc.in, diff)
		}
	}
}

func TestFromFields(t *testing.T) {
	t.Parallel()
	const id = "0b7e6a4e-52f1-4c7e-9b35-6f5a2c1d9e80"
	for _, tc := range []struct {
		name                string
		id, number, orderNo string
		want                Ref
		fields              []string // violated fields; none: no error
	}{
		{name: "id", id: id, want: Ref{ID, id}},
		{name: "number", number: "GF-20261203-000001", want: Ref{Number, "GF-20261203-000001"}},
		{name: "order", orderNo: "DEMO-0001", want: Ref{OrderNo, "DEMO-0001"}},
		{name: "none", fields: []string{"x.case_id"}},
		{name: "two", id: id, number: "GF-20261203-000001", fields: []string{"x.case_id"}},
		{name: "number in id", id: "GF-20261203-000001", fields: []string{"x.case_id"}},
		{name: "opaque id", id: "case-1", want: Ref{ID, "case-1"}},
		{name: "id with a space", id: "case 1", fields: []string{"x.case_id"}},
		{name: "bad number", number: "GF-1", fields: []string{"x.case_number"}},
		{name: "long order", orderNo: strings.Repeat("9", 65), fields: []string{"x.hotline_order_no"}},
	} {
		got, err := FromFields("x.", tc.id, tc.number, tc.orderNo)
		if len(tc.fields) == 0 {
			if err != nil {
				t.Errorf("%s: %v", tc.name, err)
			} else if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("%s: mismatch (-want +got):\n%s", tc.name, diff)
			}
			continue
		}
		var f *fault.Error
		if !errors.As(err, &f) || f.Kind != fault.InvalidArgument {
			t.Errorf("%s: err = %v, want InvalidArgument", tc.name, err)
			continue
		}
		var fields []string
		for _, v := range f.Violations {
			fields = append(fields, v.Field)
		}
		if diff := cmp.Diff(tc.fields, fields); diff != "" {
			t.Errorf("%s: violated fields mismatch (-want +got):\n%s", tc.name, diff)
		}
	}
	if r, err := OptionalFromFields("", "", "", ""); err != nil || !r.IsZero() {
		t.Errorf("OptionalFromFields with nothing = %v, %v; want the zero Ref", r, err)
	}
}

func TestNotFoundNamesWhatWasAsked(t *testing.T) {
	t.Parallel()
	err := Ref{Number, "GF-20261203-000001"}.NotFound("classify")
	var f *fault.Error
	if !errors.As(err, &f) || f.Kind != fault.NotFound || f.Message != `classify knows no case with case number "GF-20261203-000001"` {
		t.Errorf("NotFound = %#v", err)
	}
}

// FuzzParse: whatever a person types, Parse either refuses it or returns a
// reference that reads back as itself and that FromFields accepts.
func FuzzParse(f *testing.F) {
	for _, s := range []string{"GF-20261203-000001", "DEMO-0001", "0b7e6a4e-52f1-4c7e-9b35-6f5a2c1d9e80", "", "GF-", "a b"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		r, err := Parse(s)
		if err != nil {
			return
		}
		if r.IsZero() || r.Value == "" {
			t.Fatalf("Parse(%q) = %v without an error", s, r)
		}
		id, number, orderNo := r.Fields()
		back, err := FromFields("", id, number, orderNo)
		if err != nil {
			t.Fatalf("Parse(%q) = %v, but FromFields refuses it: %v", s, r, err)
		}
		if back != r {
			t.Fatalf("Parse(%q) = %v, FromFields gives %v", s, r, back)
		}
	})
}
