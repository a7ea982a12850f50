package itemmodel

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/gob"
	"errors"
	"fmt"
	"io"

	"github.com/gridflow/gridflow/services/classify/internal/classifier"
)

// The item model file is
//
//	magic    8 bytes  "GFITEMDL"
//	version  uint32   big-endian, FormatVersion
//	length   uint64   big-endian, payload length
//	payload  length bytes, encoding/gob of setFile
//	checksum 32 bytes, SHA-256 of payload
//
// as the classifier's model file is; each class's model inside is a complete
// classifier model file, verified again when loaded.
const (
	FormatVersion = 1
	magic         = "GFITEMDL"
	headerSize    = len(magic) + 4 + 8
	maxPayload    = 1 << 30
)

// ErrNotItemModel is returned by Load for anything that is not a valid item
// model file of this format version.
var ErrNotItemModel = errors.New("not a valid gridflow item model")

type setFile struct {
	Classes    []string
	Models     [][]byte // classifier model files, in Classes order
	Thresholds Thresholds
	Window     int
	Hints      bool
}

// Save writes the set.
func (s *Set) Save(w io.Writer) error {
	f := setFile{Classes: s.classes, Thresholds: s.thresholds, Window: s.window, Hints: s.hintFeat}
	for _, c := range s.classes {
		var b bytes.Buffer
		if err := s.models[c].Save(&b); err != nil {
			return fmt.Errorf("save item model: class %s: %w", c, err)
		}
		f.Models = append(f.Models, b.Bytes())
	}
	var payload bytes.Buffer
	if err := gob.NewEncoder(&payload).Encode(&f); err != nil {
		return fmt.Errorf("save item model: %w", err)
	}
	var hdr [headerSize]byte
	copy(hdr[:], magic)
	binary.BigEndian.PutUint32(hdr[len(magic):], FormatVersion)
	binary.BigEndian.PutUint64(hdr[len(magic)+4:], uint64(payload.Len()))
	sum := sha256.Sum256(payload.Bytes())
	for _, b := range [][]byte{hdr[:], payload.Bytes(), sum[:]} {
		if _, err := w.Write(b); err != nil {
			return fmt.Errorf("save item model: %w", err)
		}
	}
	return nil
}

// Load reads a set written by Save; anything else is refused with an error
// wrapping ErrNotItemModel.
func Load(r io.Reader) (*Set, error) {
	var hdr [headerSize]byte
	if _, err := io.ReadFull(r, hdr[:]); err != nil {
		return nil, fmt.Errorf("load item model: %w: %v", ErrNotItemModel, err)
	}
	if string(hdr[:len(magic)]) != magic {
		return nil, fmt.Errorf("load item model: %w: bad magic", ErrNotItemModel)
	}
	if v := binary.BigEndian.Uint32(hdr[len(magic):]); v != FormatVersion {
		return nil, fmt.Errorf("load item model: %w: format version %d, this build reads %d", ErrNotItemModel, v, FormatVersion)
	}
	n := binary.BigEndian.Uint64(hdr[len(magic)+4:])
	if n > maxPayload {
		return nil, fmt.Errorf("load item model: %w: payload too large", ErrNotItemModel)
	}
	var body bytes.Buffer
	if _, err := io.CopyN(&body, r, int64(n)+sha256.Size); err != nil {
		return nil, fmt.Errorf("load item model: %w: truncated", ErrNotItemModel)
	}
	payload, want := body.Bytes()[:n], body.Bytes()[n:]
	if got := sha256.Sum256(payload); !bytes.Equal(got[:], want) {
		return nil, fmt.Errorf("load item model: %w: checksum mismatch", ErrNotItemModel)
	}
	var f setFile
	if err := gob.NewDecoder(bytes.NewReader(payload)).Decode(&f); err != nil {
		return nil, fmt.Errorf("load item model: %w: %v", ErrNotItemModel, err)
	}
	if len(f.Models) != len(f.Classes) {
		return nil, fmt.Errorf("load item model: %w: %d classes, %d models", ErrNotItemModel, len(f.Classes), len(f.Models))
	}
	s := &Set{classes: f.Classes, models: map[string]*classifier.Model{}, thresholds: f.Thresholds, window: f.Window, hintFeat: f.Hints}
	for i, c := range f.Classes {
		m, err := classifier.Load(bytes.NewReader(f.Models[i]))
		if err != nil {
			return nil, fmt.Errorf("load item model: class %s: %w", c, err)
		}
		s.models[c] = m
	}
	s.version = versionOf(s.classes, s.models, s.thresholds, s.window, s.hintFeat)
	return s, nil
}
