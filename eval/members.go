package eval

import (
	"encoding/csv"
	"encoding/json"
	"errors"
	"io"
	"strconv"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet"
	"github.com/apache/arrow-go/v18/parquet/compress"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"

	"github.com/caremetrics/caremetrics/metric"
)

// MemberRow is one member's final membership in one rate group, with the
// member's strata for the measure's stratifiers.
type MemberRow struct {
	MemberID string
	Measure  string
	Group    string
	// Membership holds the populations the member is in; for an episode
	// measure, those any of its episodes is in.
	Membership metric.Membership
	// Counts is what the member counts in each population: 0 or 1 for a
	// member proportion measure, its episodes for an episode measure,
	// its values (e.g. member months and visits) for a ratio measure.
	Counts metric.Counts
	// Strata holds, per stratifier of the measure (in definition order),
	// the member's values joined by ";" (a cross's components by "|");
	// empty when the member is in no initial population of the measure.
	Strata []string
}

// HasDetail reports whether the evaluation kept member-level detail.
func (r *Result) HasDetail() bool { return r.membership != nil }

// Members calls fn for every member and group of every measure, measure
// by measure, then group by group, then in member id order; fn returning
// false stops. Members outside every population are included with an
// empty membership. It does nothing without WithMemberDetail.
func (r *Result) Members(fn func(MemberRow) bool) {
	if r.membership == nil {
		return
	}
	for mi, m := range r.measures {
		groups := m.GroupIDs()
		strata := make([]string, len(m.StratifierIDs()))
		for g, gid := range groups {
			for i := range r.data.Members {
				for s := range strata {
					strata[s] = r.strata[mi][s][i]
				}
				row := MemberRow{MemberID: r.data.Members[i].ID, Measure: m.ID(), Group: gid, Membership: r.membership[mi][g][i], Strata: strata}
				if c := r.counts[mi]; c != nil {
					row.Counts = c[g][i]
				} else {
					row.Counts.Add(row.Membership)
				}
				if !fn(row) {
					return
				}
			}
		}
	}
}

// MembersCSVHeader is the header of WriteMembersCSV.
var MembersCSVHeader = []string{"member_id", "measure", "group", "initial_population", "denominator", "denominator_exclusion", "denominator_exception", "numerator"}

// WriteMembersCSV writes members.csv: one row per member and group with
// what the member counts in each final population (MemberRow.Counts: 0/1
// flags for a member proportion measure). Members in no population of a
// group are left out, since all their counts would be 0.
func (r *Result) WriteMembersCSV(w io.Writer) error {
	cw := csv.NewWriter(w)
	if err := cw.Write(MembersCSVHeader); err != nil {
		return err
	}
	rec := make([]string, len(MembersCSVHeader))
	var err error
	r.Members(func(row MemberRow) bool {
		if row.Membership == 0 {
			return true
		}
		rec[0], rec[1], rec[2] = row.MemberID, row.Measure, row.Group
		for i, p := range metric.Populations {
			rec[3+i] = strconv.FormatInt(row.Counts.Get(p), 10)
		}
		err = cw.Write(rec)
		return err == nil
	})
	if err != nil {
		return err
	}
	cw.Flush()
	return cw.Error()
}

// MemberSchema is the schema of MemberRecord: the member, measure and
// group, what the member counts in each population (MemberRow.Counts: 0/1
// for a member proportion measure), and the member's strata as a list of
// "stratifier=value" entries.
var MemberSchema = arrow.NewSchema([]arrow.Field{
	{Name: "member_id", Type: arrow.BinaryTypes.String},
	{Name: "measure", Type: arrow.BinaryTypes.String},
	{Name: "group", Type: arrow.BinaryTypes.String},
	{Name: "initial_population", Type: arrow.PrimitiveTypes.Int64},
	{Name: "denominator", Type: arrow.PrimitiveTypes.Int64},
	{Name: "denominator_exclusion", Type: arrow.PrimitiveTypes.Int64},
	{Name: "denominator_exception", Type: arrow.PrimitiveTypes.Int64},
	{Name: "numerator", Type: arrow.PrimitiveTypes.Int64},
	{Name: "strata", Type: arrow.ListOf(arrow.BinaryTypes.String)},
}, nil)

// MemberRecord returns the member-level detail as one Arrow record (rows
// as in Members, members in no population left out), or nil without
// WithMemberDetail. The caller releases it.
func (r *Result) MemberRecord(mem memory.Allocator) arrow.RecordBatch {
	if r.membership == nil {
		return nil
	}
	b := array.NewRecordBuilder(mem, MemberSchema)
	defer b.Release()
	ids := b.Field(0).(*array.StringBuilder)
	meas := b.Field(1).(*array.StringBuilder)
	grp := b.Field(2).(*array.StringBuilder)
	strata := b.Field(8).(*array.ListBuilder)
	sv := strata.ValueBuilder().(*array.StringBuilder)
	r.Members(func(row MemberRow) bool {
		if row.Membership == 0 {
			return true
		}
		ids.Append(row.MemberID)
		meas.Append(row.Measure)
		grp.Append(row.Group)
		for i, p := range metric.Populations {
			b.Field(3 + i).(*array.Int64Builder).Append(row.Counts.Get(p))
		}
		strata.Append(true)
		sids := r.stratifierIDs(row.Measure)
		for s, v := range row.Strata {
			if v != "" {
				sv.Append(sids[s] + "=" + v)
			}
		}
		return true
	})
	return b.NewRecordBatch()
}

func (r *Result) stratifierIDs(measure string) []string {
	for _, m := range r.measures {
		if m.ID() == measure {
			return m.StratifierIDs()
		}
	}
	return nil
}

// memberJSON is one line of WriteMembersJSONL.
type memberJSON struct {
	MemberID string            `json:"member_id"`
	Measure  string            `json:"measure"`
	Group    string            `json:"group"`
	Counts   metric.Counts     `json:"counts"`
	Strata   map[string]string `json:"strata,omitempty"`
}

// WriteMembersJSONL writes the rows of WriteMembersCSV as JSON lines, each
// with the member's strata by stratifier.
func (r *Result) WriteMembersJSONL(w io.Writer) error {
	enc := json.NewEncoder(w)
	var err error
	r.Members(func(row MemberRow) bool {
		if row.Membership == 0 {
			return true
		}
		line := memberJSON{MemberID: row.MemberID, Measure: row.Measure, Group: row.Group, Counts: row.Counts}
		sids := r.stratifierIDs(row.Measure)
		for s, v := range row.Strata {
			if v != "" {
				if line.Strata == nil {
					line.Strata = map[string]string{}
				}
				line.Strata[sids[s]] = v
			}
		}
		err = enc.Encode(line)
		return err == nil
	})
	return err
}

// WriteMembersParquet writes MemberRecord as a Parquet file (Snappy). It
// does not close w.
func (r *Result) WriteMembersParquet(w io.Writer, mem memory.Allocator) error {
	rec := r.MemberRecord(mem)
	if rec == nil {
		return errors.New("eval: no member detail (evaluate WithMemberDetail)")
	}
	defer rec.Release()
	// Hide w's Close, if it has one: the writer's Close would close it,
	// and w belongs to the caller.
	fw, err := pqarrow.NewFileWriter(MemberSchema, struct{ io.Writer }{w}, parquet.NewWriterProperties(parquet.WithCompression(compress.Codecs.Snappy), parquet.WithAllocator(mem)),
		pqarrow.NewArrowWriterProperties(pqarrow.WithStoreSchema(), pqarrow.WithAllocator(mem)))
	if err != nil {
		return err
	}
	if err := fw.Write(rec); err != nil {
		fw.Close()
		return err
	}
	return fw.Close()
}
