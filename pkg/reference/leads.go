package reference

import (
	"fmt"
	"strings"
)

// The enforcement-power guarantee: the lead of every decision holds the
// power the case's item needs. It is checked when rules load (a rule that
// can lead an item without its power is refused), again when routing
// decides (a rule whose lead lacks it is passed over), and when a
// dispatcher names a lead by hand (Reassign, Arbitrate, Forward).
//
// The fallbacks — catch-alls to the street and district desks — are the one
// exception: desks hold no powers, they receive what no power holder could
// take, and a dispatcher then names one. Co-handlers need no power of the
// lead's item: they help, they do not lead.

// MissingPowerError says that a department may not lead a case of an item:
// it lacks the power the item needs.
type MissingPowerError struct {
	Department string
	Item       string
	ItemName   string
	Power      string
	PowerName  string
}

func (e *MissingPowerError) Error() string {
	power := e.Power
	if e.PowerName != "" {
		power += " (" + e.PowerName + ")"
	}
	return fmt.Sprintf("%s lacks power %s needed by %s %s", e.Department, power, e.Item, e.ItemName)
}

// CanLead reports whether department dept may lead a case of catalogue item
// item: nil when the item needs no power ("" is an unclassified case) or the
// department holds it, directly or through an ancestor power; a
// *MissingPowerError when it does not. The desks are not exempt here: only
// routing's fallbacks hand a desk what no power holder could take.
func (s *Set) CanLead(dept, item string) error {
	d, ok := s.deptByCode[dept]
	if !ok {
		return fmt.Errorf("reference: no department %q", dept)
	}
	if item == "" {
		return nil
	}
	it, ok := s.itemByCode[item]
	if !ok {
		return fmt.Errorf("reference: no catalogue item %q", item)
	}
	if it.Power == "" || d.Holds(it.Power) {
		return nil
	}
	return &MissingPowerError{Department: dept, Item: it.Code, ItemName: it.Name, Power: it.Power,
		PowerName: s.powerByCode[it.Power].Name}
}

// IsFallback reports whether a rule is one of the fallbacks: a catch-all
// (no matchers) whose lead is a desk wherever it resolves. A fallback may
// lead any item; every other rule's lead needs the item's power.
func (s *Set) IsFallback(r Rule) bool {
	if !r.Match.IsEmpty() || r.Lead.IsZero() {
		return false
	}
	codes := s.resolveAll(r, r.Lead)
	for _, code := range codes {
		if d, ok := s.deptByCode[code]; !ok || !d.Desk {
			return false
		}
	}
	return len(codes) > 0
}

// known is how much of a case's area a rule needs to fire: a {street} lead
// or an area matcher at street level or below needs the street; a
// {district} lead or a district area matcher the district (always known in
// a set with one district: routing assumes it).
type known uint8

const (
	knowsNothing known = iota
	knowsDistrict
	knowsStreet
)

func (s *Set) needsKnown(r Rule) known {
	k := knowsNothing
	switch {
	case r.Lead.Scope == StreetScoped || allAtLeast(r.Match.Areas, LevelStreet):
		k = knowsStreet
	case (r.Lead.Scope == DistrictScoped || len(r.Match.Areas) > 0) && len(s.byLevel[LevelDistrict]) > 1:
		k = knowsDistrict
	}
	return k
}

// claim is how much of an item's cases earlier rules take unconditionally:
// none, those whose district is known, those whose street is known, or all.
// Cases with a known street are a subset of those with a known district, so
// claims only grow.
type claim uint8

const (
	claimsNone claim = iota
	claimsKnownStreet
	claimsKnownDistrict
	claimsAll
)

func claimOf(k known) claim {
	switch k {
	case knowsStreet:
		return claimsKnownStreet
	case knowsDistrict:
		return claimsKnownDistrict
	}
	return claimsAll
}

// takes reports whether an item's claim takes every case a rule needing k
// can fire for.
func (c claim) takes(k known) bool {
	switch c {
	case claimsAll:
		return true
	case claimsKnownDistrict:
		return k >= knowsDistrict
	case claimsKnownStreet:
		return k == knowsStreet
	}
	return false
}

// leadableItems lists the items a rule can lead, before earlier rules'
// claims: those its item matchers cover, or, for a rule without an item
// matcher (keywords, labels, areas … alone), every item of both trees — its
// other matchers say nothing about what the case is.
func (s *Set) leadableItems(r Rule) []*Item {
	if len(r.Match.Items) > 0 {
		return s.expandItems(r.Match.Items)
	}
	var out []*Item
	for _, it := range s.itemList {
		if !it.Class {
			out = append(out, it)
		}
	}
	return out
}

// checkPowersOfLeads refuses every rule that can lead an item without its
// power. A rule can lead an item when it has a lead, is not a fallback, its
// matchers can accept a case of the item (a rule without an item matcher
// accepts every item), and no earlier rule claims all of the item's cases
// the rule can fire for. Only a non-continuing rule with a lead whose sole
// matcher is items claims its items, and only for the cases its lead can
// be named for: a {street} lead does not fire when the street is unknown, so
// a later fixed-lead rule still reaches those cases. Continuing rules with
// a lead are checked too: when no lead is found before them they lead.
func (s *Set) checkPowersOfLeads(c *checker) {
	claimed := map[string]claim{}
	for _, r := range s.rules {
		if r.Lead.IsZero() {
			continue
		}
		items := s.leadableItems(r)
		need := s.needsKnown(r)
		if !s.IsFallback(r) {
			missing := map[string][]string{} // dept + power → items
			var keys []string
			for _, it := range items {
				// An unknown power is reported against the item already.
				if _, known := s.powerByCode[it.Power]; !known || claimed[it.Code].takes(need) {
					continue
				}
				for _, code := range s.resolveAll(r, r.Lead) {
					d, ok := s.deptByCode[code]
					if !ok || d.Holds(it.Power) {
						continue
					}
					k := code + " " + it.Power
					if _, seen := missing[k]; !seen {
						keys = append(keys, k)
					}
					missing[k] = append(missing[k], it.Code+" "+it.Name)
				}
			}
			for _, k := range keys {
				dept, power, _ := strings.Cut(k, " ")
				why := ""
				if len(r.Match.Items) == 0 {
					why = " (a rule without items can lead any item its other matchers match: list the items it may lead under match.items)"
				}
				c.add(FileRules, r.Line, "rule "+r.Name, "lead %s lacks power %s needed by %s%s",
					dept, power, listSome(missing[k], 6), why)
			}
		}
		if !r.Continue && r.Match.onlyItems() {
			for _, it := range items {
				claimed[it.Code] = max(claimed[it.Code], claimOf(need))
			}
		}
	}
}

// listSome joins up to n entries, counting the rest.
func listSome(xs []string, n int) string {
	if len(xs) <= n {
		return strings.Join(xs, ", ")
	}
	return fmt.Sprintf("%s and %d more", strings.Join(xs[:n], ", "), len(xs)-n)
}
