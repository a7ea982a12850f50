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
	"strconv"
)

// Example is one labelled text.
type Example struct {
	ID    string `json:"id"`
	Label string `json:"label"`
	Text  string `json:"text"`
	// Weight scales the example's penalty in training (the SVM's C_i =
	// C·Weight): 2 counts it like two copies. 0 means 1. Sources mixed by
	// `classify train` carry their source's weight; JSONL files never set it.
	Weight float64 `json:"-"`
}

// weight is e's effective weight.
func (e Example) weight() float64 {
	if e.Weight == 0 {
		return 1
	}
	return e.Weight
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
		// A weight other than 1 is part of the data's identity; weight 1
		// hashes as before weights existed, so old models keep their hash.
		if w := e.weight(); w != 1 {
			put("\x00weight=" + strconv.FormatFloat(w, 'g', -1, 64))
		}
	}
	var sum [32]byte
	h.Sum(sum[:0])
	return sum
}
