// Package eval runs compiled measures over member data.
//
// Data comes in through LoadDir, LoadFiles (Parquet, Arrow IPC or CSV) or
// FromArrow (in-memory Arrow), and is grouped by member once for every
// measure. Evaluate then runs the measures over the members in parallel and
// returns a metric.Report, plus member-level detail on request.
//
// # Loading Parquet
//
// Parquet files in the canonical layout (flat columns, lists as the
// standard three-level list of strings, dates as DATE, text as UTF-8) are
// read straight from their column chunks, without Arrow arrays: the
// members first, then enrollment and events on every core, each row's
// member id resolved once against the members. Events are read in two
// passes: the first decides which rows the measures need (see
// WithRequirements) and for whom, and the second writes each kept event
// into its member's place, so that the events are never held twice. Before
// a grouped array of 32 MiB or more is made (the events from about a
// hundred thousand members, the spans from half a million), and once such
// a load is done, the load runs a collection and returns the heap's free
// pages to the system (debug.FreeOSMemory), so that the process's peak
// memory is about what is live rather than live plus the garbage of the
// passes. Files
// in any other layout (timestamps for dates, large strings, ';'-joined
// lists, ...) are read through Arrow, with the same results and the same
// errors.
//
// # Concurrency
//
// Members are split into chunks evaluated by a fixed number of workers
// (GOMAXPROCS by default); each worker owns its runners and scratch memory.
// Counts are integers merged at the end and strata are sorted, so the
// report is byte-identical at any number of workers. A *Data is immutable
// and may be evaluated by several goroutines at once.
//
// # Errors
//
// Loading fails as a whole with a *DataError that names the file, row and
// column; nothing is loaded half-way. Rows that cannot be used (events of
// members not in the members table) are counted in Data.Reconciliation and
// reported as warnings, or fail the load in strict mode. Evaluation errors
// name the measure and member; a panic in a worker becomes such an error.
package eval
