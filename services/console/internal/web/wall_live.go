package web

// The wall's live markers (issue 18): the wall's map subscribes to the live
// queue's server-sent events (GET /live/events?view=wall) — the same hub,
// the same single NATS reader, the same policy decision per scope — and is
// sent, for each event on an open case it may see, the case's marker as
// JSON (drawn once per scope, like a row), or a removal when the case is
// no longer open. GET /wall/data gives the markers the map starts from,
// read from feedback, placed the same way.

import (
	"encoding/json"
	"hash/fnv"
	"math"
	"time"

	"github.com/gridflow/gridflow/pkg/policy"
	"github.com/gridflow/gridflow/pkg/reference"
	"github.com/gridflow/gridflow/services/console/internal/live"
)

// WallCase is one open case's marker on the wall's map: at the place the
// case was reported at when the console heard it (case.received's
// location, never a caller's own home), else near its grid's centre — a
// small offset drawn from the case id, so the cases of one grid do not
// hide each other and a case keeps its spot across reloads. Light is its
// SLA light now; StartMS and DueMS let the page turn it yellow and red as
// time passes without another event. No citizen text: the number and the
// grid's name only.
type WallCase struct {
	ID       string  `json:"id"`
	Number   string  `json:"number"`
	Grid     string  `json:"grid"`
	GridName string  `json:"grid_name"`
	Lng      float64 `json:"lng"`
	Lat      float64 `json:"lat"`
	Light    string  `json:"light"`
	StartMS  int64   `json:"start_ms"`
	DueMS    int64   `json:"due_ms"`
}

// wallCaseOf is r's marker; false when the case has no place the map can
// draw (no grid in the reference data and no reported location).
func wallCaseOf(set *reference.Set, r *live.Row, now time.Time) (WallCase, bool) {
	c := WallCase{ID: r.CaseID, Number: r.CaseNumber, Grid: r.Area.Grid, Light: string(r.Light(now))}
	if !r.StartedAt.IsZero() {
		c.StartMS = r.StartedAt.UnixMilli()
	}
	if !r.Due.IsZero() {
		c.DueMS = r.Due.UnixMilli()
	}
	var grid reference.Grid
	haveGrid := false
	if set != nil && r.Area.Grid != "" {
		grid, haveGrid = set.Grid(r.Area.Grid)
		haveGrid = haveGrid && len(grid.Polygon) >= 3
		if haveGrid {
			c.GridName = grid.Name
		}
	}
	switch {
	case r.Located:
		c.Lat, c.Lng = r.Lat, r.Lng
	case haveGrid:
		c.Lng, c.Lat = nearCentre(grid, r.CaseID)
	default:
		return c, false
	}
	return c, true
}

// nearCentre is a point near the grid's centre (the mean of its corners),
// offset by up to a quarter of its smaller half-extent in a direction and
// distance drawn from key.
func nearCentre(g reference.Grid, key string) (lng, lat float64) {
	minLat, maxLat, minLng, maxLng := math.Inf(1), math.Inf(-1), math.Inf(1), math.Inf(-1)
	for _, p := range g.Polygon {
		lat, lng = lat+p.Lat, lng+p.Lng
		minLat, maxLat = math.Min(minLat, p.Lat), math.Max(maxLat, p.Lat)
		minLng, maxLng = math.Min(minLng, p.Lng), math.Max(maxLng, p.Lng)
	}
	k := float64(len(g.Polygon))
	lat, lng = lat/k, lng/k
	h := fnv.New32a()
	_, _ = h.Write([]byte(key))
	v := h.Sum32()
	angle := float64(v&0xffff) / 65536 * 2 * math.Pi
	reach := math.Sqrt(float64(v>>16)/65536) * math.Min(maxLat-minLat, maxLng-minLng) / 8
	return lng + reach*math.Cos(angle), lat + reach*math.Sin(angle)
}

// MarkerRenderer draws a case's wall marker for the hub (live.Renderer):
// JSON, or nil for a case the map cannot place. The marker is the same for
// every scope that may see the case; the hub calls it once per such scope.
func MarkerRenderer(ref ReferenceSource) live.Renderer {
	return func(_ policy.Scope, r *live.Row) ([]byte, error) {
		var set *reference.Set
		if ref != nil {
			set = ref()
		}
		c, ok := wallCaseOf(set, r, time.Now())
		if !ok {
			return nil, nil
		}
		return json.Marshal(c)
	}
}
