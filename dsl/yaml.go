package dsl

import (
	"bytes"
	"fmt"
	"strings"
	"unicode/utf8"

	"go.yaml.in/yaml/v3"
)

// source is one YAML file being compiled: its name for positions and the
// errors found so far.
type source struct {
	file  string
	errs  *ErrorList
	lines []string // for mapping expression offsets to file positions (see yamlLines)
}

func (s *source) pos(n *yaml.Node) Pos { return Pos{File: s.file, Line: n.Line, Col: n.Column} }

func (s *source) errorf(n *yaml.Node, path string, code ErrorCode, format string, args ...any) {
	s.errs.Add(s.pos(n), path, code, format, args...)
}

// parseYAML parses src into its document node, reporting syntax errors at
// their positions (see syntaxError).
func (s *source) parseYAML(src []byte) *yaml.Node {
	s.lines = yamlLines(src)
	var doc yaml.Node
	if err := yaml.Unmarshal(src, &doc); err != nil {
		s.syntaxError(src, err)
		return nil
	}
	if len(doc.Content) == 0 {
		s.errs.Add(Pos{File: s.file, Line: 1, Col: 1}, "", ErrMissing, "empty file")
		return nil
	}
	// yaml.Unmarshal reads the first document only; a second would be
	// dropped without a word.
	dec := yaml.NewDecoder(bytes.NewReader(src))
	var first, second yaml.Node
	if dec.Decode(&first) == nil && dec.Decode(&second) == nil {
		pos := Pos{File: s.file, Line: second.Line, Col: second.Column}
		if len(second.Content) > 0 {
			pos.Line, pos.Col = second.Content[0].Line, 1
		}
		// at the "---" that starts it, when there is one
		for ln := pos.Line - 1; ln >= 1 && ln <= len(s.lines); ln-- {
			if strings.HasPrefix(s.lines[ln-1], "---") {
				pos.Line = ln
				break
			}
			if strings.TrimSpace(s.lines[ln-1]) != "" && !strings.HasPrefix(strings.TrimSpace(s.lines[ln-1]), "#") {
				break
			}
		}
		s.errs.Add(pos, "", ErrSyntax, "a second YAML document starts here: a measure, library or value-set file holds one")
		return nil
	}
	return doc.Content[0]
}

// yamlText is src as yaml.v3 reads it: a byte-order mark is no column.
func yamlText(src []byte) string { return strings.TrimPrefix(string(src), "\ufeff") }

// lineSpan is one line of a text: its bytes [start, end), without the
// line break.
type lineSpan struct{ start, end int }

// yamlLineSpans splits text into its lines as yaml.v3 counts them, so that
// line n of a yaml.Node is the n-th span and its column counts runes of
// that span. yaml.v3 breaks lines at \n, \r\n and a lone \r, and (as
// YAML 1.1 does) at NEL, LS and PS.
func yamlLineSpans(text string) []lineSpan {
	var spans []lineSpan
	start := 0
	for i := 0; i < len(text); {
		r, w := utf8.DecodeRuneInString(text[i:])
		switch r {
		case '\n', '\r', '\u0085', '\u2028', '\u2029':
			if r == '\r' && strings.HasPrefix(text[i+1:], "\n") {
				w = 2 // one break
			}
			spans = append(spans, lineSpan{start, i})
			start = i + w
		}
		i += w
	}
	return append(spans, lineSpan{start, len(text)})
}

// yamlLines returns the lines of src as yaml.v3 counts them (see
// yamlLineSpans), without their breaks.
func yamlLines(src []byte) []string {
	text := yamlText(src)
	spans := yamlLineSpans(text)
	lines := make([]string, len(spans))
	for i, sp := range spans {
		lines[i] = text[sp.start:sp.end]
	}
	return lines
}

// fields checks that n is a mapping with only the allowed keys and returns
// its values by key, in order. Duplicate keys are errors.
func (s *source) fields(n *yaml.Node, path string, allowed ...string) (map[string]*yaml.Node, []string) {
	if n.Kind != yaml.MappingNode {
		s.errorf(n, path, ErrInvalid, "want a mapping, got %s", kindName(n))
		return nil, nil
	}
	out := make(map[string]*yaml.Node, len(n.Content)/2)
	var keys []string
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		if allowed != nil && !contains(allowed, k.Value) {
			msg := fmt.Sprintf("unknown key %q", k.Value)
			if near := closest(k.Value, allowed); near != "" {
				msg += fmt.Sprintf(" (did you mean %q?)", near)
			}
			s.errorf(k, path, ErrUnknownKey, "%s", msg)
			continue
		}
		if _, dup := out[k.Value]; dup {
			s.errorf(k, join(path, k.Value), ErrDuplicate, "duplicate key %q", k.Value)
			continue
		}
		out[k.Value] = v
		keys = append(keys, k.Value)
	}
	return out, keys
}

// scalar returns the value of a scalar node, reporting anything else.
func (s *source) scalar(n *yaml.Node, path string) (string, bool) {
	if n.Kind != yaml.ScalarNode {
		s.errorf(n, path, ErrInvalid, "want a single value, got %s", kindName(n))
		return "", false
	}
	return n.Value, true
}

// list returns the items of a sequence node; a scalar is a list of one.
func (s *source) list(n *yaml.Node, path string) []*yaml.Node {
	switch n.Kind {
	case yaml.SequenceNode:
		return n.Content
	case yaml.ScalarNode:
		if n.Tag == "!!null" {
			return nil
		}
		return []*yaml.Node{n}
	}
	s.errorf(n, path, ErrInvalid, "want a list, got %s", kindName(n))
	return nil
}

func kindName(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.AliasNode:
		return "an alias"
	}
	if n.Tag == "!!null" {
		return "nothing"
	}
	return "a single value"
}

func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// closest returns the candidate within edit distance 2 of s (or 1 for short
// words), for "did you mean" hints.
func closest(s string, candidates []string) string {
	best, bestD := "", 3
	if len(s) <= 4 {
		bestD = 2
	}
	for _, c := range candidates {
		if d := editDistance(s, c); d < bestD {
			best, bestD = c, d
		}
	}
	return best
}

func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

// keyOf returns the key node of key in mapping n, for positions.
func keyOf(n *yaml.Node, key string) *yaml.Node {
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].Value == key {
			return n.Content[i]
		}
	}
	return n
}
