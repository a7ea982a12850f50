package classifier

import (
	"runtime"
	"syscall"
	"testing"
	"time"

	"github.com/go-ego/gse"
)

// BenchmarkGSE: issue 15, round 7 — the cost of gse's segmentation of a
// 500-character text on one core, and of loading its embedded dictionary.
func BenchmarkGSE(b *testing.B) {
	texts := benchTexts(b, 500, 1000)
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	start := time.Now()
	seg, err := gse.NewEmbed("zh_s")
	if err != nil {
		b.Fatal(err)
	}
	load := time.Since(start)
	runtime.GC()
	runtime.ReadMemStats(&after)
	b.Logf("gse zh_s load %s, heap %.1f MiB, %d tokens", load, float64(after.HeapAlloc-before.HeapAlloc)/(1<<20), seg.Dict.NumTokens())
	for _, mode := range []string{"slice", "dag", "dag-hmm", "search"} {
		b.Run(mode, func(b *testing.B) {
			i := 0
			n := 0
			for b.Loop() {
				t := texts[i%len(texts)]
				switch mode {
				case "slice":
					n += len(seg.Cut(t))
				case "dag":
					n += len(seg.Cut(t, false))
				case "dag-hmm":
					n += len(seg.Cut(t, true))
				case "search":
					n += len(seg.CutSearch(t, false))
				}
				i++
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "texts/s")
			b.ReportMetric(float64(n)/float64(b.N), "words/text")
		})
	}
	runtime.KeepAlive(seg)
}

// BenchmarkPredict7LabelsSeg: issue 15, round 7 — DefaultOptions with a
// dictionary segmenter's words beside the characters (weight 0.5), against
// the budget: gse's cut at prediction, and forward maximum matching on its
// dictionary inside our tokenizer.
func BenchmarkPredict7LabelsSegGSE(b *testing.B) {
	o := DefaultOptions()
	o.Features.Seg, o.Features.WordWeight = SegGSE, 0.5
	benchPredictCPU(b, benchModel(b, "7-seg-gse", o, nil))
}

func BenchmarkPredict7LabelsSegFMM(b *testing.B) {
	o := DefaultOptions()
	o.Features.Seg, o.Features.WordWeight = SegFMM, 0.5
	benchPredictCPU(b, benchModel(b, "7-seg-fmm", o, nil))
}

// BenchmarkPredict7LabelsCPU is BenchmarkPredict7Labels timed by CPU.
func BenchmarkPredict7LabelsCPU(b *testing.B) {
	benchPredictCPU(b, benchModel(b, "7", DefaultOptions(), nil))
}

func cpuSeconds(b *testing.B) float64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano()).Seconds()
}

// benchPredictCPU is benchPredict, also reporting predictions per second of
// the process's CPU time (GOMAXPROCS=1: one core), which a shared, loaded
// machine does not distort as it does wall time.
func benchPredictCPU(b *testing.B, m *Model) {
	texts := benchTexts(b, 500, 1000)
	m.Predict(texts[0], 3)
	b.ReportAllocs()
	b.ResetTimer()
	cpu := cpuSeconds(b)
	i := 0
	for b.Loop() {
		m.Predict(texts[i%len(texts)], 3)
		i++
	}
	cpu = cpuSeconds(b) - cpu
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "texts/s")
	b.ReportMetric(float64(b.N)/cpu, "cpu-texts/s")
	b.ReportMetric(modelMiB(b, m), "model-MiB")
}

// BenchmarkSegVocabFMM: SegVocab's cost at prediction, the part a model
// would add to Predict: forward maximum matching of a 500-character text on
// the dictionary of gse's words seen in at least 2 training messages (run
// and segWords; Predict tokenises anyway, so run is counted twice here).
func BenchmarkSegVocabFMM(b *testing.B) {
	train := sharedExamples(b, "train.jsonl")
	cands := make([][]uint64, len(train))
	idx := make([]int, len(train))
	for i, e := range train {
		cands[i], idx[i] = segCandidates(e.Text), i
	}
	dict := segVocab(cands, idx, 2)
	n := 0
	for _, sl := range dict.slots {
		if sl.key != 0 {
			n++
		}
	}
	b.Logf("dictionary: %d words, %d slots", n, len(dict.slots))
	for _, c := range []struct {
		name string
		dict *keyTable
	}{{"vocab", dict}, {"gse-dict", &gseDict}, {"tokenise-only", nil}} {
		b.Run(c.name, func(b *testing.B) {
			texts := benchTexts(b, 500, 1000)
			var z tokenizer
			var keys []uint64
			cpu := cpuSeconds(b)
			i := 0
			for b.Loop() {
				t := texts[i%len(texts)]
				z.run(t)
				if c.dict != nil {
					keys = appendWordKeys(keys[:0], z.segWords(t, SegFMM, c.dict), false)
				}
				i++
			}
			cpu = cpuSeconds(b) - cpu
			b.ReportMetric(float64(b.N)/cpu, "cpu-texts/s")
			b.ReportMetric(cpu*1e6/float64(b.N), "cpu-µs/text")
		})
	}
}
