package consumer

// SetBeforeAck installs a hook that runs after a commit and before the ack;
// returning false skips the ack, as if the process died between the two.
func SetBeforeAck(r *Runner, f func(Message) bool) { r.beforeAck = f }
