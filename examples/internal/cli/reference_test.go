package cli

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/caremetrics/caremetrics/metric"
)

func TestParseReference(t *testing.T) {
	race := &metric.Stratifier{ID: "race", Strata: []metric.Stratum{{Values: []string{"white"}}, {Values: []string{"black"}}}}
	cross := &metric.Stratifier{ID: "race_x_sex", Strata: []metric.Stratum{{Values: []string{"white", "F"}}}}
	sex := &metric.Stratifier{ID: "sex", Strata: []metric.Stratum{{Values: []string{"F"}}}}
	for _, tc := range []struct {
		in      string
		st      *metric.Stratifier
		want    metric.Reference
		wantErr string
	}{
		{"largest", race, metric.Reference{Kind: metric.ReferenceLargest, LowerIsBetter: true}, ""},
		{"best", sex, metric.Reference{Kind: metric.ReferenceBest, LowerIsBetter: true}, ""},
		{"overall,race=white", race, metric.Reference{Kind: metric.ReferenceNamed, Values: []string{"white"}}, ""},
		{"overall,race=white", sex, metric.Reference{Kind: metric.ReferenceOverall, LowerIsBetter: true}, ""},
		{"race_x_sex=white|F", cross, metric.Reference{Kind: metric.ReferenceNamed, Values: []string{"white", "F"}}, ""},
		{"white", race, metric.Reference{Kind: metric.ReferenceNamed, Values: []string{"white"}}, ""},
		{"race=", nil, metric.Reference{}, `-reference "race=": "race=": want STRATIFIER=NAME`},
		{"best,overall", nil, metric.Reference{}, `-reference "best,overall": more than one of largest, best, overall`},
	} {
		rule, err := ParseReference(tc.in)
		if tc.wantErr != "" {
			assert.EqualError(t, err, tc.wantErr)
			continue
		}
		require.NoError(t, err, tc.in)
		assert.Equal(t, tc.want, rule.For(tc.st, true), tc.in)
	}
}
