package intake

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"hash"
	"math"
	"reflect"
	"strings"
	"time"
)

// hashOf fingerprints a request's content for idempotency checks: SHA-256
// over every field in declaration order, each length-prefixed, strings as
// their bytes. It replaced hashing the content's JSON, which escaped every
// character of the text again and was a twentieth of intake's CPU.
func hashOf(v any) string {
	f := fingerprinter{h: sha256.New()}
	f.value(reflect.ValueOf(v))
	return fingerprintPrefix + hex.EncodeToString(f.h.Sum(nil))
}

// fingerprintPrefix marks hashOf's fingerprints; hashes stored before it
// were of the content's JSON and have none.
const fingerprintPrefix = "v2:"

// sameRequest reports whether a stored request hash is content's.
func sameRequest(stored, fingerprint string, content any) bool {
	if stored == fingerprint {
		return true
	}
	if strings.HasPrefix(stored, fingerprintPrefix) {
		return false
	}
	// Stored before fingerprints: compare the old way.
	b, err := json.Marshal(content)
	if err != nil {
		return false
	}
	sum := sha256.Sum256(b)
	return stored == hex.EncodeToString(sum[:])
}

// fingerprinter feeds what it is given to h, through buf (a string written
// as a []byte would be copied to the heap first).
type fingerprinter struct {
	h   hash.Hash
	buf [512]byte
}

var timeType = reflect.TypeFor[time.Time]()

func (f *fingerprinter) uint(tag byte, n uint64) {
	f.buf[0] = tag
	binary.BigEndian.PutUint64(f.buf[1:9], n)
	f.h.Write(f.buf[:9])
}

func (f *fingerprinter) string(s string) {
	f.uint('s', uint64(len(s)))
	for len(s) > 0 {
		n := copy(f.buf[:], s)
		f.h.Write(f.buf[:n])
		s = s[n:]
	}
}

func (f *fingerprinter) value(v reflect.Value) {
	switch v.Kind() {
	case reflect.String:
		f.string(v.String())
	case reflect.Bool:
		n := uint64(0)
		if v.Bool() {
			n = 1
		}
		f.uint('b', n)
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		f.uint('i', uint64(v.Int()))
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		f.uint('u', v.Uint())
	case reflect.Float32, reflect.Float64:
		f.uint('f', math.Float64bits(v.Float()))
	case reflect.Pointer, reflect.Interface:
		if v.IsNil() {
			f.uint('n', 0)
			return
		}
		f.uint('p', 1)
		f.value(v.Elem())
	case reflect.Slice, reflect.Array:
		f.uint('l', uint64(v.Len()))
		for i := range v.Len() {
			f.value(v.Index(i))
		}
	case reflect.Struct:
		if v.Type() == timeType {
			t := v.Interface().(time.Time)
			f.uint('t', uint64(t.Unix()))
			f.uint('t', uint64(t.Nanosecond()))
			return
		}
		// A field added later is tagged omitempty and left out while zero
		// (issue 20's PrivateLocation), so the fingerprint of content that
		// does not use it — every request stored before it — is unchanged.
		var fields []int
		for i := range v.NumField() {
			if skipped(v.Type().Field(i), v.Field(i)) {
				continue
			}
			fields = append(fields, i)
		}
		f.uint('{', uint64(len(fields)))
		for _, i := range fields {
			f.value(v.Field(i))
		}
	default:
		// Content is plain data; a map (unordered) or a func has no place in it.
		panic(fmt.Sprintf("intake: cannot fingerprint a %s", v.Type()))
	}
}

// skipped reports whether a struct field stays out of the fingerprint: a
// zero value of a field whose JSON tag says omitempty.
func skipped(sf reflect.StructField, v reflect.Value) bool {
	_, opts, _ := strings.Cut(sf.Tag.Get("json"), ",")
	return strings.Contains(","+opts+",", ",omitempty,") && v.IsZero()
}
