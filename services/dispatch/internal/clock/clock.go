// Package clock is the time dispatch runs on and what fires on it. Clock is
// the wall clock, or for end-to-end tests a test clock that runs ahead of
// the wall clock by an offset read from a file, so a test can move time
// forward in a running process (write "3h" to the file) and watch warnings
// and escalations fire. The durable timers, the domain's "now" and the
// events all use the same clock. Handlers fire dispatch's durable timers.
package clock

import (
	"errors"
	"fmt"
	"os"
	"strings"
	"sync"
	"time"
)

// Clock tells the time (it satisfies timer.Clock).
type Clock interface {
	Now() time.Time
}

// System is the wall clock.
type System struct{}

// Now returns time.Now().
func (System) Now() time.Time { return time.Now() }

// Offset is the wall clock plus an offset read from a file: a Go duration
// ("90m", "-1h"); a missing file is no offset. The file is read
// at most every Refresh, so moving the clock takes effect within that.
type Offset struct {
	path    string
	refresh time.Duration

	mu     sync.Mutex
	offset time.Duration
	read   time.Time
}

// NewOffset returns a test clock over path. It fails if the file holds
// something that is not a duration.
func NewOffset(path string, refresh time.Duration) (*Offset, error) {
	c := &Offset{path: path, refresh: refresh}
	d, err := c.load()
	if err != nil && !errors.Is(err, errEmpty) {
		return nil, err
	}
	c.offset, c.read = d, time.Now()
	return c, nil
}

// errEmpty: the file is empty, as it may be for an instant while rewritten.
var errEmpty = errors.New("empty clock file")

func (c *Offset) load() (time.Duration, error) {
	b, err := os.ReadFile(c.path)
	if os.IsNotExist(err) {
		return 0, nil
	}
	if err != nil {
		return 0, err
	}
	s := strings.TrimSpace(string(b))
	if s == "" {
		return 0, errEmpty
	}
	d, err := time.ParseDuration(s)
	if err != nil {
		return 0, fmt.Errorf("clock offset file %s: %w", c.path, err)
	}
	return d, nil
}

// Now returns the wall clock plus the offset.
func (c *Offset) Now() time.Time {
	now := time.Now()
	c.mu.Lock()
	defer c.mu.Unlock()
	if now.Sub(c.read) >= c.refresh {
		// A file being rewritten may read empty or half-written for an
		// instant: keep the last good offset then.
		if d, err := c.load(); err == nil {
			c.offset = d
		}
		c.read = now
	}
	return now.Add(c.offset)
}
