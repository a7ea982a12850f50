package classifier

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestReadJSONL(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		in      string
		want    []Example
		wantErr string // substring; "" means no error
	}{
		{
			name: "two rows and a blank line",
			in:   `{"id":"a","label":"x","text":"路灯"}` + "\n\n" + `{"id": "b", "label": "y", "text": ""}` + "\r\n",
			want: []Example{{ID: "a", Label: "x", Text: "路灯"}, {ID: "b", Label: "y", Text: ""}},
		},
		{name: "empty input", in: "", want: nil},
		{name: "missing id is allowed", in: `{"label":"x","text":"t"}`, want: []Example{{Label: "x", Text: "t"}}},
		{name: "bad json names the line", in: `{"id":"a","label":"x","text":"t"}` + "\n" + `{"id":`, wantErr: "line 2:"},
		{name: "missing label", in: "\n" + `{"id":"a","text":"t"}`, wantErr: `line 2: missing or empty "label"`},
		{name: "empty label", in: `{"id":"a","label":"","text":"t"}`, wantErr: `line 1: missing or empty "label"`},
		{name: "missing text", in: `{"id":"a","label":"x"}`, wantErr: `line 1: missing "text"`},
		{name: "wrong type", in: `{"id":"a","label":3,"text":"t"}`, wantErr: "line 1:"},
		{name: "trailing data", in: `{"id":"a","label":"x","text":"t"} {}`, wantErr: "line 1: trailing data"},
		{name: "not an object", in: `["a"]`, wantErr: "line 1:"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := ReadJSONL(strings.NewReader(tt.in))
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("ReadJSONL error = %v, want one containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("ReadJSONL: %v", err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("ReadJSONL mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestDataSHA256(t *testing.T) {
	t.Parallel()
	a := []Example{{ID: "1", Label: "x", Text: "ab"}}
	// Length prefixes keep field boundaries: moving a byte between fields
	// must change the hash.
	b := []Example{{ID: "1", Label: "xa", Text: "b"}}
	if DataSHA256(a) == DataSHA256(b) {
		t.Error("different examples hash equal")
	}
	if DataSHA256(a) != DataSHA256([]Example{{ID: "1", Label: "x", Text: "ab"}}) {
		t.Error("equal examples hash differently")
	}
}
