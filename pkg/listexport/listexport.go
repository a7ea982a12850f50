// Package listexport builds the files a community hands in instead of
// typing its figures again (减负, issue 20): its three lists and its month's
// figures, from feedback's ListsService, as the CSV files gridctl export
// lists writes and the console serves. The columns are documented in the
// README ("The three lists and the month's figures"); the files are
// Excel-safe (pkg/excelcsv).
package listexport

import (
	"context"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/gridflow/gridflow/pkg/excelcsv"
	"google.golang.org/protobuf/types/known/timestamppb"

	feedbackv1 "github.com/gridflow/gridflow/proto/gen/go/gridflow/feedback/v1"
)

// The files' columns.
var (
	ProblemsColumns = []string{"community_code", "month", "kind", "rank", "key", "name", "count", "share", "cumulative", "vital_few"}
	NeedsColumns    = []string{"community_code", "rank", "category_code", "category_name", "households", "asking", "share",
		"level_无", "level_低", "level_中", "level_高", "cases", "services"}
	ServicesColumns = []string{"community_code", "category_code", "category_name", "asking", "share", "cases", "answered",
		"service_id", "organisation", "service_name", "contact"}
	FiguresColumns = []string{"month", "level", "area_code", "area_name", "cases", "valid_callbacks", "response_rate",
		"resolution_rate", "satisfaction_rate", "composite", "to_handle", "handled_on_time", "on_time_rate", "self_disposed",
		"inspections_done", "inspections_missed"}
	SubjectsColumns = []string{"month", "level", "area_code", "area_name", "item_code", "item_name", "count"}
)

// Names are the files in the order they are written.
var Names = []string{"problems.csv", "needs.csv", "services.csv", "figures.csv", "subjects.csv"}

// File is one CSV file: its name and its rows, the header first.
type File struct {
	Name string
	Rows [][]string
}

// Write writes the file as Excel-safe CSV.
func (f File) Write(w io.Writer) error {
	cw := excelcsv.NewWriter(w)
	for _, r := range f.Rows {
		if err := cw.Write(r); err != nil {
			return err
		}
	}
	return cw.Flush()
}

// Month is a month "2026-11" as its period in Shanghai time.
func Month(month string, loc *time.Location) (*feedbackv1.Period, error) {
	start, err := time.ParseInLocation("2006-01", month, loc)
	if err != nil {
		return nil, fmt.Errorf("month %q: want YYYY-MM", month)
	}
	return &feedbackv1.Period{Start: timestamppb.New(start), End: timestamppb.New(start.AddDate(0, 1, 0))}, nil
}

// Fetch asks feedback for a community's lists of a month (the cases received
// in it) and its month's figures, and builds the files; limit bounds each
// problem list.
func Fetch(ctx context.Context, c feedbackv1.ListsServiceClient, community, month string, period *feedbackv1.Period, limit int32) ([]File, error) {
	pl, err := c.GetProblemList(ctx, &feedbackv1.GetProblemListRequest{AreaCode: community, Period: period, Limit: limit})
	if err != nil {
		return nil, err
	}
	nl, err := c.GetNeedsList(ctx, &feedbackv1.GetNeedsListRequest{AreaCode: community, Period: period})
	if err != nil {
		return nil, err
	}
	sl, err := c.GetServiceList(ctx, &feedbackv1.GetServiceListRequest{AreaCode: community, Period: period})
	if err != nil {
		return nil, err
	}
	mf, err := c.GetMonthFigures(ctx, &feedbackv1.GetMonthFiguresRequest{CommunityCode: community, Month: month})
	if err != nil {
		return nil, err
	}
	return Files(community, month, pl, nl, sl, mf), nil
}

// Files builds the files from the lists' answers.
func Files(community, month string, pl *feedbackv1.GetProblemListResponse, nl *feedbackv1.GetNeedsListResponse,
	sl *feedbackv1.GetServiceListResponse, mf *feedbackv1.GetMonthFiguresResponse) []File {
	problems := [][]string{ProblemsColumns}
	for _, k := range []struct {
		kind string
		rows []*feedbackv1.ProblemRow
	}{{"subject", pl.GetSubjects()}, {"place", pl.GetPlaces()}} {
		for i, r := range k.rows {
			problems = append(problems, []string{community, month, k.kind, itoa(i + 1), r.GetKey(), r.GetName(), itoa(int(r.GetCount())),
				ratio(r.GetShare()), ratio(r.GetCumulative()), strconv.FormatBool(r.GetVitalFew())})
		}
	}
	needs := [][]string{NeedsColumns}
	for i, n := range nl.GetNeeds() {
		row := []string{community, itoa(i + 1), n.GetCategoryCode(), n.GetCategoryName(), itoa(int(nl.GetHouseholds())),
			itoa(int(n.GetAsking())), ratio(n.GetShare())}
		for j := range 4 {
			k := int32(0)
			if j < len(n.GetLevels()) {
				k = n.GetLevels()[j]
			}
			row = append(row, itoa(int(k)))
		}
		var names []string
		for _, v := range n.GetServices() {
			names = append(names, v.GetName())
		}
		needs = append(needs, append(row, itoa(int(n.GetCases())), strings.Join(names, "；")))
	}
	services := [][]string{ServicesColumns}
	for _, n := range sl.GetNeeds() {
		head := []string{community, n.GetCategoryCode(), n.GetCategoryName(), itoa(int(n.GetAsking())), ratio(n.GetShare()),
			itoa(int(n.GetCases())), strconv.FormatBool(len(n.GetServices()) > 0)}
		if len(n.GetServices()) == 0 {
			services = append(services, append(head, "", "", "", ""))
		}
		for _, v := range n.GetServices() {
			services = append(services, append(append([]string(nil), head...), v.GetId(), v.GetOrganisation(), v.GetName(), v.GetContact()))
		}
	}
	figures := [][]string{FiguresColumns}
	subjects := [][]string{SubjectsColumns}
	for _, a := range mf.GetAreas() {
		figures = append(figures, []string{month, a.GetLevel(), a.GetAreaCode(), a.GetAreaName(), itoa(int(a.GetCases())),
			itoa(int(a.GetValidCallbacks())), ratio(a.GetResponseRate()), ratio(a.GetResolutionRate()), ratio(a.GetSatisfactionRate()),
			strconv.FormatFloat(a.GetComposite(), 'f', 2, 64), itoa(int(a.GetToHandle())), itoa(int(a.GetHandledOnTime())),
			ratio(a.GetOnTimeRate()), itoa(int(a.GetSelfDisposed())), itoa(int(a.GetInspectionsDone())), itoa(int(a.GetInspectionsMissed()))})
		for _, s := range a.GetSubjects() {
			subjects = append(subjects, []string{month, a.GetLevel(), a.GetAreaCode(), a.GetAreaName(), s.GetItemCode(), s.GetItemName(),
				itoa(int(s.GetCount()))})
		}
	}
	return []File{{Names[0], problems}, {Names[1], needs}, {Names[2], services}, {Names[3], figures}, {Names[4], subjects}}
}

func itoa(n int) string { return strconv.Itoa(n) }

// ratio writes a fraction with four decimals (0.8750).
func ratio(f float64) string { return strconv.FormatFloat(f, 'f', 4, 64) }
