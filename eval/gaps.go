package eval

import (
	"encoding/csv"
	"encoding/json"
	"io"
	"strings"

	"github.com/caremetrics/caremetrics/metric"
)

// GapStatus is where a member of a group's initial population stands.
type GapStatus string

// The statuses of GapRow. A member outside the denominator is never open.
const (
	// GapOpen: in the denominator, not excluded, not in the numerator,
	// no exception.
	GapOpen GapStatus = "open"
	// GapClosed: in the numerator.
	GapClosed GapStatus = "closed"
	// GapExcluded: a denominator exclusion or exception.
	GapExcluded GapStatus = "excluded"
	// GapNotApplicable: in the initial population, not in the
	// denominator.
	GapNotApplicable GapStatus = "not_applicable"
)

func gapStatus(ms metric.Membership) GapStatus {
	switch {
	case ms.Has(metric.Numerator):
		return GapClosed
	case ms.Has(metric.DenominatorExclusion), ms.Has(metric.DenominatorException):
		return GapExcluded
	case ms.Has(metric.Denominator):
		return GapOpen
	}
	return GapNotApplicable
}

// GapRow is one member of a group's initial population with its status
// and, when open, the unmet criteria in words (the measure's gap texts)
// and the last day the gap can be closed within the period.
type GapRow struct {
	MemberID string    `json:"member_id"`
	Measure  string    `json:"measure"`
	Group    string    `json:"group"`
	Status   GapStatus `json:"status"`
	Unmet    []string  `json:"unmet,omitempty"`
	// CloseBy is the measure's last day to close the gap, no later than
	// the period's end; nil when the measure gives none.
	CloseBy *metric.Date `json:"close_by,omitempty"`
}

// Gaps calls fn for every member of every group's initial population of
// the member proportion measures (episode and ratio measures have no
// member gaps), measure by
// measure, group by group, then in member id order; fn returning false
// stops. It does nothing without WithGaps.
func (r *Result) Gaps(fn func(GapRow) bool) {
	for mi, m := range r.measures {
		if r.gaps == nil || r.gaps[mi] == nil {
			continue
		}
		period := r.Report.Measures[mi].Period
		for g, gid := range m.GroupIDs() {
			for i := range r.data.Members {
				ms := r.membership[mi][g][i]
				if ms == 0 {
					continue
				}
				row := GapRow{MemberID: r.data.Members[i].ID, Measure: m.ID(), Group: gid, Status: gapStatus(ms)}
				if row.Status == GapOpen {
					gap := r.gaps[mi][g][i]
					row.Unmet = gap.unmet
					if gap.closeBy != metric.NoDate {
						d := min(gap.closeBy, period.End)
						row.CloseBy = &d
					}
				}
				if !fn(row) {
					return
				}
			}
		}
	}
}

// GapsCSVHeader is the header of WriteGapsCSV.
var GapsCSVHeader = []string{"member_id", "measure", "group", "status", "unmet", "close_by"}

// WriteGapsCSV writes gaps.csv: a row per GapRow, the unmet criteria
// joined by "; ".
func (r *Result) WriteGapsCSV(w io.Writer) error {
	cw := csv.NewWriter(w)
	if err := cw.Write(GapsCSVHeader); err != nil {
		return err
	}
	var err error
	r.Gaps(func(row GapRow) bool {
		closeBy := ""
		if row.CloseBy != nil {
			closeBy = row.CloseBy.String()
		}
		err = cw.Write([]string{row.MemberID, row.Measure, row.Group, string(row.Status), strings.Join(row.Unmet, "; "), closeBy})
		return err == nil
	})
	if err != nil {
		return err
	}
	cw.Flush()
	return cw.Error()
}

// WriteGapsJSON writes gaps.json: a JSON array of GapRow, one per line.
func (r *Result) WriteGapsJSON(w io.Writer) error {
	if _, err := io.WriteString(w, "["); err != nil {
		return err
	}
	first := true
	var err error
	r.Gaps(func(row GapRow) bool {
		var b []byte
		if b, err = json.Marshal(row); err != nil {
			return false
		}
		sep := ",\n"
		if first {
			sep, first = "\n", false
		}
		_, err = io.WriteString(w, sep+string(b))
		return err == nil
	})
	if err != nil {
		return err
	}
	_, err = io.WriteString(w, "\n]\n")
	return err
}
