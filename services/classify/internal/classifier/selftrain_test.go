package classifier

import (
	"bytes"
	"encoding/binary"
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestDropTexts(t *testing.T) {
	t.Parallel()
	dev := []Example{{Text: "路灯 坏了\n请修"}, {Text: "噪音扰民"}}
	texts := []string{"路灯坏了请修", " 噪音\u3000扰民 ", "噪音扰民！", "停水"}
	got, dropped := DropTexts(texts, dev)
	if diff := cmp.Diff([]string{"噪音扰民！", "停水"}, got); diff != "" || dropped != 2 {
		t.Errorf("DropTexts kept (-want +got):\n%s dropped %d, want 2", diff, dropped)
	}
}

func TestSelfTrainAccept(t *testing.T) {
	t.Parallel()
	s := SelfTrain{MinScore: 0.5}
	tests := []struct {
		scores []float64
		label  int
		ok     bool
	}{
		{[]float64{-1, 0.7, -0.2}, 1, true},
		{[]float64{-1, 0.4, -0.2}, 0, false},  // below MinScore
		{[]float64{0.1, 0.7, -0.2}, 0, false}, // a second label says yes
	}
	for _, tt := range tests {
		if l, ok := s.accept(tt.scores); l != tt.label || ok != tt.ok {
			t.Errorf("accept(%v) = %d, %t; want %d, %t", tt.scores, l, ok, tt.label, tt.ok)
		}
	}
}

// TestSelfTrainLearnsFromUnlabelledText: 抄表 never occurs in the labelled
// examples; an unlabelled text that is confidently about water carries it
// in, so a model self-trained on that text files 抄表 under water.
func TestSelfTrainLearnsFromUnlabelledText(t *testing.T) {
	t.Parallel()
	o := tinyOptions()
	o.SelfTrain = SelfTrain{Texts: []string{"停水停水自来水抄表抄表"}, MinScore: 0, Weight: 1}
	var lines []string
	m, err := Train(t.Context(), tinyExamples(), o, func(s string) { lines = append(lines, s) })
	if err != nil {
		t.Fatal(err)
	}
	if got := m.Predict("抄表", 1)[0].Label; got != "water" {
		t.Errorf("self-trained model files 抄表 under %q, want water; progress: %q", got, lines)
	}
	o.SelfTrain.Weight = 0
	if _, err := Train(t.Context(), tinyExamples(), o, nil); err == nil {
		t.Error("Train accepted self-training weight 0")
	}
}

func TestTrigramModelIsFormatVersion2(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		ngram, version int
	}{{2, 1}, {3, 2}} {
		o := tinyOptions()
		o.Features.NGramMax = tt.ngram
		m, err := Train(t.Context(), tinyExamples(), o, nil)
		if err != nil {
			t.Fatal(err)
		}
		var buf bytes.Buffer
		if err := m.Save(&buf); err != nil {
			t.Fatal(err)
		}
		b := buf.Bytes()
		if v := binary.BigEndian.Uint32(b[len(modelMagic):]); int(v) != tt.version {
			t.Errorf("n-gram max %d: file version %d, want %d", tt.ngram, v, tt.version)
		}
		back, err := Load(bytes.NewReader(b))
		if err != nil {
			t.Fatal(err)
		}
		if back.Version() != m.Version() || back.Info().FormatVersion != tt.version {
			t.Errorf("n-gram max %d: loaded %s v%d, saved %s", tt.ngram, back.Version(), back.Info().FormatVersion, m.Version())
		}
		if tt.version == 2 {
			// The same payload claimed as version 1 is refused: a version 1
			// reader would not make trigrams.
			binary.BigEndian.PutUint32(b[len(modelMagic):], 1)
			if _, err := Load(bytes.NewReader(b)); !errors.Is(err, ErrCorrupt) {
				t.Errorf("trigram model under version 1: %v, want ErrCorrupt", err)
			}
		}
	}
}
