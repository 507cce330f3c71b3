package dsl

import (
	"fmt"
	"regexp"
	"slices"
	"sort"
	"strings"
	"unicode/utf8"

	"go.yaml.in/yaml/v3"
)

// yaml.v3's syntax errors are strings, "yaml: line N: problem" or
// "yaml: problem", with no column, and their line is not always the
// line of the error:
//
//   - a scanner error (a bad token) gives the 1-based line of its context
//     (the token being scanned) or, when that is on the first line, of
//     the problem, and no line when both are on the first line;
//   - a parser error (tokens in the wrong place) gives the same marks'
//     lines counted from 0;
//   - a reader error (bytes that are not UTF-8, control characters) and
//     an alias of an anchor not defined before it give no line.
//
// syntaxError works each one's position out of the source, asking yaml.v3
// again about edited copies of it where the string alone cannot tell.

// parserProblems are the problems of yaml.v3's parser errors
// (parserc.go); every other problem with a line is the scanner's.
var parserProblems = map[string]bool{
	"did not find expected <stream-start>":   true,
	"did not find expected <document start>": true,
	"found duplicate %YAML directive":        true,
	"found incompatible YAML document":       true,
	"found duplicate %TAG directive":         true,
	"found undefined tag handle":             true,
	"did not find expected node content":     true,
	"did not find expected '-' indicator":    true,
	"did not find expected key":              true,
	flowSeqProblem:                           true,
	flowMapProblem:                           true,
}

// The problems of a flow collection that does not go on as it should;
// their context is where the collection opens.
const (
	flowSeqProblem = "did not find expected ',' or ']'"
	flowMapProblem = "did not find expected ',' or '}'"
)

// readerProblems are the problems of yaml.v3's reader errors (readerc.go),
// all about one character that cannot be read.
var readerProblems = []string{
	"invalid leading UTF-8 octet", "incomplete UTF-8 octet sequence", "invalid trailing UTF-8 octet",
	"invalid length of a UTF-8 sequence", "invalid Unicode character", "control characters are not allowed",
}

var unknownAnchorRE = regexp.MustCompile(`^unknown anchor '([0-9A-Za-z_-]+)' referenced$`)

// yamlError splits one of yaml.v3's error strings into its problem and
// the line it gives, 0 when none; nil is no problem.
func yamlError(err error) (problem string, line int) {
	if err == nil {
		return "", 0
	}
	problem = strings.TrimPrefix(err.Error(), "yaml: ")
	if _, scanErr := fmt.Sscanf(problem, "line %d:", &line); scanErr == nil {
		problem = strings.TrimSpace(problem[strings.IndexByte(problem, ':')+1:])
	}
	return problem, line
}

// syntaxError reports yaml.v3's error err about src at its position.
func (s *source) syntaxError(src []byte, err error) {
	problem, line := yamlError(err)
	text := yamlText(src)
	pos := Pos{File: s.file, Line: max(line, 1)} // a scanner error's line
	switch {
	case parserProblems[problem]:
		pos.Line, pos.Col = parserErrorPos(text, problem, line)
	case slices.Contains(readerProblems, problem):
		if off := firstUnreadable(text); off >= 0 {
			pos.Line, pos.Col = textPos(text, off)
		}
	case unknownAnchorRE.MatchString(problem):
		if off := aliasOffset(text, unknownAnchorRE.FindStringSubmatch(problem)[1]); off >= 0 {
			pos.Line, pos.Col = textPos(text, off)
		}
	}
	// An error at the end of the input (an unclosed "[") comes with the
	// line after the last, which the file may not have: the last line with
	// text is where the reader looks.
	if last, _ := textPos(text, len(strings.TrimRight(text, "\r\n \t"))); pos.Line > last {
		pos.Line, pos.Col = last, 0
	}
	s.errs.Add(pos, "", ErrSyntax, "%s", problem)
}

// parserErrorPos is where a parser error's context is: yaml.v3 gives its
// line counted from 0, or the problem's when the context is on the first
// line. Parsed again below one more line, the context is never on the
// first line, and the line yaml.v3 gives is the 1-based line of the
// context in text. The column is found for a flow collection's error
// only (see flowColumn): other contexts are block nodes, which the edits
// that find a column would change.
func parserErrorPos(text, problem string, line int) (int, int) {
	again, line2 := yamlError(yaml.Unmarshal([]byte("\n"+text), new(yaml.Node)))
	if again != problem || line2 < 1 {
		return line + 1, 0 // cannot happen; line+1 is the context's or the problem's line
	}
	col := 0
	switch problem {
	case flowSeqProblem:
		col = flowColumn(text, problem, line2, '[')
	case flowMapProblem:
		col = flowColumn(text, problem, line2, '{')
	}
	return line2, col
}

// flowColumn is the column of the flow collection opening with open on
// line ln that yaml.v3 was parsing when it failed with problem, 0 when it
// cannot tell. yaml.v3 is asked again: a line break inserted just before
// the collection's opening moves it, and so the line of the error, one
// line down; a break inserted after it does not. Of the line's opening
// characters, the collection is the last whose break moves the error.
//
// Indented to the same column, the rest of the line reads the same after
// the break when the opening follows a blank or a flow indicator; not
// when it follows other text ("[a:[b" is a plain "a:" then a sequence,
// "[a:\n[b" a mapping of a to a sequence), which is not tried (see
// breakable). Nor when
// the break splits a mapping's key, which must be on one line ("[[a]: [b"
// has the key [a]): the breaks that move the error are then not all
// before those that do not, and there is no column. There is none either
// when an opening not tried comes after the one found, or when the line
// has so many openings that asking yaml.v3 about each would be slow (a
// parse of a 1 MiB measure takes about half a second).
func flowColumn(text, problem string, ln int, open byte) int {
	const maxTries, maxBytes = 16, 4 << 20
	spans := yamlLineSpans(text)
	if ln > len(spans) {
		return 0
	}
	sp := spans[ln-1]
	var tried, untried []int // byte offsets in text
	for i := sp.start; i < sp.end; i++ {
		switch {
		case text[i] != open:
		case breakable(text[sp.start:i]):
			tried = append(tried, i)
		default:
			untried = append(untried, i)
		}
	}
	if len(tried) > maxTries || len(tried)*len(text) > maxBytes {
		return 0
	}
	at := -1 // the last opening whose break moves the error
	for i, off := range tried {
		indent := strings.Repeat(" ", utf8.RuneCountInString(text[sp.start:off]))
		edited := "\n" + text[:off] + "\n" + indent + text[off:]
		again, line := yamlError(yaml.Unmarshal([]byte(edited), new(yaml.Node)))
		switch moves := again == problem && line == ln+1; {
		case moves && at < i-1: // a break before it did not move the error
			return 0
		case moves:
			at = i
		}
	}
	if at < 0 || len(untried) > 0 && untried[len(untried)-1] > tried[at] {
		return 0
	}
	return utf8.RuneCountInString(text[sp.start:tried[at]]) + 1
}

// breakable reports whether a line break after before, the start of a
// line, leaves the YAML that follows as it was: before ends in a blank or
// a flow indicator, and the break is not in a comment ("# a [b" would
// become "# a" and a sequence) nor in a tag, whose name may hold ',', '['
// and ']' ("!a,[b" is one tag).
func breakable(before string) bool {
	word := before[strings.LastIndexAny(before, " \t")+1:]
	return (before == "" || strings.IndexByte(" \t[{,", before[len(before)-1]) >= 0) &&
		!strings.HasPrefix(before, "#") && !strings.Contains(before, " #") && !strings.Contains(before, "\t#") &&
		!strings.Contains(word, "!")
}

// firstUnreadable is the offset of the first character of text yaml.v3's
// reader refuses: a byte that is not UTF-8, or a character outside YAML's
// printable set; -1 when none (text is not UTF-8 but UTF-16).
func firstUnreadable(text string) int {
	for i, r := range text {
		printable := r == '\t' || r == '\n' || r == '\r' || r >= 0x20 && r <= 0x7E || r == 0x85 ||
			r >= 0xA0 && r <= 0xD7FF || r >= 0xE000 && r <= 0xFFFD || r >= 0x10000 && r <= 0x10FFFF
		if !printable || r == utf8.RuneError && !strings.HasPrefix(text[i:], "\uFFFD") {
			return i
		}
	}
	return -1
}

// textPos is the 1-based line and column (in runes) of byte offset off of
// text, counting lines as yaml.v3 does.
func textPos(text string, off int) (int, int) {
	spans := yamlLineSpans(text)
	ln := sort.Search(len(spans), func(i int) bool { return spans[i].end >= off })
	if ln == len(spans) {
		ln--
	}
	return ln + 1, utf8.RuneCountInString(text[spans[ln].start:max(off, spans[ln].start)]) + 1
}

// aliasOffset is where text first refers to anchor name as an alias, -1
// when it cannot tell. yaml.v3 fails at that alias, no anchor of the name
// coming before it. Of the places where "*name" could be an alias (see
// aliasCandidates; some are in comments or scalars), it is the first
// where a copy of text cut just after it fails the same way: cut after
// "*name" in a comment or a scalar, the copy has no alias, or another
// error. A ':' right after the alias stays in the copy, or a mapping's
// key would read as a key missing. The search is binary: it asks yaml.v3
// about the candidate it returns and the one before it.
func aliasOffset(text, name string) int {
	cands := aliasCandidates(text, name)
	want := "unknown anchor '" + name + "' referenced"
	n := sort.Search(len(cands), func(i int) bool {
		end := cands[i] + 1 + len(name)
		if rest := strings.TrimLeft(text[end:], " \t"); strings.HasPrefix(rest, ":") {
			end = len(text) - len(rest) + 1
		}
		problem, _ := yamlError(yaml.Unmarshal([]byte(text[:end]), new(yaml.Node)))
		return problem == want
	})
	switch {
	case n < len(cands):
		return cands[n]
	case len(cands) > 0:
		return cands[0] // no cut failed as the whole did: the first that may be
	}
	return -1
}

// aliasCandidates are the offsets of the places "*name" of text not
// followed by more of a name: yaml.v3's alias names are letters, digits,
// '_' and '-'.
func aliasCandidates(text, name string) []int {
	var out []int
	for i := 0; ; {
		j := strings.Index(text[i:], "*"+name)
		if j < 0 {
			return out
		}
		at, end := i+j, i+j+1+len(name)
		if end == len(text) || !isWordByte(text[end]) && text[end] != '-' {
			out = append(out, at)
		}
		i = at + 1
	}
}
