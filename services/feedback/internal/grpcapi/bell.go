package grpcapi

import "sync"

// Bell tells every waiting watch that new events were committed. Ring
// closes the channel Wait handed out and starts a new one, so each waiter
// wakes once per ring and none is missed: a watch takes its channel before
// it reads, then waits on it.
type Bell struct {
	mu sync.Mutex
	ch chan struct{}
}

// NewBell returns a bell nobody has rung.
func NewBell() *Bell { return &Bell{ch: make(chan struct{})} }

// Ring wakes everyone waiting.
func (b *Bell) Ring() {
	b.mu.Lock()
	close(b.ch)
	b.ch = make(chan struct{})
	b.mu.Unlock()
}

// Wait returns a channel closed at the next Ring.
func (b *Bell) Wait() <-chan struct{} {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.ch
}
