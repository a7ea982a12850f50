package feedback

// Issue 20, places: classify's place registry publishes place.upserted on
// grid.place.>, which feedback-events does not subscribe to; a place is no
// case, so the fact changes no case's state.

// PlaceUpserted: a registered place changed (never on a case's timeline).
type PlaceUpserted struct{}

func (f *PlaceUpserted) apply(*Case, *Event) {}
