package classifier

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

// sharedMessagesDir finds the shared labelled messages: $GRIDFLOW_SHARED_DIR/
// data/messages, else a sibling shared/data/messages of the working directory
// or one of its parents (the repository is cloned next to shared/). It
// returns the directory, or "" and the paths it tried.
func sharedMessagesDir() (string, []string) {
	var tried []string
	if root := os.Getenv("GRIDFLOW_SHARED_DIR"); root != "" {
		dir := filepath.Join(root, "data", "messages")
		if st, err := os.Stat(dir); err == nil && st.IsDir() {
			return dir, nil
		}
		return "", []string{dir}
	}
	wd, err := os.Getwd()
	if err != nil {
		return "", nil
	}
	for dir := wd; ; dir = filepath.Dir(dir) {
		cand := filepath.Join(dir, "shared", "data", "messages")
		tried = append(tried, cand)
		if st, err := os.Stat(cand); err == nil && st.IsDir() {
			return cand, nil
		}
		if filepath.Dir(dir) == dir {
			return "", tried
		}
	}
}

var sharedCache sync.Map // file name → []Example

// sharedPath is the path of one shared messages file, skipping loudly when
// the data is absent locally and failing under CI=true, where it must be
// present.
func sharedPath(tb testing.TB, name string) string {
	tb.Helper()
	dir, tried := sharedMessagesDir()
	if dir == "" {
		msg := "SHARED DATA NOT FOUND (set GRIDFLOW_SHARED_DIR to the shared/ directory); tried: " + strings.Join(tried, ", ")
		if os.Getenv("CI") == "true" {
			tb.Fatal(msg)
		}
		tb.Skip(msg)
	}
	return filepath.Join(dir, name)
}

// sharedExamples loads one shared labelled JSONL file (sharedPath).
func sharedExamples(tb testing.TB, name string) []Example {
	tb.Helper()
	if v, ok := sharedCache.Load(name); ok {
		return v.([]Example)
	}
	f, err := os.Open(sharedPath(tb, name))
	if err != nil {
		tb.Fatal(err)
	}
	defer f.Close()
	ex, err := ReadJSONL(f)
	if err != nil {
		tb.Fatalf("%s: %v", name, err)
	}
	sharedCache.Store(name, ex)
	return ex
}

// sharedTexts loads a shared file of unlabelled messages ({"id", "title",
// "detail"}, sharedPath) as examples without labels, title and detail run
// together as train.jsonl writes them.
func sharedTexts(tb testing.TB, name string) []Example {
	tb.Helper()
	key := "texts:" + name
	if v, ok := sharedCache.Load(key); ok {
		return v.([]Example)
	}
	data, err := os.ReadFile(sharedPath(tb, name))
	if err != nil {
		tb.Fatal(err)
	}
	var out []Example
	for line := range bytes.Lines(data) {
		var m struct{ ID, Title, Detail string }
		if err := json.Unmarshal(line, &m); err != nil {
			tb.Fatalf("%s: %v", name, err)
		}
		out = append(out, Example{ID: m.ID, Text: m.Title + m.Detail})
	}
	sharedCache.Store(key, out)
	return out
}
