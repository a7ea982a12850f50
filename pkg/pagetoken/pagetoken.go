// Package pagetoken makes the opaque page tokens of keyset-paged List
// methods (AIP-158): the last row's time and id, so the next page starts
// strictly after it whatever was inserted meanwhile.
package pagetoken

import (
	"encoding/base64"
	"errors"
	"strings"
	"time"

	"github.com/google/uuid"
)

// ErrInvalid means the token was not made by Encode.
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
