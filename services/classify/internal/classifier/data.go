package classifier

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
)

// Example is one labelled text.
type Example struct {
	ID    string `json:"id"`
	Label string `json:"label"`
	Text  string `json:"text"`
}

// maxLineBytes bounds one JSONL line; the longest shared message is ~13 KB.
const maxLineBytes = 16 << 20

// ReadJSONL reads one Example per line ({"id":…,"label":…,"text":…}).
// Blank lines are skipped. A line that is not a JSON object, has fields of
// the wrong type, trailing data, or no label or text is an error naming the
// line number.
func ReadJSONL(r io.Reader) ([]Example, error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64<<10), maxLineBytes)
	var out []Example
	line := 0
	for sc.Scan() {
		line++
		b := bytes.TrimSpace(sc.Bytes())
		if len(b) == 0 {
			continue
		}
		var raw struct {
			ID    string  `json:"id"`
			Label *string `json:"label"`
			Text  *string `json:"text"`
		}
		dec := json.NewDecoder(bytes.NewReader(b))
		if err := dec.Decode(&raw); err != nil {
			return nil, fmt.Errorf("line %d: %w", line, err)
		}
		if dec.More() {
			return nil, fmt.Errorf("line %d: trailing data after the JSON object", line)
		}
		switch {
		case raw.Label == nil || *raw.Label == "":
			return nil, fmt.Errorf("line %d: missing or empty \"label\"", line)
		case raw.Text == nil:
			return nil, fmt.Errorf("line %d: missing \"text\"", line)
		}
		out = append(out, Example{ID: raw.ID, Label: *raw.Label, Text: *raw.Text})
	}
	if err := sc.Err(); err != nil {
		if errors.Is(err, bufio.ErrTooLong) {
			return nil, fmt.Errorf("line %d: longer than %d bytes", line+1, maxLineBytes)
		}
		return nil, fmt.Errorf("read: %w", err)
	}
	return out, nil
}

// DataSHA256 identifies a training set: SHA-256 over each example's id,
// label and text, each length-prefixed, in order. It hashes the parsed
// examples rather than file bytes so that the same data read from any source
// (a file, an embedded corpus) has one identity.
func DataSHA256(examples []Example) [32]byte {
	h := sha256.New()
	var n [binary.MaxVarintLen64]byte
	put := func(s string) {
		h.Write(n[:binary.PutUvarint(n[:], uint64(len(s)))])
		io.WriteString(h, s)
	}
	for _, e := range examples {
		put(e.ID)
		put(e.Label)
		put(e.Text)
	}
	var sum [32]byte
	h.Sum(sum[:0])
	return sum
}
