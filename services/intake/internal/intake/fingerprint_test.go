package intake

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"reflect"
	"testing"
	"time"
)

// Every field of every kind of content takes part in the fingerprint, so a
// field added later cannot be silently left out of the idempotency check.
func TestFingerprintCoversEveryField(t *testing.T) {
	contents := []any{goodOrder(), PatrolReport{}, Issue{}, struct {
		K    Key
		Kind FollowUpKind
		Text string
	}{}}
	for _, c := range contents {
		base := hashOf(c)
		if hashOf(c) != base {
			t.Fatalf("%T: fingerprint not deterministic", c)
		}
		typ := reflect.TypeOf(c)
		for i := range typ.NumField() {
			v := reflect.New(typ).Elem()
			v.Set(reflect.ValueOf(c))
			change(t, v.Field(i))
			if hashOf(v.Interface()) == base {
				t.Errorf("%T.%s does not change the fingerprint", c, typ.Field(i).Name)
			}
		}
	}
}

// change sets v to a value different from the one it has.
func change(t *testing.T, v reflect.Value) {
	t.Helper()
	switch v.Kind() {
	case reflect.String:
		v.SetString(v.String() + "x")
	case reflect.Bool:
		v.SetBool(!v.Bool())
	case reflect.Float64:
		v.SetFloat(v.Float() + 1)
	case reflect.Pointer:
		if v.IsNil() {
			v.Set(reflect.New(v.Type().Elem()))
		} else {
			v.Set(reflect.Zero(v.Type()))
		}
	case reflect.Slice:
		v.Set(reflect.Append(v, reflect.Zero(v.Type().Elem())))
	case reflect.Struct:
		if tm, ok := v.Interface().(time.Time); ok {
			v.Set(reflect.ValueOf(tm.Add(time.Nanosecond)))
			return
		}
		change(t, v.Field(0))
	default:
		t.Fatalf("no way to change a %s", v.Type())
	}
}

func TestFingerprintKeepsFieldBoundaries(t *testing.T) {
	type two struct{ A, B string }
	if hashOf(two{"ab", ""}) == hashOf(two{"a", "b"}) {
		t.Error("moving text from one field to the next keeps the fingerprint")
	}
	if hashOf([]string{"a", "b"}) == hashOf([]string{"ab"}) {
		t.Error("splitting a list element keeps the fingerprint")
	}
	at := time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)
	if hashOf(at) != hashOf(at.In(time.FixedZone("CST", 8*3600))) {
		t.Error("the same instant in another zone changes the fingerprint")
	}
}

// Hashes stored before fingerprints (of the content's JSON) still match the
// same content, and only it.
func TestSameRequestAcceptsHashesStoredBefore(t *testing.T) {
	wo := goodOrder()
	b, _ := json.Marshal(wo)
	sum := sha256.Sum256(b)
	legacy := hex.EncodeToString(sum[:])
	if !sameRequest(legacy, hashOf(wo), wo) {
		t.Error("a repeat of an order stored before fingerprints is taken for other content")
	}
	other := wo
	other.Content += "（补充）"
	if sameRequest(legacy, hashOf(other), other) {
		t.Error("other content matches a hash stored before fingerprints")
	}
	if sameRequest(hashOf(wo), hashOf(other), other) {
		t.Error("other content matches a fingerprint")
	}
}

func BenchmarkFingerprint(b *testing.B) {
	wo := goodOrder()
	for range 60 {
		wo.Content += "共和新路1234弄门口烧烤摊夜间噪声扰民。"
	}
	b.Run("fingerprint", func(b *testing.B) {
		for b.Loop() {
			hashOf(wo)
		}
	})
	b.Run("json+sha256", func(b *testing.B) {
		for b.Loop() {
			j, _ := json.Marshal(wo)
			sha256.Sum256(j)
		}
	})
}
