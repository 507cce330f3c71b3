package eval

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"testing"
	"testing/fstest"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/caremetrics/caremetrics/dsl"
	"github.com/caremetrics/caremetrics/metric"
)

const gapsMeasure = engineMeasure + `
gaps:
  criteria:
    visit: {unmet: "!exists(visits)", text: "no visit from {period_start|date} to {period_end|date}"}
    second_visit: {unmet: "countDates(visits) < 2", text: "{countDates(visits)} of 2 visit days; age {age}"}
  groups:
    visit: {criteria: [visit], close_by: "addDays(period_end, 10)"}
    two_visits: {criteria: [visit, second_visit]}
`

// TestGapsFollowMembership checks every member's status against its
// membership, and the words and last day of open gaps.
func TestGapsFollowMembership(t *testing.T) {
	m, err := dsl.Compile("engine.yaml", []byte(gapsMeasure), fstest.MapFS{"vs.yaml": {Data: []byte(engineValueSets)}})
	require.NoError(t, err)
	data := synthetic(2000, 17)
	res, err := Evaluate(context.Background(), data, []*dsl.Measure{m}, WithGaps())
	require.NoError(t, err)
	membership := map[[2]string]metric.Membership{}
	res.Members(func(row MemberRow) bool {
		membership[[2]string{row.MemberID, row.Group}] = row.Membership
		return true
	})
	statuses := map[GapStatus]int{}
	rows := 0
	res.Gaps(func(row GapRow) bool {
		rows++
		ms := membership[[2]string{row.MemberID, row.Group}]
		require.NotZero(t, ms, "only initial-population members have a status")
		statuses[row.Status]++
		switch {
		case ms.Has(metric.Numerator):
			assert.Equal(t, GapClosed, row.Status)
		case ms.Has(metric.DenominatorExclusion) || ms.Has(metric.DenominatorException):
			assert.Equal(t, GapExcluded, row.Status)
		case ms.Has(metric.Denominator):
			assert.Equal(t, GapOpen, row.Status)
		default:
			assert.Equal(t, GapNotApplicable, row.Status, "never open outside the denominator")
		}
		if row.Status != GapOpen {
			assert.Empty(t, row.Unmet)
			assert.Nil(t, row.CloseBy)
			return true
		}
		require.NotEmpty(t, row.Unmet)
		switch row.Group {
		case "visit":
			assert.Equal(t, []string{"no visit from 2025-01-01 to 2025-12-31"}, row.Unmet)
			require.NotNil(t, row.CloseBy)
			assert.Equal(t, "2025-12-31", row.CloseBy.String(), "clipped to the period's end")
		case "two_visits":
			assert.Regexp(t, `^[01] of 2 visit days; age \d+$`, row.Unmet[len(row.Unmet)-1])
			assert.Nil(t, row.CloseBy)
		}
		return true
	})
	ip := 0
	for _, ms := range membership {
		if ms != 0 {
			ip++
		}
	}
	assert.Equal(t, ip, rows, "every initial-population member has a status")
	for _, s := range []GapStatus{GapOpen, GapClosed, GapExcluded, GapNotApplicable} {
		assert.Greater(t, statuses[s], 10, s)
	}

	var csvBuf, jsonBuf bytes.Buffer
	require.NoError(t, res.WriteGapsCSV(&csvBuf))
	require.NoError(t, res.WriteGapsJSON(&jsonBuf))
	recs, err := csv.NewReader(&csvBuf).ReadAll()
	require.NoError(t, err)
	assert.Equal(t, GapsCSVHeader, recs[0])
	var js []GapRow
	require.NoError(t, json.Unmarshal(jsonBuf.Bytes(), &js))
	require.Len(t, js, rows)
	require.Len(t, recs, rows+1)
	for i, r := range js {
		assert.Equal(t, fmt.Sprint(r.MemberID, r.Group, r.Status), fmt.Sprint(recs[i+1][0], recs[i+1][2], recs[i+1][3]))
	}
}

// TestGapsWithoutTexts falls back on the numerator's expression.
func TestGapsWithoutTexts(t *testing.T) {
	data := synthetic(300, 2)
	res, err := Evaluate(context.Background(), data, []*dsl.Measure{compileEngineMeasure(t)}, WithGaps())
	require.NoError(t, err)
	found := false
	res.Gaps(func(row GapRow) bool {
		if row.Status == GapOpen && row.Group == "two_visits" {
			assert.Equal(t, []string{"numerator not met: countDates(visits) >= 2"}, row.Unmet)
			found = true
		}
		return true
	})
	assert.True(t, found)
}
