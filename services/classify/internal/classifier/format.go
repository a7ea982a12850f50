package classifier

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/gob"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"time"
)

// The model file is
//
//	magic    8 bytes  "GFCLSMDL"
//	version  uint32   big-endian, FormatVersion
//	length   uint64   big-endian, payload length
//	payload  length bytes, encoding/gob of modelFile
//	checksum 32 bytes, SHA-256 of payload
//
// The header is fixed so that a file of another format version is refused
// before its payload is decoded, and the checksum is verified before gob sees
// a byte, so corruption is reported as corruption rather than as some decode
// error. Any change to modelFile, to the feature keys (tokenize.go) or to the
// scoring arithmetic needs a new FormatVersion — except a new field that
// prediction does not read (Sources): gob decodes an older file with it
// empty, and an older build skips it.
//
// Format version 2 (issue 15) adds the opening's and Han trigram keys
// (FeatureConfig.Opening, Trigrams): a model using them is written as
// version 2, which an older build refuses rather than scoring it without
// those features; every other model is still written as version 1.
// Version 3 adds the words (FeatureConfig.Words), version 4 (issue 15,
// round 9) the nearest exemplars' vote (KNN and its postings).
const (
	FormatVersion = 4
	modelMagic    = "GFCLSMDL"
	headerSize    = len(modelMagic) + 4 + 8
	// maxPayload bounds what Load will allocate for a hostile length field.
	maxPayload = 1 << 30
)

// Errors returned by Load; test with errors.Is.
var (
	ErrNotModel        = errors.New("not a gridflow classifier model (bad magic)")
	ErrFormatVersion   = errors.New("unsupported model format version")
	ErrCorrupt         = errors.New("model file is corrupt")
	errPayloadTooLarge = fmt.Errorf("%w: payload length exceeds %d bytes", ErrCorrupt, maxPayload)
)

// modelFile is the gob payload. It holds no maps, so its encoding is
// deterministic and Version is a true content hash.
type modelFile struct {
	Labels     []string
	Features   FeatureConfig
	SVM        SVMParams
	TrainedAt  time.Time
	DataSHA256 [32]byte
	Examples   int
	CV         CVEstimate
	Keys       []uint64 // vocabulary mode: feature index → key
	IDF        []float32
	W          []float32
	Bias       []float32
	PlattA     []float64
	PlattB     []float64
	// Sources say what the training data was made of (`classify train
	// --source`). Added after format version 1 shipped: gob leaves it empty
	// when decoding an older file and older builds skip it, so the format
	// version stays.
	Sources []Source
	// KNN and the exemplars' postings (knnIndex) when the nearest
	// training messages vote (format version 4); zero otherwise.
	KNN      KNNParams
	KNNOff   []int32
	KNNDoc   []uint16
	KNNVal   []uint16
	KNNLabel []int32
}

// formatVersion is the oldest format version that can hold f.
func (f *modelFile) formatVersion() uint32 {
	if f.KNN.Weight > 0 {
		return 4
	}
	if f.Features.Words > 0 {
		return 3
	}
	if f.Features.Opening > 0 || f.Features.Trigrams {
		return 2
	}
	return 1
}

func encodePayload(f *modelFile) ([]byte, error) {
	var buf bytes.Buffer
	if err := gob.NewEncoder(&buf).Encode(f); err != nil {
		return nil, fmt.Errorf("encode model: %w", err)
	}
	return buf.Bytes(), nil
}

// newModel checks f's invariants and builds the in-memory model around it;
// payload is f's encoding, hashed for Version.
func newModel(f *modelFile, payload []byte) (*Model, error) {
	numLabels := len(f.Labels)
	dim := len(f.IDF)
	switch {
	case numLabels < 2:
		return nil, fmt.Errorf("model has %d labels, need at least 2", numLabels)
	case f.Features.validate() != nil:
		return nil, fmt.Errorf("feature config: %w", f.Features.validate())
	case f.Features.HashBits > 0 && dim != 1<<f.Features.HashBits:
		return nil, fmt.Errorf("hashed model has %d idf entries, want %d", dim, 1<<f.Features.HashBits)
	case f.Features.HashBits == 0 && len(f.Keys) != dim:
		return nil, fmt.Errorf("vocabulary has %d keys but %d idf entries", len(f.Keys), dim)
	case len(f.W) != dim*numLabels:
		return nil, fmt.Errorf("weights have %d entries, want %d×%d", len(f.W), dim, numLabels)
	case len(f.Bias) != numLabels || len(f.PlattA) != numLabels || len(f.PlattB) != numLabels:
		return nil, fmt.Errorf("per-label parameters do not match %d labels", numLabels)
	}
	for _, a := range f.PlattA {
		if !(a < 0) {
			return nil, fmt.Errorf("calibration slope %v is not negative", a)
		}
	}
	vec := &vectorizer{cfg: f.Features, keys: f.Keys, idf: f.IDF}
	if f.Features.HashBits == 0 {
		for i := 1; i < len(f.Keys); i++ {
			if f.Keys[i] <= f.Keys[i-1] {
				return nil, errors.New("vocabulary keys are not strictly increasing")
			}
		}
		if len(f.Keys) > 0 && f.Keys[0] == 0 {
			return nil, errors.New("vocabulary holds the reserved key 0")
		}
		vec.table = newKeyTable(f.Keys)
		vec.setBlocks()
	}
	var knn *knnIndex
	if f.KNN.Weight > 0 {
		knn = &knnIndex{p: f.KNN, off: f.KNNOff, doc: f.KNNDoc, val: f.KNNVal, label: f.KNNLabel}
		if err := knn.check(dim, numLabels); err != nil {
			return nil, err
		}
	} else if len(f.KNNOff)+len(f.KNNDoc)+len(f.KNNVal)+len(f.KNNLabel) > 0 {
		return nil, errors.New("knn postings without knn parameters")
	}
	sum := sha256.Sum256(payload)
	return &Model{
		info: Info{
			FormatVersion: int(f.formatVersion()),
			Labels:        f.Labels,
			Features:      f.Features,
			SVM:           f.SVM,
			KNN:           f.KNN,
			Exemplars:     len(f.KNNLabel),
			Dim:           dim,
			TrainedAt:     f.TrainedAt,
			DataSHA256:    hex.EncodeToString(f.DataSHA256[:]),
			Examples:      f.Examples,
			CV:            f.CV,
			Sources:       f.Sources,
		},
		vec:     vec,
		w:       f.W,
		bias:    f.Bias,
		knn:     knn,
		plattA:  f.PlattA,
		plattB:  f.PlattB,
		file:    f,
		version: versionOf(sum),
	}, nil
}

// Save writes the model in the binary model format.
func (m *Model) Save(w io.Writer) error {
	payload, err := encodePayload(m.file)
	if err != nil {
		return fmt.Errorf("save model: %w", err)
	}
	var hdr [headerSize]byte
	copy(hdr[:], modelMagic)
	binary.BigEndian.PutUint32(hdr[len(modelMagic):], m.file.formatVersion())
	binary.BigEndian.PutUint64(hdr[len(modelMagic)+4:], uint64(len(payload)))
	sum := sha256.Sum256(payload)
	for _, b := range [][]byte{hdr[:], payload, sum[:]} {
		if _, err := w.Write(b); err != nil {
			return fmt.Errorf("save model: %w", err)
		}
	}
	return nil
}

// Load reads a model written by Save. It refuses, with errors wrapping
// ErrNotModel, ErrFormatVersion or ErrCorrupt, anything that is not a model,
// a model of another format version, or a model whose checksum or contents
// do not hold together.
func Load(r io.Reader) (*Model, error) {
	var hdr [headerSize]byte
	if _, err := io.ReadFull(r, hdr[:]); err != nil {
		if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
			return nil, fmt.Errorf("load model: %w: file shorter than its %d-byte header", ErrNotModel, headerSize)
		}
		return nil, fmt.Errorf("load model: %w", err)
	}
	if string(hdr[:len(modelMagic)]) != modelMagic {
		return nil, fmt.Errorf("load model: %w", ErrNotModel)
	}
	v := binary.BigEndian.Uint32(hdr[len(modelMagic):])
	if v < 1 || v > FormatVersion {
		return nil, fmt.Errorf("load model: %w: file has version %d, this build reads versions 1 to %d; retrain or use a matching build", ErrFormatVersion, v, FormatVersion)
	}
	n := binary.BigEndian.Uint64(hdr[len(modelMagic)+4:])
	if n > maxPayload {
		return nil, fmt.Errorf("load model: %w", errPayloadTooLarge)
	}
	// Copy rather than allocate n up front: a corrupt length field must not
	// cost a gigabyte before the short read is noticed.
	var body bytes.Buffer
	if _, err := io.CopyN(&body, r, int64(n)+sha256.Size); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, fmt.Errorf("load model: %w: truncated (want %d payload bytes and checksum)", ErrCorrupt, n)
		}
		return nil, fmt.Errorf("load model: %w", err)
	}
	payload, want := body.Bytes()[:n], body.Bytes()[n:]
	if got := sha256.Sum256(payload); !bytes.Equal(got[:], want) {
		return nil, fmt.Errorf("load model: %w: checksum mismatch", ErrCorrupt)
	}
	var f modelFile
	if err := gob.NewDecoder(bytes.NewReader(payload)).Decode(&f); err != nil {
		return nil, fmt.Errorf("load model: %w: %v", ErrCorrupt, err)
	}
	if f.formatVersion() > v {
		return nil, fmt.Errorf("load model: %w: a version %d file with features of version %d", ErrCorrupt, v, f.formatVersion())
	}
	m, err := newModel(&f, payload)
	if err != nil {
		return nil, fmt.Errorf("load model: %w: %v", ErrCorrupt, err)
	}
	return m, nil
}
