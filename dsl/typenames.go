package dsl

import (
	"regexp"
	"slices"
	"strings"
)

// expr names types in its messages as Go does ("cannot use int as
// argument (type []dsl.EventRef) to call exists"); a measure author knows
// the expression language's names (MEASURES.md, Types), which kindNames
// holds. dslTypeNames maps the Go name of each kind to its own, for every
// message of expr's. Types without a name of the language (the event of a
// predicate, a list literal's []interface {}) keep the Go name.
var dslTypeNames = func() map[string]string {
	names := map[string]string{}
	for k, t := range typeOfKind {
		if t.String() != k.String() { // []dsl.EventRef, float64
			names[t.String()] = k.String()
		}
	}
	return names
}()

// goTypeRE matches the Go names of dslTypeNames, longest first, so that
// []dsl.EventRef is one name and not [] followed by dsl.EventRef.
var goTypeRE = func() *regexp.Regexp {
	var alts []string
	for name := range dslTypeNames {
		alts = append(alts, regexp.QuoteMeta(name))
	}
	slices.SortFunc(alts, func(a, b string) int { return len(b) - len(a) })
	return regexp.MustCompile(strings.Join(alts, "|"))
}()

// dslTypes rewrites the Go type names in an expr message into the
// expression language's. A name inside a longer word (a field the author
// called float64x) is left alone; expr does not quote names, so a field
// called float64 itself would read float.
func dslTypes(msg string) string {
	var b strings.Builder
	last := 0
	for _, m := range goTypeRE.FindAllStringIndex(msg, -1) {
		if m[0] > 0 && (isWordByte(msg[m[0]-1]) || msg[m[0]-1] == '.') || m[1] < len(msg) && isWordByte(msg[m[1]]) {
			continue
		}
		b.WriteString(msg[last:m[0]])
		b.WriteString(dslTypeNames[msg[m[0]:m[1]]])
		last = m[1]
	}
	b.WriteString(msg[last:])
	return b.String()
}

func isWordByte(c byte) bool {
	return c == '_' || '0' <= c && c <= '9' || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z'
}
