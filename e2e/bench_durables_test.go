//go:build bench

package e2e

import (
	"fmt"
	"maps"
	"slices"
	"strings"
)

// sayDeliveriesByDurable prints each durable's deliveries per order
// between two readings of natsCounts (issue 17: a change to one
// durable's filter shows in its own figure, not only in the total).
func sayDeliveriesByDurable(before, after map[string]uint64, orders int) {
	var parts []string
	for _, n := range slices.Sorted(maps.Keys(after)) {
		if d := after[n] - before[n]; d > 0 {
			parts = append(parts, fmt.Sprintf("%s %.2f", n, float64(d)/float64(max(orders, 1))))
		}
	}
	say("(3) deliveries per order by durable: %s", strings.Join(parts, ", "))
}
