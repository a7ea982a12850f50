// Package classifier is a small, trainable text classifier for Chinese
// complaint text: it turns a message into a ranked list of labels with
// calibrated confidences.
//
// The pipeline is TF-IDF over character n-grams followed by one-vs-rest
// linear SVMs, chosen by measurement on the shared citizen-message data
// (see the package tests and benchmarks for the figures):
//
//  1. Tokenise: full-width ASCII forms are folded to half-width, Latin is
//     lower-cased, every Han character is a token of its own, digit runs and
//     letter runs are single tokens, punctuation and whitespace separate
//     segments and are dropped.
//  2. Features: token unigrams plus bigrams of adjacent Han characters that
//     are not separated by anything (never across punctuation), weighted by
//     sublinear tf times idf and L2-normalised per document.
//  3. Scores: one linear SVM per label (L2-regularised, squared hinge loss,
//     trained by dual coordinate descent with shrinking, as in LIBLINEAR).
//     The shipped first-level options (DefaultOptions) train each label's
//     SVM twice, on naive-Bayes-scaled and on plain features, and average
//     the two into one linear model.
//  4. Confidences: a Platt sigmoid per label fitted on out-of-fold
//     (cross-validated) decision values, then normalised across labels so
//     the confidences of one prediction sum to 1.
//
// Labels are whatever the training data says. The shared messages give a
// 7-label first-level model; the built-in corpus (DefaultCorpus, TrainDefault)
// gives a catalogue model whose labels are item codes, which FirstLevelClass
// and GroupBy map to first-level hotline classes with the catalogue's mapping
// passed in as data.
//
// Models are immutable after Train or Load and safe for concurrent use.
// The model file is a versioned binary with a SHA-256 checksum; see Save.
package classifier
