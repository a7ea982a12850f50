package cli

import (
	"bufio"
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/gridflow/gridflow/pkg/address"
	"github.com/gridflow/gridflow/pkg/reference"
	"github.com/gridflow/gridflow/services/classify/internal/classify"
	"github.com/gridflow/gridflow/services/classify/internal/classify/memstore"
	"github.com/gridflow/gridflow/services/classify/internal/model"
	"github.com/gridflow/gridflow/services/classify/internal/rules"
)

// Message is one citizen message of the shared unlabelled set.
type Message struct {
	ID     string `json:"id"`
	Title  string `json:"title"`
	Time   string `json:"time"`
	Detail string `json:"detail"`
}

// ReadMessages reads one message per line.
func ReadMessages(r io.Reader) ([]Message, error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64<<10), 16<<20)
	var out []Message
	line := 0
	for sc.Scan() {
		line++
		b := bytes.TrimSpace(sc.Bytes())
		if len(b) == 0 {
			continue
		}
		var m Message
		if err := json.Unmarshal(b, &m); err != nil {
			return nil, fmt.Errorf("line %d: %w", line, err)
		}
		out = append(out, m)
	}
	return out, sc.Err()
}

var shanghai = func() *time.Location {
	loc, err := time.LoadLocation("Asia/Shanghai")
	if err != nil {
		return time.FixedZone("CST", 8*3600)
	}
	return loc
}()

// ParseMessageTime reads the message board's times: "2019/2/28 11:25:05", or
// a spreadsheet serial day number ("43856.82") for some rows.
func ParseMessageTime(s string) (time.Time, error) {
	s = strings.TrimSpace(s)
	for _, layout := range []string{"2006/1/2 15:04:05", "2006/1/2 15:04", "2006-01-02 15:04:05"} {
		if t, err := time.ParseInLocation(layout, s, shanghai); err == nil {
			return t, nil
		}
	}
	if f, err := strconv.ParseFloat(s, 64); err == nil && f > 20000 && f < 80000 {
		day := math.Floor(f)
		base := time.Date(1899, 12, 30, 0, 0, 0, 0, shanghai).AddDate(0, 0, int(day))
		return base.Add(time.Duration((f - day) * 24 * float64(time.Hour))).Round(time.Second), nil
	}
	return time.Time{}, fmt.Errorf("time %q: not a message-board time", s)
}

// The messages are anonymised: cities and districts read "A市", "A3区",
// "K3县". They are taken out of the text (the normaliser does not read them)
// and the district becomes the case's district.
var (
	anonCity     = regexp.MustCompile(`[A-Z][0-9]*市`)
	anonDistrict = regexp.MustCompile(`[A-Z][0-9]+[区县]`)
)

// MessageCase turns a message into the case intake would publish for it:
// the title is where people name the place, so it is the address; the
// anonymised district is the area. With ignoreShop the address is given as
// its key without the shop part: in these titles the normaliser often takes
// the words after a place name for a shop ("…小区业委会违规" → shop 业委会违规),
// which keeps true duplicates apart.
func MessageCase(m Message, ignoreShop bool) (classify.Case, error) {
	at, err := ParseMessageTime(m.Time)
	if err != nil {
		return classify.Case{}, fmt.Errorf("message %s: %w", m.ID, err)
	}
	district := anonDistrict.FindString(m.Title)
	if district == "" {
		district = anonDistrict.FindString(m.Detail)
	}
	addr := anonDistrict.ReplaceAllString(anonCity.ReplaceAllString(m.Title, ""), "")
	if district == "" {
		district = reference.Unknown
	}
	addrKey := ""
	if ignoreShop {
		a := address.Normalise(addr).WithDistrict(strings.TrimPrefix(district, reference.Unknown))
		if k := a.Key(); k != "" && a.Precision() > address.PrecisionRoad || (a.CrossRoad != "" && a.Road != "") {
			addrKey = k[:strings.LastIndexByte(k, '|')+1]
		}
		addr = ""
	}
	return classify.Case{ID: m.ID, Number: m.ID, Source: reference.FromHotline, Title: m.Title, Content: m.Detail,
		Address: addr, AddressKey: addrKey, Area: reference.AreaCodes{District: district, Street: reference.Unknown, Community: reference.Unknown, Grid: reference.Unknown},
		ReceivedAt: at, AcceptedAt: at}, nil
}

// GroupReport is what grouping did to a set of messages.
type GroupReport struct {
	Messages, WithPlace, WithCells int
	From, To                       time.Time
	Incidents                      int
	// Groups are incidents with two reports or more; Grouped their reports.
	Groups, Grouped int
	Sizes           map[int]int
	Largest         int
	Raised          int
	SourcePlaces    int
	Linked          int
	Sample          []SampleGroup
	ModelVersion    string
}

// SampleGroup is one incident for people to judge.
type SampleGroup struct {
	Item, Place string
	Reports     []string // "id time title"
}

// GroupMessages replays messages, oldest first, through the classify domain
// on an in-memory store: the real rules, model, grouping and attribution.
// Every case is filed under the model's best item (no review), as if every
// review had agreed with the model.
func GroupMessages(ctx context.Context, msgs []Message, m classify.Model, ref *reference.Set, rs *rules.Set, sample int, ignoreShop bool) (*GroupReport, error) {
	var cases []classify.Case
	for _, msg := range msgs {
		c, err := MessageCase(msg, ignoreShop)
		if err != nil {
			return nil, err
		}
		cases = append(cases, c)
	}
	slices.SortStableFunc(cases, func(a, b classify.Case) int { return a.ReceivedAt.Compare(b.ReceivedAt) })
	st := memstore.New()
	var clock time.Time
	cfg := classify.DefaultConfig()
	cfg.ReviewThreshold, cfg.ClassThreshold = 0, 2
	n := 0
	svc := classify.New(cfg, st, classify.Deps{
		Reference:    func() *reference.Set { return ref },
		Rules:        func() *rules.Set { return rs },
		Model:        func() classify.Model { return m },
		DistrictName: func(code string) string { return strings.TrimPrefix(code, reference.Unknown) },
		Now:          func() time.Time { return clock },
		NewID:        func() string { n++; return fmt.Sprintf("inc-%05d", n) },
	})
	rep := &GroupReport{Messages: len(cases), Sizes: map[int]int{}, ModelVersion: m.Version()}
	byID := map[string]classify.Case{}
	for _, c := range cases {
		clock = c.ReceivedAt
		byID[c.ID] = c
		if p := classify.PlaceOf(&c, strings.TrimPrefix(c.Area.District, reference.Unknown), cfg.CellSize); !p.Empty() {
			rep.WithPlace++
		}
		if err := st.Tx(ctx, func(ctx context.Context, tx classify.Tx) error { return svc.Receive(ctx, tx, c) }); err != nil {
			return nil, fmt.Errorf("message %s: %w", c.ID, err)
		}
	}
	if len(cases) > 0 {
		rep.From, rep.To = cases[0].ReceivedAt, cases[len(cases)-1].ReceivedAt
	}
	incs := st.Incidents()
	rep.Incidents = len(incs)
	var groups []*classify.Incident
	for _, inc := range incs {
		k := inc.Reports()
		if k < 2 {
			continue
		}
		groups = append(groups, inc)
		rep.Groups++
		rep.Grouped += k
		rep.Sizes[k]++
		rep.Largest = max(rep.Largest, k)
		if inc.UrgencyRaised {
			rep.Raised++
		}
	}
	places := st.SourcePlaces()
	rep.SourcePlaces = len(places)
	for _, p := range places {
		rep.Linked += len(p.IncidentIDs)
	}
	slices.SortStableFunc(groups, func(a, b *classify.Incident) int {
		return cmp.Or(cmp.Compare(b.Reports(), a.Reports()), a.FirstAt.Compare(b.FirstAt))
	})
	for _, inc := range groups[:min(sample, len(groups))] {
		name := inc.ItemCode
		if it, ok := ref.Item(inc.ItemCode); ok {
			name += " " + it.Name
		}
		sg := SampleGroup{Item: name, Place: inc.Place.Key}
		for _, id := range inc.CaseIDs {
			c := byID[id]
			sg.Reports = append(sg.Reports, fmt.Sprintf("%s %s %s", id, c.ReceivedAt.In(shanghai).Format("2006-01-02 15:04"), c.Title))
		}
		rep.Sample = append(rep.Sample, sg)
	}
	return rep, nil
}

// Print writes the report for people.
func (r *GroupReport) Print(w io.Writer) {
	fmt.Fprintf(w, "messages: %d (%s … %s), model %s\n", r.Messages, r.From.In(shanghai).Format("2006-01-02"), r.To.In(shanghai).Format("2006-01-02"), r.ModelVersion)
	fmt.Fprintf(w, "with a place precise enough to group (address key finer than a road): %d (%.1f%%)\n", r.WithPlace, pct(r.WithPlace, r.Messages))
	fmt.Fprintf(w, "incidents: %d; with 2+ reports: %d, holding %d reports (%d duplicates not dispatched, %.1f%% of messages)\n",
		r.Incidents, r.Groups, r.Grouped, r.Grouped-r.Groups, pct(r.Grouped-r.Groups, r.Messages))
	var sizes []int
	for k := range r.Sizes {
		sizes = append(sizes, k)
	}
	slices.Sort(sizes)
	var parts []string
	for _, k := range sizes {
		parts = append(parts, fmt.Sprintf("%d×%d", r.Sizes[k], k))
	}
	fmt.Fprintf(w, "group sizes (groups×reports): %s; largest %d; urgency raised (≥ threshold): %d\n", strings.Join(parts, " "), r.Largest, r.Raised)
	fmt.Fprintf(w, "attribution: %d source places linking %d incidents of different subjects\n", r.SourcePlaces, r.Linked)
	for i, g := range r.Sample {
		fmt.Fprintf(w, "sample %d: %s at %q, %d reports\n", i+1, g.Item, g.Place, len(g.Reports))
		for _, rep := range g.Reports {
			fmt.Fprintf(w, "    %s\n", rep)
		}
	}
}

func pct(a, b int) float64 {
	if b == 0 {
		return 0
	}
	return 100 * float64(a) / float64(b)
}

// Group implements
//
//	classify group --data MESSAGES.jsonl [--model MODEL] [--sample 10] [--ignore-shop]
//
// It replays a file of citizen messages ({"id","title","time","detail"}, the
// shared unlabelled.jsonl) through classification and grouping in memory
// and reports the incidents: how many, their sizes, a sample.
func Group(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("classify group", flag.ContinueOnError)
	fs.SetOutput(stderr)
	data := fs.String("data", "", "messages, JSONL lines {\"id\",\"title\",\"time\",\"detail\"} (required)")
	modelFile := fs.String("model", "", "a model file (default: the default catalogue model)")
	sample := fs.Int("sample", 10, "how many of the largest groups to show")
	ignoreShop := fs.Bool("ignore-shop", false, "compare addresses without their shop part")
	if err := parse(fs, args); err != nil {
		return err
	}
	if *data == "" {
		fs.Usage()
		return errors.New("group: --data is required")
	}
	f, err := os.Open(*data)
	if err != nil {
		return fmt.Errorf("group: %w", err)
	}
	defer f.Close()
	msgs, err := ReadMessages(f)
	if err != nil {
		return fmt.Errorf("group: %s: %w", *data, err)
	}
	ref, err := reference.LoadDefault()
	if err != nil {
		return err
	}
	rs, err := rules.Load("", ref)
	if err != nil {
		return err
	}
	m, err := model.Load(ctx, *modelFile, ref)
	if err != nil {
		return fmt.Errorf("group: %w", err)
	}
	rep, err := GroupMessages(ctx, msgs, m, ref, rs, *sample, *ignoreShop)
	if err != nil {
		return fmt.Errorf("group: %w", err)
	}
	rep.Print(stdout)
	return nil
}
