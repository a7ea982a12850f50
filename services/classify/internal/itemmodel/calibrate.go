package itemmodel

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
)

// Tuned is a hand-read label with what the served decision does with its
// message before the item step: the class it files the message under
// ("" when the item step does not apply: a direct keyword rule, review,
// a class not sure enough) and the items keyword rules name in that class.
// Labelled.Hints are the hints in the message's gold class (training);
// Hints those in Class (serving).
type Tuned struct {
	Labelled
	Class     string
	ClassConf float64
	Hints     []string
}

// Fold assigns id to one of k folds by a hash of the id and salt alone: the
// same on every machine, whatever else is in the file.
func Fold(id, salt string, k int) int {
	h := sha256.Sum256([]byte(salt + "\x00" + id))
	v := uint64(0)
	for _, b := range h[:8] {
		v = v<<8 | uint64(b)
	}
	return int(v % uint64(k))
}

func shortHash(s string) string {
	h := sha256.Sum256([]byte(s))
	return hex.EncodeToString(h[:6])
}

func labelsOf(ts []Tuned) []Labelled {
	out := make([]Labelled, len(ts))
	for i, t := range ts {
		out[i] = t.Labelled
	}
	return out
}

// OutOfFold returns the records of tuned predicted out of fold: tuned is
// split into o.Folds folds (salted by salt), and each fold is predicted by
// a set trained on base and the other folds. Messages without a class, or
// whose class has no model, give no record.
func OutOfFold(ctx context.Context, base []Labelled, tuned []Tuned, classOf func(string) (string, bool), salt string, o Options) ([]Record, error) {
	var out []Record
	for f := range o.Folds {
		train := append([]Labelled(nil), base...)
		var test []Tuned
		for _, t := range tuned {
			if Fold(t.ID, salt, o.Folds) == f {
				test = append(test, t)
			} else {
				train = append(train, t.Labelled)
			}
		}
		if len(test) == 0 {
			continue
		}
		s, err := Train(ctx, train, classOf, Thresholds{}, o)
		if err != nil {
			return nil, fmt.Errorf("fold %d: %w", f+1, err)
		}
		for _, t := range test {
			if t.Class == "" {
				continue
			}
			preds := s.Predict(t.Class, t.Text, t.Hints)
			if preds == nil {
				continue
			}
			out = append(out, Record{Gold: t.Code, Class: t.Class, ClassConf: t.ClassConf, Hints: t.Hints, Preds: preds})
		}
	}
	return out, nil
}

// Build trains the set served: thresholds chosen on out-of-fold
// predictions of tuned (Choose at o.Target), then every class's model on
// base and all of tuned. The outcome is the chosen thresholds' on the
// out-of-fold records: an estimate made on the labels the set then trains
// on, so not a figure to report (CrossFit gives that).
func Build(ctx context.Context, base []Labelled, tuned []Tuned, classOf func(string) (string, bool), o Options) (*Set, Outcome, error) {
	o.CalibTarget = o.Target
	return BuildOn(ctx, base, nil, tuned, classOf, o)
}

// BuildOn trains the set served with its thresholds chosen on out-of-fold
// predictions of calib alone (Choose at o.CalibTarget): each fold of calib is
// predicted by a set trained on base, fixed and calib's other folds. The
// set then trains on base, fixed and all of calib. Labels in fixed are
// learnt from but never calibrated on. Issue 15 calibrates on every
// hand-read label the set may see (Calibrated): the history's and the
// measured set's but the measured fold's.
func BuildOn(ctx context.Context, base, fixed []Labelled, calib []Tuned, classOf func(string) (string, bool), o Options) (*Set, Outcome, error) {
	train := append(append([]Labelled(nil), base...), fixed...)
	recs, err := OutOfFold(ctx, train, calib, classOf, "calibrate", o)
	if err != nil {
		return nil, Outcome{}, fmt.Errorf("calibrate items: %w", err)
	}
	t, est := Choose(recs, o.CalibTarget)
	s, err := Train(ctx, append(train, labelsOf(calib)...), classOf, t, o)
	if err != nil {
		return nil, Outcome{}, err
	}
	return s, est, nil
}

// CrossFit returns, for each of o.Folds folds of tuned (salted "cross-fit"),
// a set built without that fold, and the fold of every tuned id: a message
// of fold k measured with set k was never seen by it, neither in training
// nor in calibration. Without calib the thresholds are chosen on the other
// folds of tuned (Build, at o.Target); with calib (issue 15: hand-read
// labels of the history) on calib and the other folds of tuned together
// (BuildOn, at o.CalibTarget): every label but the measured fold's, as the
// set served is calibrated on every label (see Calibrated).
func CrossFit(ctx context.Context, base []Labelled, tuned, calib []Tuned, classOf func(string) (string, bool), o Options, progress func(string)) ([]*Set, map[string]int, error) {
	if progress == nil {
		progress = func(string) {}
	}
	folds := map[string]int{}
	sets := make([]*Set, o.Folds)
	for _, t := range tuned {
		folds[t.ID] = Fold(t.ID, "cross-fit", o.Folds)
	}
	for k := range o.Folds {
		var in []Tuned
		for _, t := range tuned {
			if folds[t.ID] != k {
				in = append(in, t)
			}
		}
		var (
			s   *Set
			est Outcome
			err error
		)
		if len(calib) == 0 {
			s, est, err = Build(ctx, base, in, classOf, o)
		} else {
			s, est, err = BuildOn(ctx, base, nil, Calibrated(calib, in), classOf, o)
		}
		if err != nil {
			return nil, nil, fmt.Errorf("cross-fit fold %d: %w", k+1, err)
		}
		sets[k] = s
		progress(fmt.Sprintf("cross-fit fold %d/%d: %d of the measured set's labels and %d history labels in training and calibration, thresholds %s (calibration estimate precision %.3f, %d of %d filed)",
			k+1, o.Folds, len(in), len(calib), s.Thresholds(), est.Precision(), est.Filed, est.N))
	}
	return sets, folds, nil
}

// Calibrated is the calibration set of issue 15's cross-fitting: the
// history's hand-read labels (calib) and the measured set's labels the
// model may see (tuned: the other folds when measuring, all of them when
// serving), both learnt from and calibrated on. It is a new slice; neither
// argument is changed.
func Calibrated(calib, tuned []Tuned) []Tuned {
	return append(append(make([]Tuned, 0, len(calib)+len(tuned)), calib...), tuned...)
}
