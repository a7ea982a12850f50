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
