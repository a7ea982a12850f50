package grpcapi_test

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"fmt"
	"net"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/uuid"
	"github.com/gridflow/gridflow/pkg/auth"
	"github.com/gridflow/gridflow/pkg/grpcserver"
	"github.com/gridflow/gridflow/pkg/reference"
	"github.com/gridflow/gridflow/services/feedback/internal/feedback"
	"github.com/gridflow/gridflow/services/feedback/internal/grpcapi"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/test/bufconn"
	"google.golang.org/protobuf/types/known/timestamppb"

	eventsv1 "github.com/gridflow/gridflow/proto/gen/go/gridflow/events/v1"
	feedbackv1 "github.com/gridflow/gridflow/proto/gen/go/gridflow/feedback/v1"
	typesv1 "github.com/gridflow/gridflow/proto/gen/go/gridflow/types/v1"
)

// listsEnv is feedback's ListsService as main wires it, over the same
// store as env's cases.
type listsEnv struct {
	*env
	signer *auth.Signer
	conn   *grpc.ClientConn
}

func setupLists(t *testing.T) *listsEnv {
	e := setup(t)
	pub, priv, _ := ed25519.GenerateKey(rand.Reader)
	srv := grpcserver.New(grpcserver.Options{Logger: quiet, Verifier: auth.NewVerifier(pub)})
	feedbackv1.RegisterListsServiceServer(srv, grpcapi.NewLists(feedback.NewLists(e.store, func() *reference.Set { return refSet }, e.clock.Now)))
	lis := bufconn.Listen(1 << 20)
	go func() { _ = srv.Serve(lis) }()
	t.Cleanup(srv.Stop)
	conn, err := grpc.NewClient("passthrough:///bufnet",
		grpc.WithContextDialer(func(context.Context, string) (net.Conn, error) { return lis.Dial() }),
		grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return &listsEnv{env: e, signer: auth.NewSigner(priv), conn: conn}
}

func (l *listsEnv) lists(p string) (feedbackv1.ListsServiceClient, context.Context) {
	l.t.Helper()
	pr, err := auth.ParsePrincipal(p)
	if err != nil {
		l.t.Fatal(err)
	}
	tok, err := l.signer.Issue(pr, time.Hour)
	if err != nil {
		l.t.Fatal(err)
	}
	return feedbackv1.NewListsServiceClient(l.conn), metadata.AppendToOutgoingContext(l.timeout(), "authorization", "Bearer "+tok)
}

const (
	hongnan     = "310106022001" // 洪南山宅居民区
	hongnanWest = "310106022001001"
	hongnanEast = "310106022001002"
)

// report is a case of 洪南山宅 as the lists see it.
type report struct {
	grid, key, item, name string
	appeal                typesv1.AppealType
	private, selfDisposed bool
	source                typesv1.Source
}

func (l *listsEnv) report(r report) string {
	l.t.Helper()
	id := uuid.Must(uuid.NewV7()).String()
	n := seq.Add(1)
	a := &typesv1.Area{DistrictCode: district, StreetCode: zj, CommunityCode: hongnan, GridCode: r.grid}
	src := r.source
	if src == typesv1.Source_SOURCE_UNSPECIFIED {
		src = typesv1.Source_SOURCE_HOTLINE
	}
	l.publish(id, "case_received", &eventsv1.CaseReceived{CaseId: id, CaseNumber: fmt.Sprintf("GF-20260302-%06d", n), Source: src,
		ReceivedAt: timestamppb.New(l.clock.Now()), AppealType: r.appeal, Title: r.name, Area: a,
		Address: &typesv1.Address{Raw: "上海市静安区", Key: r.key}, PrivateLocation: r.private, SelfDisposed: r.selfDisposed})
	l.publish(id, "case_classified", &eventsv1.CaseClassified{CaseId: id, ClassificationVersion: 1, ItemCode: r.item, ItemName: r.name,
		ModelVersion: "m1", Dispatchable: true, Source: src, Area: a})
	return id
}

func march2026() *feedbackv1.Period {
	return &feedbackv1.Period{Start: timestamppb.New(time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)),
		End: timestamppb.New(time.Date(2026, 4, 1, 0, 0, 0, 0, time.UTC))}
}

// importSurvey streams answers in batches of two.
func importSurvey(c feedbackv1.ListsServiceClient, ctx context.Context, id string, answers []*feedbackv1.SurveyAnswer) (*feedbackv1.ImportNeedsSurveyResponse, error) {
	s, err := c.ImportNeedsSurvey(ctx)
	if err != nil {
		return nil, err
	}
	for i := 0; i < len(answers); i += 2 {
		req := &feedbackv1.ImportNeedsSurveyRequest{SurveyId: id, Answers: answers[i:min(i+2, len(answers))]}
		if i == 0 {
			req.Title = "洪南山宅需求调查"
		}
		if err := s.Send(req); err != nil {
			break // the server ended the stream: its status comes with CloseAndRecv
		}
	}
	return s.CloseAndRecv()
}

// survey: four households; 精神慰藉与心理疏导 (no service in 芷江西路街道)
// at 高 for three, 垃圾分类指导 at 中 for two, 居民体质监测 at 低 for all.
func survey() []*feedbackv1.SurveyAnswer {
	var out []*feedbackv1.SurveyAnswer
	line := int32(1)
	add := func(hh, cat, level string) {
		line++
		out = append(out, &feedbackv1.SurveyAnswer{Line: line, Household: hh, CommunityCode: hongnan, Category: cat, Level: level})
	}
	for i, hh := range []string{"Q001", "Q002", "Q003", "Q004"} {
		add(hh, "SC03", []string{"高", "3", "高", "无"}[i])
		add(hh, "垃圾分类指导", []string{"中", "2", "低", "0"}[i])
		add(hh, "SC01", "低")
	}
	return out
}

func TestLists(t *testing.T) {
	l := setupLists(t)
	shop := "静安区|长乐路||340|"
	for _, item := range []struct{ code, name string }{{"09006", "占道经营"}, {"06020", "噪声扰民"}, {"09006", "占道经营"}} {
		l.report(report{grid: hongnanWest, key: shop, item: item.code, name: item.name, appeal: typesv1.AppealType_APPEAL_TYPE_COMPLAINT})
	}
	// Two anonymous callers at their own homes in lane 5: the place stops
	// at the lane, and the lane recurs.
	for _, n := range []string{"12", "14"} {
		l.report(report{grid: hongnanEast, key: "静安区|长乐路|5|" + n + "|", item: "06020", name: "噪声扰民",
			appeal: typesv1.AppealType_APPEAL_TYPE_COMPLAINT, private: true})
	}
	l.report(report{grid: hongnanEast, key: "静安区|长乐路||400|", item: "06040", name: "垃圾未分类", appeal: typesv1.AppealType_APPEAL_TYPE_SUGGESTION})
	l.report(report{grid: hongnanEast, key: "", item: "06040", name: "垃圾未分类", appeal: typesv1.AppealType_APPEAL_TYPE_HELP})
	l.report(report{grid: hongnanEast, key: "", item: "H02999", name: "其他诉求", appeal: typesv1.AppealType_APPEAL_TYPE_HELP})
	l.report(report{grid: hongnanWest, key: "静安区|长乐路||360|", item: "06036", name: "乱堆杂物", source: typesv1.Source_SOURCE_PATROL,
		appeal: typesv1.AppealType_APPEAL_TYPE_REPORT, selfDisposed: true})

	c, ctx := l.lists("admin")
	pl, err := c.GetProblemList(ctx, &feedbackv1.GetProblemListRequest{AreaCode: hongnan, Period: march2026()})
	if err != nil {
		t.Fatal(err)
	}
	type row struct {
		Key, Name string
		Count     int32
		Share     string
	}
	rows := func(rs []*feedbackv1.ProblemRow) []row {
		var out []row
		for _, r := range rs {
			out = append(out, row{r.GetKey(), r.GetName(), r.GetCount(), fmt.Sprintf("%.3f/%.3f", r.GetShare(), r.GetCumulative())})
		}
		return out
	}
	// 9 cases: 噪声扰民 3, 占道经营 2, 垃圾未分类 2, 乱堆杂物 1, 其他诉求 1.
	if diff := cmp.Diff([]row{{"06020", "噪声扰民", 3, "0.333/0.333"}, {"06040", "垃圾未分类", 2, "0.222/0.556"},
		{"09006", "占道经营", 2, "0.222/0.778"}, {"06036", "乱堆杂物", 1, "0.111/0.889"}, {"H02999", "其他诉求", 1, "0.111/1.000"}},
		rows(pl.GetSubjects())); diff != "" {
		t.Errorf("subjects mismatch (-want +got):\n%s", diff)
	}
	// 7 cases with a place; the house numbers of the private ones are gone.
	if diff := cmp.Diff([]row{{shop, "长乐路340号", 3, "0.429/0.429"}, {"静安区|长乐路|5||", "长乐路5弄", 2, "0.286/0.714"}},
		rows(pl.GetPlaces())); diff != "" {
		t.Errorf("recurring places mismatch (-want +got):\n%s", diff)
	}
	if pl.GetTotal() != 9 || pl.GetPlaceTotal() != 7 {
		t.Errorf("totals %d, %d; want 9 cases, 7 with a place", pl.GetTotal(), pl.GetPlaceTotal())
	}

	// The survey: refused rows name their line; a secretary imports its
	// own community only; the same survey again replays; other answers
	// under its id are refused.
	bad := survey()
	bad[1].Level = "很高"
	bad[0].Category = "SC99"
	_, err = importSurvey(c, ctx, "hn-2026", bad)
	if diff := cmp.Diff([]string{"answers[line 2].category", "answers[line 3].level"}, fields(t, err)); diff != "" {
		t.Errorf("refused rows mismatch (-want +got):\n%s", diff)
	}
	other, octx := l.lists("secretary:310106022002")
	_, err = importSurvey(other, octx, "hn-2026", survey())
	code(t, err, codes.PermissionDenied)
	own, sctx := l.lists("secretary:" + hongnan)
	res, err := importSurvey(own, sctx, "hn-2026", survey())
	if err != nil {
		t.Fatal(err)
	}
	if res.GetAnswers() != 12 || res.GetHouseholds() != 4 || res.GetCommunities() != 1 || res.GetReplayed() {
		t.Errorf("import %v", res)
	}
	again, err := importSurvey(own, sctx, "hn-2026", survey())
	if err != nil || !again.GetReplayed() || again.GetHouseholds() != 4 {
		t.Errorf("the same survey again: %v, %v; want the first result, replayed", again, err)
	}
	changed := survey()
	changed[0].Level = "低"
	_, err = importSurvey(own, sctx, "hn-2026", changed)
	code(t, err, codes.AlreadyExists)
	dup := survey()
	dup[1].Category = "SC03"
	_, err = importSurvey(c, ctx, "hn-dup", dup)
	if diff := cmp.Diff([]string{"answers[line 3].category"}, fields(t, err)); diff != "" {
		t.Errorf("a household answering twice mismatch (-want +got):\n%s", diff)
	}
	var households int
	if err := l.pool.QueryRow(ctx, `SELECT count(*) FROM feedback.needs_counts`).Scan(&households); err != nil || households == 0 {
		t.Fatalf("needs_counts: %d rows, %v", households, err)
	}

	nl, err := own.GetNeedsList(sctx, &feedbackv1.GetNeedsListRequest{AreaCode: hongnan, Period: march2026()})
	if err != nil {
		t.Fatal(err)
	}
	type need struct {
		Code          string
		Levels        []int32
		Asking, Cases int32
		Share         string
		Services      int
	}
	needs := func(ns []*feedbackv1.Need, n int) []need {
		var out []need
		for _, x := range ns[:min(n, len(ns))] {
			out = append(out, need{x.GetCategoryCode(), x.GetLevels(), x.GetAsking(), x.GetCases(), fmt.Sprintf("%.2f", x.GetShare()),
				len(x.GetServices())})
		}
		return out
	}
	if diff := cmp.Diff([]need{
		{"SC03", []int32{1, 0, 0, 3}, 3, 0, "0.75", 0},
		{"SC02", []int32{1, 1, 2, 0}, 2, 2, "0.50", 1},
		{"SC01", []int32{0, 4, 0, 0}, 0, 0, "0.00", 1},
	}, needs(nl.GetNeeds(), 3)); diff != "" {
		t.Errorf("needs mismatch (-want +got):\n%s", diff)
	}
	if len(nl.GetNeeds()) != 14 || nl.GetHouseholds() != 4 || len(nl.GetSurveys()) != 1 {
		t.Errorf("needs list: %d needs, %d households, %d surveys", len(nl.GetNeeds()), nl.GetHouseholds(), len(nl.GetSurveys()))
	}
	if u := nl.GetUnmapped(); len(u) != 1 || u[0].GetItemCode() != "H02999" || u[0].GetCount() != 1 {
		t.Errorf("unmapped requests %v, want the one H02999 help case", u)
	}
	sl, err := own.GetServiceList(sctx, &feedbackv1.GetServiceListRequest{AreaCode: hongnan, Period: march2026()})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]need{{"SC03", []int32{1, 0, 0, 3}, 3, 0, "0.75", 0}, {"SC02", []int32{1, 1, 2, 0}, 2, 2, "0.50", 1}},
		needs(sl.GetNeeds(), 10)); diff != "" {
		t.Errorf("service list mismatch (-want +got):\n%s", diff)
	}
	if s := sl.GetNeeds()[1].GetServices(); s[0].GetId() != "svc-zj-sorting" {
		t.Errorf("SC02's services %v", s)
	}
	// The street's list counts the community's survey too.
	street, err := c.GetNeedsList(ctx, &feedbackv1.GetNeedsListRequest{AreaCode: zj, Period: march2026()})
	if err != nil || street.GetHouseholds() != 4 {
		t.Errorf("the street's needs: %v, %v", street, err)
	}

	// The month's figures: 9 cases, one self-disposed, in the community and
	// its grids.
	mf, err := own.GetMonthFigures(sctx, &feedbackv1.GetMonthFiguresRequest{CommunityCode: hongnan, Month: "2026-03"})
	if err != nil {
		t.Fatal(err)
	}
	type area struct {
		Code, Level          string
		Cases, Self, Subject int32
	}
	var areas []area
	for _, a := range mf.GetAreas() {
		areas = append(areas, area{a.GetAreaCode(), a.GetLevel(), a.GetCases(), a.GetSelfDisposed(), int32(len(a.GetSubjects()))})
	}
	if diff := cmp.Diff([]area{{hongnan, "community", 9, 1, 5}, {hongnanWest, "grid", 4, 1, 3}, {hongnanEast, "grid", 5, 0, 3}}, areas); diff != "" {
		t.Errorf("month figures mismatch (-want +got):\n%s", diff)
	}
}

// TestListsRefused: bad input names its field; areas outside the caller's
// reach are PERMISSION_DENIED.
func TestListsRefused(t *testing.T) {
	l := setupLists(t)
	c, ctx := l.lists("admin")
	_, err := c.GetProblemList(ctx, &feedbackv1.GetProblemListRequest{AreaCode: "", Period: march2026()})
	if diff := cmp.Diff([]string{"area_code"}, fields(t, err)); diff != "" {
		t.Errorf("mismatch (-want +got):\n%s", diff)
	}
	_, err = c.GetProblemList(ctx, &feedbackv1.GetProblemListRequest{AreaCode: hongnan, Limit: 501})
	if diff := cmp.Diff([]string{"period.start", "limit"}, fields(t, err)); diff != "" {
		t.Errorf("mismatch (-want +got):\n%s", diff)
	}
	_, err = c.GetNeedsList(ctx, &feedbackv1.GetNeedsListRequest{AreaCode: hongnanWest, Period: march2026()})
	if diff := cmp.Diff([]string{"area_code"}, fields(t, err)); diff != "" {
		t.Errorf("a grid's needs list mismatch (-want +got):\n%s", diff)
	}
	_, err = c.GetMonthFigures(ctx, &feedbackv1.GetMonthFiguresRequest{CommunityCode: hongnan, Month: "2026-13"})
	if diff := cmp.Diff([]string{"month"}, fields(t, err)); diff != "" {
		t.Errorf("mismatch (-want +got):\n%s", diff)
	}
	_, err = importSurvey(c, ctx, "", survey())
	if diff := cmp.Diff([]string{"survey_id"}, fields(t, err)); diff != "" {
		t.Errorf("mismatch (-want +got):\n%s", diff)
	}
	hostile := survey()[:1]
	hostile[0].Household, hostile[0].Level = "Q\xff1", "\xfe"
	_, err = importSurvey(c, ctx, "s-\xff", hostile)
	if diff := cmp.Diff([]string{"survey_id"}, fields(t, err)); diff != "" {
		t.Errorf("invalid UTF-8 survey id mismatch (-want +got):\n%s", diff)
	}
	_, err = importSurvey(c, ctx, "s-utf8", hostile)
	if diff := cmp.Diff([]string{"answers[line 2].household", "answers[line 2].level"}, fields(t, err)); diff != "" {
		t.Errorf("invalid UTF-8 answers mismatch (-want +got):\n%s", diff)
	}
	lfd, lctx := l.lists("dispatcher:" + lf)
	_, err = lfd.GetProblemList(lctx, &feedbackv1.GetProblemListRequest{AreaCode: hongnan, Period: march2026()})
	code(t, err, codes.PermissionDenied)
	sec, sctx := l.lists("secretary:" + hongnan)
	_, err = sec.GetServiceList(sctx, &feedbackv1.GetServiceListRequest{AreaCode: zj, Period: march2026()})
	code(t, err, codes.PermissionDenied)
	for _, p := range []string{"hotline", "department:310106022-cgzd", "patrol:w-022001001"} {
		x, xctx := l.lists(p)
		_, err = x.GetMonthFigures(xctx, &feedbackv1.GetMonthFiguresRequest{CommunityCode: hongnan, Month: "2026-03"})
		code(t, err, codes.PermissionDenied)
	}
}
