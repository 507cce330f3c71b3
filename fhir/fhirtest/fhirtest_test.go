package fhirtest_test

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/caremetrics/caremetrics/fhir/fhirtest"
)

func TestValidate(t *testing.T) {
	const pop = `{"code": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/measure-population", "code": "numerator"}]}, "count": 1`
	for _, tc := range []struct {
		name, doc, want string
	}{
		{"minimal", `{"resourceType": "MeasureReport", "status": "complete", "type": "summary", "measure": "https://x.example/Measure/m", "period": {"start": "2025-01-01", "end": "2025-12-31"}}`, ""},
		{"subject list", `{"resourceType": "MeasureReport", "status": "complete", "type": "subject-list", "measure": "m", "period": {},
			"contained": [{"resourceType": "List", "id": "n", "status": "current", "mode": "snapshot", "entry": [{"item": {"reference": "Patient/p1"}}]}],
			"group": [{"population": [` + pop + `, "subjectResults": {"reference": "#n"}}]}]}`, ""},
		{"unknown element", `{"resourceType": "MeasureReport", "status": "complete", "type": "summary", "measure": "m", "period": {}, "score": 1}`, "R4 JSON schema"},
		{"not a report", `{"resourceType": "Patient"}`, "R4 JSON schema"},
		{"count", `{"resourceType": "MeasureReport", "status": "complete", "type": "summary", "measure": "m", "period": {}, "group": [{"population": [` + pop + `.5}]}]}`, "count: 1.5 is not an integer"},
		{"no measure", `{"resourceType": "MeasureReport", "status": "complete", "type": "summary", "period": {}}`, "missing property 'measure'"},
		{"no status", `{"resourceType": "MeasureReport", "type": "summary", "measure": "m", "period": {}}`, "MeasureReport.status: required"},
		{"population code", `{"resourceType": "MeasureReport", "status": "complete", "type": "summary", "measure": "m", "period": {}, "group": [{"population": [{"count": 1}]}]}`, "want one measure-population coding"},
		{"mrp-1", `{"resourceType": "MeasureReport", "status": "complete", "type": "data-collection", "measure": "m", "period": {}, "group": [{}]}`, "mrp-1"},
		{"mrp-2", `{"resourceType": "MeasureReport", "status": "complete", "type": "summary", "measure": "m", "period": {}, "group": [{"stratifier": [{"stratum": [{}]}]}]}`, "mrp-2"},
		{"ext-1", `{"resourceType": "MeasureReport", "extension": [{"url": "x"}], "status": "complete", "type": "summary", "measure": "m", "period": {}}`, "ext-1"},
		{"dom-3", `{"resourceType": "MeasureReport", "status": "complete", "type": "summary", "measure": "m", "period": {},
			"contained": [{"resourceType": "List", "id": "n", "status": "current", "mode": "snapshot"}]}`, "dom-3"},
		{"narrative", `{"resourceType": "MeasureReport", "text": {"status": "additional", "div": "<p>x</p>"}, "status": "complete", "type": "summary", "measure": "m", "period": {}}`, "not an XHTML div"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := fhirtest.Validate([]byte(tc.doc))
			if tc.want == "" {
				assert.NoError(t, err)
				return
			}
			require.Error(t, err)
			assert.Contains(t, err.Error(), tc.want)
		})
	}
}
