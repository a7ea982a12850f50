package dispatch

import "fmt"

// Finishing an operation. The domain records what an operation did (Finish:
// events, changed tasks, timers); Commit turns that into what the store
// writes, so the store only stores: it never computes a clock point or
// encodes an event.

// Message is one event encoded for the outbox: ID becomes its Nats-Msg-Id.
type Message struct {
	ID, Subject string
	Data        []byte
	Headers     map[string]string
}

// Encoder encodes an operation's events for the outbox (the events
// adapter's Encode).
type Encoder func([]Event) ([]Message, error)

// Commit is one operation's finished changes, written by the store in the
// operation's transaction: the case, the tasks it changed or created, its
// timers (each task's clock at its next point or cleared, and the case's
// own) and its events as outbox messages.
type Commit struct {
	Case     *Case
	Tasks    []*Task
	Timers   []TimerOp
	Messages []Message
}

// Commit finishes the operation env ran on c (Finish, with the clock's
// points from env.Ref) and encodes its events with env.Encode.
func (env *Env) Commit(c *Case) (*Commit, error) {
	ch := c.Finish(env.Ref)
	cm := &Commit{Case: c, Tasks: ch.Tasks, Timers: ch.Timers}
	if len(ch.Events) == 0 {
		return cm, nil
	}
	if env.Encode == nil {
		return nil, fmt.Errorf("case %s: %d events and no encoder", c.ID, len(ch.Events))
	}
	msgs, err := env.Encode(ch.Events)
	if err != nil {
		return nil, fmt.Errorf("encode the events of case %s: %w", c.ID, err)
	}
	cm.Messages = msgs
	return cm, nil
}
