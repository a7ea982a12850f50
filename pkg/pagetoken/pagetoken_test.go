package pagetoken

import (
	"errors"
	"testing"
	"time"
)

func TestRoundTrip(t *testing.T) {
	t.Parallel()
	at := time.Date(2026, 11, 22, 9, 30, 0, 123456789, time.FixedZone("CST", 8*3600))
	id := "01a200ca-f4ca-7ef6-bfec-53e536ff7bbf"
	gotAt, gotID, err := Decode(Encode(at, id))
	if err != nil || !gotAt.Equal(at) || gotID != id {
		t.Fatalf("Decode(Encode) = %v, %q, %v", gotAt, gotID, err)
	}
	for _, bad := range []string{"", "!!", Encode(at, "not-a-uuid"), "MjAyNg"} {
		if _, _, err := Decode(bad); !errors.Is(err, ErrInvalid) {
			t.Errorf("Decode(%q) err = %v, want ErrInvalid", bad, err)
		}
	}
}

func TestSeqRoundTrip(t *testing.T) {
	t.Parallel()
	for _, n := range []int64{0, 1, 500, 1 << 62} {
		if got, err := DecodeSeq(EncodeSeq(n)); err != nil || got != n {
			t.Errorf("DecodeSeq(EncodeSeq(%d)) = %d, %v", n, got, err)
		}
	}
	timeTok := Encode(time.Unix(0, 0), "01a200ca-f4ca-7ef6-bfec-53e536ff7bbf")
	for _, bad := range []string{"", "!!", "MTI", timeTok, "Iy0x" /* #-1 */, "I3g" /* #x */} {
		if _, err := DecodeSeq(bad); !errors.Is(err, ErrInvalid) {
			t.Errorf("DecodeSeq(%q) err = %v, want ErrInvalid", bad, err)
		}
	}
	// Neither kind passes for the other.
	if _, _, err := Decode(EncodeSeq(7)); !errors.Is(err, ErrInvalid) {
		t.Errorf("Decode(EncodeSeq(7)) err = %v, want ErrInvalid", err)
	}
}

func FuzzDecodeSeq(f *testing.F) {
	f.Add(EncodeSeq(42))
	f.Add("garbage")
	f.Fuzz(func(t *testing.T, s string) {
		n, err := DecodeSeq(s)
		if err == nil {
			if n < 0 {
				t.Fatalf("DecodeSeq(%q) = %d, a negative number", s, n)
			}
			if back, _ := DecodeSeq(EncodeSeq(n)); back != n {
				t.Fatalf("%d does not round-trip", n)
			}
		}
	})
}

func FuzzDecode(f *testing.F) {
	f.Add(Encode(time.Unix(0, 0), "01a200ca-f4ca-7ef6-bfec-53e536ff7bbf"))
	f.Add("garbage")
	f.Fuzz(func(t *testing.T, s string) {
		at, id, err := Decode(s)
		if err == nil && Encode(at, id) == "" {
			t.Fatal("decoded token re-encodes to nothing")
		}
	})
}
