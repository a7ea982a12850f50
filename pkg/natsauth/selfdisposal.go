package natsauth

// Self-disposal (issue 20): feedback publishes the grid leader's check,
// case.self_disposal_checked, and dispatch's case consumer takes it (a
// sent-back case is routed). Kept in a block of its own so that the table
// above merges mechanically with the other parts of issue 20.
func init() {
	for i := range Users {
		switch Users[i].Name {
		case Feedback:
			Users[i].Publish = append(Users[i].Publish, "grid.case.self_disposal_checked.>")
		case Dispatch:
			for j := range Users[i].Durables {
				if d := &Users[i].Durables[j]; d.Name == "dispatch-cases" {
					d.Filter = append(d.Filter, "grid.case.self_disposal_checked.>")
				}
			}
		}
	}
}
