package dsl

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
)

// ErrorCode classifies a compile error so that tests and tools can assert
// the kind of error without matching text.
type ErrorCode string

// The error codes of measure and value-set compilation.
const (
	ErrSyntax        ErrorCode = "syntax"       // YAML or expression syntax
	ErrUnknownKey    ErrorCode = "unknown-key"  // a key the format does not have
	ErrMissing       ErrorCode = "missing"      // a required part is absent or empty
	ErrInvalid       ErrorCode = "invalid"      // a value of the wrong shape or type
	ErrUnknownName   ErrorCode = "unknown-name" // an unknown attribute, define or function
	ErrUnknownVS     ErrorCode = "unknown-valueset"
	ErrType          ErrorCode = "type"      // an expression of the wrong type
	ErrCycle         ErrorCode = "cycle"     // defines that depend on themselves
	ErrDuplicate     ErrorCode = "duplicate" // a name defined twice
	ErrUnsupported   ErrorCode = "unsupported"
	ErrFile          ErrorCode = "file" // a file that cannot be read
	ErrValueSetEmpty ErrorCode = "empty-valueset"
	ErrLimit         ErrorCode = "limit" // a limit for untrusted measures exceeded (see Limits)
)

// Pos is a position in a source file; Line and Col are 1-based (Col counts
// runes, like go/token).
type Pos struct {
	File string
	Line int
	Col  int
}

// String formats the position as file:line:col.
func (p Pos) String() string {
	switch {
	case p.Line == 0:
		return p.File
	case p.Col == 0:
		return fmt.Sprintf("%s:%d", p.File, p.Line)
	}
	return fmt.Sprintf("%s:%d:%d", p.File, p.Line, p.Col)
}

// Error is one compile error at a position. Path is the YAML path of the
// node ("groups.dtap.numerator"), empty for file-level errors.
type Error struct {
	Pos  Pos
	Path string
	Code ErrorCode
	Msg  string
}

// Error formats the error as "file:line:col: path: message".
func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString(e.Pos.String())
	b.WriteString(": ")
	if e.Path != "" {
		b.WriteString(e.Path)
		b.WriteString(": ")
	}
	b.WriteString(e.Msg)
	return b.String()
}

// ErrorList is every error found while compiling, sorted by position. It
// is returned as a plain error; use errors.As to get at the entries.
type ErrorList []*Error

// Add appends an error.
func (l *ErrorList) Add(pos Pos, path string, code ErrorCode, format string, args ...any) {
	*l = append(*l, &Error{Pos: pos, Path: path, Code: code, Msg: fmt.Sprintf(format, args...)})
}

// Sort orders the list by file, line and column, and drops exact duplicates.
func (l ErrorList) Sort() ErrorList {
	slices.SortStableFunc(l, func(a, b *Error) int {
		return cmp.Or(cmp.Compare(a.Pos.File, b.Pos.File), cmp.Compare(a.Pos.Line, b.Pos.Line), cmp.Compare(a.Pos.Col, b.Pos.Col))
	})
	return slices.CompactFunc(l, func(a, b *Error) bool { return *a == *b })
}

// Err returns nil for an empty list and the sorted list otherwise.
func (l ErrorList) Err() error {
	if len(l) == 0 {
		return nil
	}
	return l.Sort()
}

// Error prints every error, one per line.
func (l ErrorList) Error() string {
	switch len(l) {
	case 0:
		return "no errors"
	case 1:
		return l[0].Error()
	}
	var b strings.Builder
	for i, e := range l {
		if i > 0 {
			b.WriteByte('\n')
		}
		b.WriteString(e.Error())
	}
	return b.String()
}

// Unwrap returns the entries, so errors.As finds an *Error.
func (l ErrorList) Unwrap() []error {
	out := make([]error, len(l))
	for i, e := range l {
		out[i] = e
	}
	return out
}
