package cli

// THROWAWAY (issue 15 round 8 screening).

import (
	"bufio"
	"encoding/json"
	"os"
	"strings"
	"unicode"

	"github.com/gridflow/gridflow/services/classify/internal/classifier"
)

func squash(s string) string {
	return strings.Map(func(r rune) rune {
		if unicode.IsSpace(r) {
			return -1
		}
		return r
	}, s)
}

func loadSelf(labelled []string) int {
	path := os.Getenv("GF_SELF")
	if path == "" {
		return 0
	}
	var lab []string
	for _, t := range labelled {
		lab = append(lab, squash(t))
	}
	if ex := os.Getenv("GF_SELF_EXCL"); ex != "" {
		f, _ := os.Open(ex)
		sc := bufio.NewScanner(f)
		sc.Buffer(make([]byte, 1<<20), 1<<24)
		for sc.Scan() {
			var e struct{ Text string }
			json.Unmarshal(sc.Bytes(), &e)
			lab = append(lab, squash(e.Text))
		}
		f.Close()
	}
	whole := map[string]bool{}
	for _, l := range lab {
		whole[l] = true
	}
	f, err := os.Open(path)
	if err != nil {
		panic(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<24)
	dropped := 0
	for sc.Scan() {
		var u struct{ Title, Detail string }
		json.Unmarshal(sc.Bytes(), &u)
		t := squash(u.Title + u.Detail)
		title, det := squash(u.Title), []rune(squash(u.Detail))
		open := string(det[:min(40, len(det))])
		hit := whole[t]
		for _, l := range lab {
			if hit {
				break
			}
			if (len([]rune(title)) >= 8 && strings.HasPrefix(l, title)) || (len(det) >= 20 && strings.Contains(l, open)) {
				hit = true
			}
		}
		if hit {
			dropped++
			continue
		}
		classifier.SelfTexts = append(classifier.SelfTexts, u.Title+u.Detail)
	}
	println("self-training texts:", len(classifier.SelfTexts), "dropped as overlapping:", dropped)
	return len(classifier.SelfTexts)
}
