package dispatch

// Self-disposal (自行处置, issue 20). A grid worker's report settled on the
// spot is classified as usual but never routed: no decision, no task,
// nothing in the dispatch queue. The grid's leader checks it in feedback;
// a confirmed one closes there and dispatch never acts on it, a sent-back
// one (case.self_disposal_checked, verdict sent_back) is routed from then
// on exactly like any patrol case — now if its dispatchable classification
// and its facts are in, otherwise when they arrive.

// hold reports whether routing must wait for a self-disposal's check, and
// marks the case so: its facts say it was settled on the spot and nobody
// sent it back. The case's other facts (classification, area) are kept.
func (c *Case) hold() bool {
	if c.Facts == nil || !c.Facts.SelfDisposed || c.SentBack {
		return false
	}
	c.AwaitingFacts = false
	c.Status = SelfDisposed
	return true
}

// SelfDisposalSentBack applies the grid leader's sent-back verdict: the
// case enters the normal loop. A redelivered verdict, or one for a case
// already routed, closed or parked, changes nothing.
func (c *Case) SelfDisposalSentBack(env *Env) {
	if c.SentBack {
		return
	}
	c.SentBack = true
	if c.RoutedWith != nil || c.Status.Closed() || c.Status == Parked || c.Class == nil || !c.Class.Dispatchable {
		return // routed when its dispatchable classification arrives
	}
	if c.Facts == nil {
		return // routed when case.received arrives (or its await timer fires)
	}
	c.route(env)
}
