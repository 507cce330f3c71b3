// Package dsl compiles measure definitions, written in YAML with typed
// expressions, into immutable measures that package eval runs.
//
// A measure file names its value sets, reusable defines, one or more rate
// groups of populations, and stratifiers; MEASURES.md in the repository
// documents the format and every expression function. Expressions are
// parsed and type-checked by github.com/expr-lang/expr against the member
// schema, then compiled into Go closures specialised by type, so the
// per-member path neither boxes values nor allocates per event.
//
// # Errors
//
// Compile and CompileFS report every error at once as an ErrorList, each
// entry with the file:line:col of the YAML node or of the offending token
// inside an expression, the YAML path, and an ErrorCode.
//
// # Concurrency
//
// A *Measure and a *Bound are immutable and safe for concurrent use. A
// *Runner (one measure) or *Runners (several, sharing per-member work)
// holds one goroutine's scratch memory: create one per goroutine.
//
// # Safety
//
// Expressions reach only the functions of this package: no file system,
// network, environment, clock or reflection. Value-set paths must stay
// inside the measure's directory.
package dsl
