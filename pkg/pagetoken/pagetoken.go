// Package pagetoken makes the opaque page tokens of List methods (AIP-158),
// one format for every service. A keyset-paged list hands out the last row's
// time and id, so the next page starts strictly after it whatever was inserted
// meanwhile; a list ordered by a serial key, or a fixed list read by position,
// hands out a number instead. A token of one kind never decodes as the other.
package pagetoken

import (
	"encoding/base64"
	"errors"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"
)

// ErrInvalid means the token was not made by this package (or not by the
// Encode that matches the Decode used). Services answer it with
// InvalidArgument on the field page_token.
var ErrInvalid = errors.New("not a page token this service issued")

// Encode makes a token from the last row's time and id.
func Encode(at time.Time, id string) string {
	return base64.RawURLEncoding.EncodeToString([]byte(at.UTC().Format(time.RFC3339Nano) + "|" + id))
}

// Decode reads a token back; the id must be a UUID.
func Decode(tok string) (time.Time, string, error) {
	b, err := base64.RawURLEncoding.DecodeString(tok)
	if err != nil {
		return time.Time{}, "", ErrInvalid
	}
	ts, id, ok := strings.Cut(string(b), "|")
	if !ok {
		return time.Time{}, "", ErrInvalid
	}
	at, err := time.Parse(time.RFC3339Nano, ts)
	if err != nil {
		return time.Time{}, "", ErrInvalid
	}
	if _, err := uuid.Parse(id); err != nil {
		return time.Time{}, "", ErrInvalid
	}
	return at, id, nil
}

// EncodeSeq makes a token from a non-negative number: the last row's serial
// key, or where the next page of a fixed list starts.
func EncodeSeq(n int64) string {
	return base64.RawURLEncoding.EncodeToString([]byte("#" + strconv.FormatInt(n, 10)))
}

// DecodeSeq reads a token made by EncodeSeq back.
func DecodeSeq(tok string) (int64, error) {
	b, err := base64.RawURLEncoding.DecodeString(tok)
	if err != nil {
		return 0, ErrInvalid
	}
	digits, ok := strings.CutPrefix(string(b), "#")
	if !ok {
		return 0, ErrInvalid
	}
	n, err := strconv.ParseInt(digits, 10, 64)
	if err != nil || n < 0 {
		return 0, ErrInvalid
	}
	return n, nil
}
