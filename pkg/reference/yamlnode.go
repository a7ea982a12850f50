package reference

import "gopkg.in/yaml.v3"

// Decoding into structs loses positions, so each file is also kept as a node
// tree and entries get their line numbers from it: problems then point at the
// line a city has to fix.

// node walks mapping keys from the document root; nil when a key is absent.
func node(doc *yaml.Node, path ...string) *yaml.Node {
	if doc == nil {
		return nil
	}
	n := doc
	if n.Kind == yaml.DocumentNode {
		if len(n.Content) == 0 {
			return nil
		}
		n = n.Content[0]
	}
	for _, key := range path {
		if n.Kind != yaml.MappingNode {
			return nil
		}
		var next *yaml.Node
		for i := 0; i+1 < len(n.Content); i += 2 {
			if n.Content[i].Value == key {
				next = n.Content[i+1]
				break
			}
		}
		if next == nil {
			return nil
		}
		n = next
	}
	return n
}

// seqLines returns the line of each item of the sequence at path.
func seqLines(doc *yaml.Node, path ...string) []int {
	n := node(doc, path...)
	if n == nil || n.Kind != yaml.SequenceNode {
		return nil
	}
	lines := make([]int, len(n.Content))
	for i, c := range n.Content {
		lines[i] = c.Line
	}
	return lines
}

// keyLines returns the line of each key of the mapping at path.
func keyLines(doc *yaml.Node, path ...string) map[string]int {
	n := node(doc, path...)
	lines := map[string]int{}
	if n == nil || n.Kind != yaml.MappingNode {
		return lines
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		lines[n.Content[i].Value] = n.Content[i].Line
	}
	return lines
}

// lineOf is the line of entry i, 0 when unknown.
func lineOf(lines []int, i int) int {
	if i < len(lines) {
		return lines[i]
	}
	return 0
}

// lineOfKey is the line of a top-level or nested key, 0 when absent.
func lineOfKey(doc *yaml.Node, path ...string) int {
	if len(path) == 0 {
		return 0
	}
	return keyLines(doc, path[:len(path)-1]...)[path[len(path)-1]]
}

func (s *Set) assignLines() {
	s.raw.powers.setLines(s.docs[FilePowers])
	s.raw.areas.setLines(s.docs[FileAreas])
	s.raw.catalogue.setLines(s.docs[FileCatalogue])
	s.raw.departments.setLines(s.docs[FileDepartments])
	s.raw.calendar.setLines(s.docs[FileCalendar])
	s.raw.sla.setLines(s.docs[FileSLA])
	s.raw.gridWorkers.setLines(s.docs[FileGridWorkers])
	s.raw.rules.setLines(s.docs[FileRules])
	// The three lists (issue 20).
	s.raw.serviceCategories.setLines(s.docs[FileServiceCategories])
	s.raw.services.setLines(s.docs[FileServices])
}
