package loadgen

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
)

// Text is one citizen message: a title and its body.
type Text struct {
	Title string
	Body  string
}

// The limits intake sets on a work order's title and content (runes).
const (
	maxTitleRunes = 200
	maxBodyRunes  = 10000
)

// ReadTexts reads messages from a JSON Lines file, or from every *.jsonl
// file of a directory (in name order). It takes both shapes the project
// knows: {"title", "detail"} (the shared unlabelled and replies files) and
// {"text"} (labelled files and classify's corpus, the title being the
// text's first sentence). Texts are cut to what intake accepts.
func ReadTexts(path string) ([]Text, error) {
	st, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	files := []string{path}
	if st.IsDir() {
		files, err = filepath.Glob(filepath.Join(path, "*.jsonl"))
		if err != nil {
			return nil, err
		}
		slices.Sort(files)
	}
	var out []Text
	for _, f := range files {
		ts, err := readTextFile(f)
		if err != nil {
			return nil, err
		}
		out = append(out, ts...)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("no messages in %s", path)
	}
	return out, nil
}

func readTextFile(path string) ([]Text, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return parseTexts(f, path)
}

func parseTexts(r io.Reader, name string) ([]Text, error) {
	var out []Text
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 1<<20), 1<<24)
	for line := 1; sc.Scan(); line++ {
		if strings.TrimSpace(sc.Text()) == "" {
			continue
		}
		var m struct {
			Title  string `json:"title"`
			Detail string `json:"detail"`
			Text   string `json:"text"`
		}
		if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
			return nil, fmt.Errorf("%s:%d: %w", name, line, err)
		}
		t := Text{Title: strings.TrimSpace(m.Title), Body: strings.TrimSpace(m.Detail)}
		if t.Body == "" {
			t.Body = strings.TrimSpace(m.Text)
		}
		if t.Body == "" {
			continue
		}
		if t.Title == "" {
			t.Title = firstSentence(t.Body)
		}
		t.Title, t.Body = cut(t.Title, maxTitleRunes), cut(t.Body, maxBodyRunes)
		out = append(out, t)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	return out, nil
}

// firstSentence is a title for a text that has none: up to the first
// full stop, comma or 40 characters.
func firstSentence(s string) string {
	if i := strings.IndexAny(s, "。！？，,.!?"); i > 0 {
		s = s[:i]
	}
	return cut(s, 40)
}

func cut(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n])
}

// FindTexts is where the load's texts come from when not named: the shared
// citizen messages (dir/data/messages under shared, the first of shared that
// exists), else the project's own corpus (classify's built-in training
// texts, written for the project) under root. It returns the path and what
// it is, for the run's first line.
func FindTexts(shared []string, root string) (path, what string, err error) {
	for _, s := range shared {
		if s == "" {
			continue
		}
		p := filepath.Join(s, "data", "messages")
		if files, _ := filepath.Glob(filepath.Join(p, "*.jsonl")); len(files) > 0 {
			return p, "the shared citizen messages", nil
		}
	}
	if root != "" {
		p := filepath.Join(root, "services", "classify", "internal", "classifier", "corpus", "default.jsonl")
		if _, err := os.Stat(p); err == nil {
			return p, "the project's corpus (no shared messages found)", nil
		}
	}
	return "", "", errors.New("no texts: neither the shared messages (../shared/data/messages, GRIDFLOW_SHARED_DIR) nor the project's corpus were found; pass --texts FILE|DIR")
}
