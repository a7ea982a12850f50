package classifier

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func saved(t *testing.T, m *Model) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := m.Save(&buf); err != nil {
		t.Fatalf("Save: %v", err)
	}
	return buf.Bytes()
}

func TestModelRoundTrip(t *testing.T) {
	t.Parallel()
	for _, hashBits := range []int{0, 12} {
		o := tinyOptions()
		o.Features.HashBits = hashBits
		m, err := Train(t.Context(), tinyExamples(), o, nil)
		if err != nil {
			t.Fatal(err)
		}
		data := saved(t, m)
		got, err := Load(bytes.NewReader(data))
		if err != nil {
			t.Fatalf("Load: %v", err)
		}
		if got.Version() != m.Version() {
			t.Errorf("version after round trip %q, want %q", got.Version(), m.Version())
		}
		if diff := cmp.Diff(m.Info(), got.Info()); diff != "" {
			t.Errorf("Info mismatch (-want +got):\n%s", diff)
		}
		for _, text := range []string{"停水", "噪音扰民，路面也破损了", ""} {
			if diff := cmp.Diff(m.Predict(text, 0), got.Predict(text, 0)); diff != "" {
				t.Errorf("Predict(%q) mismatch (-want +got):\n%s", text, diff)
			}
		}
		if again := saved(t, got); !bytes.Equal(again, data) {
			t.Error("saving a loaded model does not reproduce the file")
		}
	}
}

// reseal recomputes the checksum of a model file whose payload was edited,
// so that what is tested is the content check rather than the checksum.
func reseal(data []byte) []byte {
	n := binary.BigEndian.Uint64(data[len(modelMagic)+4:])
	sum := sha256.Sum256(data[headerSize : headerSize+int(n)])
	out := bytes.Clone(data)
	copy(out[headerSize+int(n):], sum[:])
	return out
}

func TestLoadRefuses(t *testing.T) {
	t.Parallel()
	m := trainTiny(t)
	good := saved(t, m)
	edit := func(f func(b []byte) []byte) []byte { return f(bytes.Clone(good)) }

	// A payload whose checksum is right but whose contents do not fit
	// together (weights for the wrong number of labels).
	var inconsistent bytes.Buffer
	{
		f := *m.file
		f.Bias = f.Bias[:1]
		payload, err := encodePayload(&f)
		if err != nil {
			t.Fatal(err)
		}
		inconsistent.Write(good[:len(modelMagic)+4])
		binary.Write(&inconsistent, binary.BigEndian, uint64(len(payload)))
		inconsistent.Write(payload)
		sum := sha256.Sum256(payload)
		inconsistent.Write(sum[:])
	}

	tests := []struct {
		name    string
		data    []byte
		wantIs  error
		wantMsg string
	}{
		{"empty", nil, ErrNotModel, "shorter than"},
		{"not a model", []byte(`{"id":"T1","label":"x","text":"hello there, a JSON file"}`), ErrNotModel, "bad magic"},
		{"other format version", edit(func(b []byte) []byte { binary.BigEndian.PutUint32(b[len(modelMagic):], FormatVersion+1); return b }), ErrFormatVersion, fmt.Sprintf("file has version %d, this build reads versions 1 to %d", FormatVersion+1, FormatVersion)},
		{"flipped payload byte", edit(func(b []byte) []byte { b[headerSize+len(b)/3] ^= 0x40; return b }), ErrCorrupt, "checksum mismatch"},
		{"flipped checksum byte", edit(func(b []byte) []byte { b[len(b)-1] ^= 1; return b }), ErrCorrupt, "checksum mismatch"},
		{"truncated", good[:len(good)-10], ErrCorrupt, "truncated"},
		{"header only", good[:headerSize], ErrCorrupt, "truncated"},
		{"huge length", edit(func(b []byte) []byte { binary.BigEndian.PutUint64(b[len(modelMagic)+4:], 1<<40); return b }), ErrCorrupt, "exceeds"},
		{"garbage payload with a valid checksum", reseal(edit(func(b []byte) []byte {
			for i := headerSize; i < len(b)-sha256.Size; i++ {
				b[i] = 0xA5
			}
			return b
		})), ErrCorrupt, ""},
		{"inconsistent contents", inconsistent.Bytes(), ErrCorrupt, "per-label parameters"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := Load(bytes.NewReader(tt.data))
			if err == nil {
				t.Fatalf("Load succeeded (version %s), want an error", got.Version())
			}
			if !errors.Is(err, tt.wantIs) {
				t.Errorf("Load error = %v, want one wrapping %v", err, tt.wantIs)
			}
			if !strings.Contains(err.Error(), tt.wantMsg) {
				t.Errorf("Load error = %q, want it to mention %q", err, tt.wantMsg)
			}
		})
	}
}

// saveAtVersion saves m, checks that the header names format version want
// and loads the file back: its bytes and the loaded model.
func saveAtVersion(t *testing.T, m *Model, want uint32) ([]byte, *Model) {
	t.Helper()
	var buf bytes.Buffer
	if err := m.Save(&buf); err != nil {
		t.Fatal(err)
	}
	b := buf.Bytes()
	if v := binary.BigEndian.Uint32(b[len(modelMagic):]); v != want {
		t.Fatalf("header version %d, want %d", v, want)
	}
	back, err := Load(bytes.NewReader(b))
	if err != nil {
		t.Fatalf("round trip: %v", err)
	}
	return b, back
}

// A model reading the opening's features (issue 15) is a version 2 file: it
// round-trips, and a version 1 header on it is refused as corrupt, so that
// an older build never scores it without those features. A model without
// them stays version 1.
func TestOpeningModelIsFormatVersion2(t *testing.T) {
	t.Parallel()
	o := tinyOptions()
	o.Features.Opening = 10
	m, err := Train(context.Background(), tinyExamples(), o, nil)
	if err != nil {
		t.Fatal(err)
	}
	b, back := saveAtVersion(t, m, 2)
	if back.Version() != m.Version() || back.Info().FormatVersion != 2 || back.Info().Features.Opening != 10 {
		t.Fatalf("round trip: %+v", back)
	}
	binary.BigEndian.PutUint32(b[len(modelMagic):], 1)
	if _, err := Load(bytes.NewReader(b)); !errors.Is(err, ErrCorrupt) {
		t.Errorf("a version 1 header on a version 2 model: %v", err)
	}
	var plain bytes.Buffer
	if err := trainTiny(t).Save(&plain); err != nil {
		t.Fatal(err)
	}
	if v := binary.BigEndian.Uint32(plain.Bytes()[len(modelMagic):]); v != 1 {
		t.Errorf("a model without the new features is written as version %d, want 1", v)
	}
}
