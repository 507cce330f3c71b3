package eval

import (
	"context"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
)

// TestLoadSample loads the shipped sample cohort and checks its index.
func TestLoadSample(t *testing.T) {
	d, err := LoadDir(context.Background(), "../testdata/sample")
	if err != nil {
		t.Fatal(err)
	}
	checkIndex(t, d)
}

// benchCohort generates CSV text of n members with 36 events each.
func benchCohort(n int) (members, enrollment, events string) {
	r := rand.New(rand.NewPCG(1, 2))
	var m, e, v strings.Builder
	m.WriteString("member_id,birth_date,sex,race,county\n")
	e.WriteString("member_id,start_date,end_date,benefits,plan\n")
	v.WriteString("member_id,date,end_date,system,code,value,source,claim_id\n")
	codes := []string{"CPT,99213", "ICD10CM,E11.9", "CVX,03", "LOINC,4548-4", "HCPCS,G0444", "SNOMEDCT,428181000124104"}
	// Members in random order, as the loader must not assume sorting.
	for i, k := range r.Perm(n) {
		id := fmt.Sprintf("M%07d", k)
		fmt.Fprintf(&m, "%s,19%02d-0%d-1%d,F,white;asian,C%d\n", id, r.IntN(100), 1+r.IntN(9), r.IntN(10), r.IntN(36))
		fmt.Fprintf(&e, "%s,2024-01-01,2024-12-31,medical;pharmacy,P%d\n", id, r.IntN(5))
		for j := range 36 {
			fmt.Fprintf(&v, "%s,2024-%02d-%02d,,%s,%d,claim,C%d-%d\n", id, 1+r.IntN(12), 1+r.IntN(28), codes[r.IntN(len(codes))], r.IntN(20), i, j/4)
		}
	}
	return m.String(), e.String(), v.String()
}

func BenchmarkLoadCSV(b *testing.B) {
	const n = 20000
	m, e, v := benchCohort(n)
	b.ReportAllocs()
	b.SetBytes(int64(len(m) + len(e) + len(v)))
	for b.Loop() {
		if _, err := loadCSV(context.Background(), m, e, v); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(n*36*b.N)/b.Elapsed().Seconds(), "events/s")
}
