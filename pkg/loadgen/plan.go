package loadgen

import (
	"fmt"
	"math/rand/v2"
	"time"

	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/gridflow/gridflow/pkg/auth"

	intakev1 "github.com/gridflow/gridflow/proto/gen/go/gridflow/intake/v1"
	typesv1 "github.com/gridflow/gridflow/proto/gen/go/gridflow/types/v1"
)

// plan is one submission to send: the request, built once, so that every
// retry sends the same content under the same request id.
type plan struct {
	kind      Kind
	principal auth.Principal
	requestID string
	workOrder *intakev1.WorkOrder
	patrol    *intakev1.PatrolReport
	issue     *intakev1.Issue
	emergency bool
	repeat    bool
}

// wantsCallback: the caller did not ask to be left alone (no_callback),
// so the hotline calls back once the case is replied.
func (p *plan) wantsCallback() bool { return p.workOrder != nil && !p.workOrder.GetNoCallback() }

// generator draws the run's submissions from its seed.
type generator struct {
	cfg    Config
	city   *city
	rng    *rand.Rand
	seq    int
	recent []*intakev1.WorkOrder // the last work orders, which a repeat reports again
}

func newGenerator(cfg Config, c *city) *generator {
	return &generator{cfg: cfg, city: c, rng: rand.New(rand.NewPCG(cfg.Seed, 0x6772696466)) /* "gridf" */}
}

// Appeal types of hotline work orders, by share: complaints most, then
// requests for help, consultations, reports and suggestions.
var appealTypes = []struct {
	t     typesv1.AppealType
	share float64
}{
	{typesv1.AppealType_APPEAL_TYPE_COMPLAINT, 0.45},
	{typesv1.AppealType_APPEAL_TYPE_HELP, 0.25},
	{typesv1.AppealType_APPEAL_TYPE_CONSULTATION, 0.10},
	{typesv1.AppealType_APPEAL_TYPE_REPORT, 0.10},
	{typesv1.AppealType_APPEAL_TYPE_SUGGESTION, 0.10},
}

var (
	surnames = []rune("王李张刘陈杨黄赵吴周徐孙马朱胡郭何林高罗")
	titles   = []string{"先生", "女士"}
)

func (g *generator) next() *plan {
	g.seq++
	x := g.rng.Float64()
	switch {
	case x < g.cfg.Shares.Patrol:
		return g.patrolReport()
	case x < g.cfg.Shares.Patrol+g.cfg.Shares.Issue:
		return g.issue()
	}
	return g.workOrder()
}

func (g *generator) id(kind string) string {
	return fmt.Sprintf("%s%s%06d", g.cfg.Prefix, kind, g.seq)
}

func (g *generator) text() Text { return g.cfg.Texts[g.rng.IntN(len(g.cfg.Texts))] }

func (g *generator) workOrder() *plan {
	no := g.id("W")
	p := &plan{kind: WorkOrder, principal: auth.Principal{Role: auth.RoleHotline}, requestID: no}
	wo := &intakev1.WorkOrder{
		HotlineOrderNo: no,
		// Taken a moment ago (the hotline pushes an order as the call
		// ends; the clock starts at the call); fixed here, so a retry is
		// the same content.
		ReceivedAt:  timestamppb.New(time.Now().Add(-time.Duration(1+g.rng.IntN(10)) * time.Second)),
		CallerName:  string(surnames[g.rng.IntN(len(surnames))]) + titles[g.rng.IntN(len(titles))],
		CallerPhone: fmt.Sprintf("1%d%09d", 3+g.rng.IntN(7), g.rng.IntN(1_000_000_000)),
		NoCallback:  g.rng.Float64() < 0.05,
	}
	if len(g.recent) > 0 && g.rng.Float64() < g.cfg.Shares.Repeat {
		// Another caller about the same problem at the same place.
		prev := g.recent[g.rng.IntN(len(g.recent))]
		wo.AppealType, wo.Title, wo.Content, wo.Address = prev.AppealType, prev.Title, prev.Content, prev.Address
		wo.DistrictCode, wo.StreetCode, wo.Urgency = prev.DistrictCode, prev.StreetCode, prev.Urgency
		p.repeat, p.emergency = true, prev.Urgency == typesv1.Urgency_URGENCY_EMERGENCY
	} else {
		t := g.text()
		pl := g.city.places[g.rng.IntN(len(g.city.places))]
		wo.Title, wo.Content = t.Title, t.Body
		wo.Address = fmt.Sprintf("上海市%s%s%d号", g.city.district, pl.road, pl.number(g.rng.IntN(1000)))
		wo.DistrictCode, wo.StreetCode = pl.district, pl.street
		x, acc := g.rng.Float64(), 0.0
		for _, a := range appealTypes {
			acc += a.share
			if x < acc {
				wo.AppealType = a.t
				break
			}
		}
		if wo.AppealType == typesv1.AppealType_APPEAL_TYPE_UNSPECIFIED {
			wo.AppealType = typesv1.AppealType_APPEAL_TYPE_COMPLAINT
		}
		if g.rng.Float64() < g.cfg.Shares.Emergency {
			wo.Urgency, wo.AppealType, p.emergency = typesv1.Urgency_URGENCY_EMERGENCY, typesv1.AppealType_APPEAL_TYPE_HELP, true
		}
		g.recent = append(g.recent, wo)
		if len(g.recent) > 20 {
			g.recent = g.recent[1:]
		}
	}
	p.workOrder = wo
	return p
}

func (g *generator) patrolReport() *plan {
	grid := g.city.grids[g.rng.IntN(len(g.city.grids))]
	// Two workers per grid, each their own principal (and rate bucket).
	worker := fmt.Sprintf("w-%s-%d", grid.Code[len(grid.Code)-6:], 1+g.rng.IntN(2))
	item := g.city.patrolItems[g.rng.IntN(len(g.city.patrolItems))]
	c := centre(grid)
	// Somewhere in the middle of the grid, not all on one spot.
	lat, lng := c.Lat+(g.rng.Float64()-0.5)*0.001, c.Lng+(g.rng.Float64()-0.5)*0.001
	id := g.id("P")
	return &plan{kind: PatrolReport, principal: auth.Principal{Role: auth.RolePatrol, Subject: worker}, requestID: id,
		patrol: &intakev1.PatrolReport{
			RequestId: id, WorkerId: worker, GridCode: grid.Code, CatalogueCode: item,
			Description: fmt.Sprintf("巡查发现：%s（%s）", g.text().Title, grid.Name),
			Location:    &typesv1.LatLng{Lat: lat, Lng: lng, Datum: typesv1.Datum_DATUM_WGS84},
			ObservedAt:  timestamppb.New(time.Now().Add(-time.Duration(g.rng.IntN(30)) * time.Second)),
		}}
}

func (g *generator) issue() *plan {
	com := g.city.communities[g.rng.IntN(len(g.city.communities))]
	t := g.text()
	id := g.id("I")
	is := &intakev1.Issue{RequestId: id, SecretaryId: com.Code, CommunityCode: com.Code, Title: t.Title, Content: t.Body}
	if units := g.city.streetUnits[com.Street]; len(units) > 0 && g.rng.Float64() < 0.2 {
		// 吹哨报到: the secretary asks a street unit to come.
		is.WhistleDepartments = []string{units[g.rng.IntN(len(units))]}
	}
	return &plan{kind: Issue, principal: auth.Principal{Role: auth.RoleSecretary, Subject: com.Code}, requestID: id, issue: is}
}
