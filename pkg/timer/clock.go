package timer

import (
	"sync"
	"time"
)

// Clock tells a worker what time it is. Every due comparison uses it.
type Clock interface {
	Now() time.Time
}

// SystemClock is the wall clock.
type SystemClock struct{}

// Now returns time.Now().
func (SystemClock) Now() time.Time { return time.Now() }

// ManualClock is a Clock for tests: time moves only when told to, and moving
// it wakes every worker running with it, so due timers fire at once instead
// of at the next poll. The zero value is not usable; use NewManualClock.
type ManualClock struct {
	mu     sync.Mutex
	now    time.Time
	wakers map[*Worker]struct{}
}

// NewManualClock returns a clock standing at start.
func NewManualClock(start time.Time) *ManualClock {
	return &ManualClock{now: start, wakers: map[*Worker]struct{}{}}
}

// Now returns the clock's current time.
func (c *ManualClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

// Advance moves the clock forward by d and wakes the workers using it.
func (c *ManualClock) Advance(d time.Duration) {
	c.mu.Lock()
	t := c.now.Add(d)
	c.mu.Unlock()
	c.Set(t)
}

// Set moves the clock to t (backwards too) and wakes the workers using it.
func (c *ManualClock) Set(t time.Time) {
	c.mu.Lock()
	c.now = t
	ws := make([]*Worker, 0, len(c.wakers))
	for w := range c.wakers {
		ws = append(ws, w)
	}
	c.mu.Unlock()
	for _, w := range ws {
		w.Notify()
	}
}

func (c *ManualClock) subscribe(w *Worker) (unsubscribe func()) {
	c.mu.Lock()
	c.wakers[w] = struct{}{}
	c.mu.Unlock()
	return func() {
		c.mu.Lock()
		delete(c.wakers, w)
		c.mu.Unlock()
	}
}
