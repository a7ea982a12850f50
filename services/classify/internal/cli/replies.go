package cli

import (
	"bufio"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"

	"github.com/gridflow/gridflow/services/classify/internal/classifier"
)

// replyFlags bring the messages of a replies file (../shared's
// replies.jsonl: id, title, detail, reply …) into training as extras (issue
// 15): the message (title + detail) is what the model reads, the bureau its
// reply names (classifier.ReplyBureau) a second view of its label.
type replyFlags struct {
	file    *string
	exclude *string
	weight  *float64
	mode    *string
	vocab   *bool
}

func addReplyFlags(fs *flag.FlagSet) *replyFlags {
	return &replyFlags{
		file:    fs.String("replies", "", "messages with official replies (JSONL: id, title, detail, reply) to train on as extras, labelled by the bureau the reply names"),
		exclude: fs.String("replies-exclude", "", "also drop from --replies the messages of this labelled JSONL (the dev set); --data's are always dropped"),
		weight:  fs.Float64("replies-weight", 1, "weight of a reply message trained on; 0 leaves them out"),
		vocab:   fs.Bool("replies-vocab", false, "let the reply messages trained on shape the vocabulary and idf too"),
		mode:    fs.String("replies-mode", "agree", "agree: only where the message model trained on the fit's examples agrees with the bureau the reply names; top2: the bureau among its two best; cotrain: where it agrees with a reply view learnt from its labels; hint: every reply naming a bureau"),
	}
}

// apply reads the replies, drops those also in examples or --replies-exclude
// and sets o's extras. It reports what it read to stderr.
func (f *replyFlags) apply(o *classifier.Options, examples []classifier.Example, stderr io.Writer) error {
	if *f.file == "" {
		return nil
	}
	extras, titles, err := readReplies(*f.file)
	if err != nil {
		return err
	}
	against := [][]classifier.Example{examples}
	if *f.exclude != "" {
		ex, err := readExamples(*f.exclude)
		if err != nil {
			return err
		}
		against = append(against, ex)
	}
	kept, removed := classifier.DropOverlap(extras, titles, against...)
	hinted := 0
	for _, e := range kept {
		if e.Hint != "" {
			hinted++
		}
	}
	fmt.Fprintf(stderr, "replies %s: %d messages, %d removed as also labelled, %d of the rest name one bureau\n", *f.file, len(extras), removed, hinted)
	o.Extras = kept
	o.Extra = classifier.ExtraParams{Weight: *f.weight, Mode: *f.mode, Vocab: *f.vocab}
	o.Sources = append(o.Sources, classifier.Source{Kind: "replies", Name: *f.file, Weight: o.Extra.Weight, Examples: len(kept), HeldOut: removed})
	return nil
}

// readReplies reads a replies file: each message's extra (text = title +
// detail, hint = the bureau its reply names) and title.
func readReplies(path string) ([]classifier.Extra, []string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, nil, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 0, 64<<10), 16<<20)
	var extras []classifier.Extra
	var titles []string
	line := 0
	for sc.Scan() {
		line++
		var r struct {
			ID     string `json:"id"`
			Title  string `json:"title"`
			Detail string `json:"detail"`
			Reply  string `json:"reply"`
		}
		if len(sc.Bytes()) == 0 {
			continue
		}
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
			return nil, nil, fmt.Errorf("%s: line %d: %w", path, line, err)
		}
		extras = append(extras, classifier.Extra{ID: r.ID, Text: r.Title + r.Detail, Hint: classifier.ReplyBureau(r.Reply), Reply: r.Reply})
		titles = append(titles, r.Title)
	}
	if err := sc.Err(); err != nil {
		return nil, nil, fmt.Errorf("%s: %w", path, err)
	}
	return extras, titles, nil
}
