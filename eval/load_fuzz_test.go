package eval

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/caremetrics/caremetrics/internal/synth"
)

// FuzzLoadCSV loads arbitrary CSV text of the three tables: loading must
// fail with a *DataError or give a Data whose index is consistent and
// accounts for every row.
func FuzzLoadCSV(f *testing.F) {
	var cohort [3]string
	for i, name := range tableNames {
		b, err := os.ReadFile(filepath.Join(cohortDir, name+".csv"))
		if err != nil {
			f.Fatal(err)
		}
		cohort[i] = string(b)
	}
	f.Add(cohort[0], cohort[1], cohort[2])
	f.Add("member_id,birth_date,race,flag\nB,2000-01-01,x;Y ;,1\nA,1999-12-31,,\n",
		"member_id,start_date,end_date,benefits\nA,2024-01-01,2024-01-01,dental;medical\nC,2024-01-01,2024-12-31,pharmacy\n",
		"member_id,date,system,code,value,claim_id,source\nA,2024-01-01,icd10,E11.9,1e3,c,s\nA,2024-01-01,ICD10CM,e119,,,\n")
	f.Add("member_id,birth_date\n\"A\"\"\",2000-01-01\n", "member_id,start_date,end_date,benefits\n", "member_id,date,system,code\n")
	f.Fuzz(func(t *testing.T, members, enrollment, events string) {
		d, err := loadCSV(context.Background(), members, enrollment, events)
		if err != nil {
			var de *DataError
			if !errors.As(err, &de) {
				t.Fatalf("error %T is not a *DataError: %v", err, err)
			}
			if d != nil {
				t.Fatal("Data and error both returned")
			}
			return
		}
		checkIndex(t, d)
	})
}

// checkIndex checks the invariants of a loaded Data.
func checkIndex(t *testing.T, d *Data) {
	t.Helper()
	var events, spans int32
	for i, m := range d.Members {
		if i > 0 && d.Members[i-1].ID >= m.ID {
			t.Fatalf("members not sorted by unique id: %q, %q", d.Members[i-1].ID, m.ID)
		}
		if m.EventsStart != events || m.EventsEnd < m.EventsStart || m.SpansStart != spans || m.SpansEnd < m.SpansStart {
			t.Fatalf("member %q: runs %d..%d, %d..%d not contiguous", m.ID, m.EventsStart, m.EventsEnd, m.SpansStart, m.SpansEnd)
		}
		events, spans = m.EventsEnd, m.SpansEnd
		if !slices.IsSortedFunc(d.MemberEvents(i), compareEvents) || !slices.IsSortedFunc(d.MemberSpans(i), compareSpans) {
			t.Fatalf("member %q: rows not sorted", m.ID)
		}
	}
	if int(events) != len(d.Events) || int(spans) != len(d.Spans) {
		t.Fatalf("runs cover %d events and %d spans of %d and %d", events, spans, len(d.Events), len(d.Spans))
	}
	for _, e := range d.Events {
		if int(e.Code) >= d.Codes.Len() || e.Source < -1 || int(e.Source) >= len(d.Sources) {
			t.Fatalf("event %+v indexes out of range", e)
		}
	}
	for _, s := range d.Spans {
		if s.End < s.Start {
			t.Fatalf("span %+v ends before it starts", s)
		}
	}
	for _, a := range d.Attributes {
		if n := len(a.Strings) + len(a.Floats) + len(a.Ints) + len(a.Bools) + len(a.Dates) + len(a.Lists); n != len(d.Members) {
			t.Fatalf("attribute %s has %d values for %d members", a.Name, n, len(d.Members))
		}
	}
	read := map[string]int64{}
	for _, f := range d.Reconciliation.Files {
		read[f.Table] += f.Rows
	}
	for _, s := range d.Reconciliation.SetAside {
		read[s.Table] -= s.Rows
	}
	if read["members"] != int64(len(d.Members)) || read["enrollment"] != int64(len(d.Spans)) || read["events"] != int64(len(d.Events)) {
		t.Fatalf("reconciliation %+v does not account for %d members, %d spans, %d events", d.Reconciliation, len(d.Members), len(d.Spans), len(d.Events))
	}
}

// FuzzLoadParquet loads a small synthetic cohort in which one table's
// Parquet file is replaced by arbitrary bytes (seeded with the valid
// files, which the direct readers take): loading must fail with a
// *DataError or give a consistent Data, and never panic.
func FuzzLoadParquet(f *testing.F) {
	dir := f.TempDir()
	if _, err := synth.WriteDir(synth.Config{Members: 40, Seed: 3, Year: 2025}, dir, []string{synth.Parquet}, 97); err != nil {
		f.Fatal(err)
	}
	valid := map[tableKind][]byte{}
	for t, name := range tableNames {
		b, err := os.ReadFile(filepath.Join(dir, name+".parquet"))
		if err != nil {
			f.Fatal(err)
		}
		valid[tableKind(t)] = b
		f.Add(uint8(t), b)
		// A flipped byte in the middle of the column data, and a
		// truncated file.
		flipped := slices.Clone(b)
		flipped[len(b)/2] ^= 0xff
		f.Add(uint8(t), flipped)
		f.Add(uint8(t), b[:len(b)-9])
	}
	f.Fuzz(func(t *testing.T, table uint8, data []byte) {
		tk := tableKind(table % 3)
		d := t.TempDir()
		var files Files
		for k, name := range tableNames {
			b := valid[tableKind(k)]
			if tableKind(k) == tk {
				b = data
			}
			path := filepath.Join(d, name+".parquet")
			if err := os.WriteFile(path, b, 0o644); err != nil {
				t.Fatal(err)
			}
			switch tableKind(k) {
			case tMembers:
				files.Members = []string{path}
			case tEnrollment:
				files.Enrollment = []string{path}
			default:
				files.Events = []string{path}
			}
		}
		loaded, err := LoadFiles(context.Background(), files)
		if err != nil {
			var de *DataError
			if !errors.As(err, &de) {
				t.Fatalf("error %T is not a *DataError: %v", err, err)
			}
			return
		}
		checkIndex(t, loaded)
	})
}
