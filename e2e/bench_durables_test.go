//go:build bench

package e2e

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/gridflow/gridflow/pkg/natsauth"
)

// Issue 17, feedback's filter: the deliveries of each durable consumer,
// so that a change to one durable's filter shows in its own figure and not
// only in natsCounts' total.
func (b *bench) deliveriesByDurable(ctx context.Context) map[string]uint64 {
	out := map[string]uint64{}
	for _, d := range natsauth.AllDurables() {
		c, err := b.grid.Consumer(ctx, d.Name)
		if err != nil {
			continue
		}
		info, err := c.Info(ctx)
		if err != nil {
			continue
		}
		out[d.Name] = info.Delivered.Consumer
	}
	return out
}

// sayDeliveriesByDurable prints each durable's deliveries per order
// between two readings of deliveriesByDurable.
func sayDeliveriesByDurable(before, after map[string]uint64, orders int) {
	names := make([]string, 0, len(after))
	for n := range after {
		names = append(names, n)
	}
	slices.Sort(names)
	var parts []string
	for _, n := range names {
		if d := after[n] - before[n]; d > 0 {
			parts = append(parts, fmt.Sprintf("%s %.2f", n, float64(d)/float64(max(orders, 1))))
		}
	}
	say("(3) deliveries per order by durable: %s", strings.Join(parts, ", "))
}
