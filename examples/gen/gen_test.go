package main

import (
	"bytes"
	"context"
	"encoding/csv"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/ipc"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet/file"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"
)

func generate(t *testing.T, cfg config) string {
	t.Helper()
	if cfg.out == "" {
		cfg.out = t.TempDir()
	}
	if cfg.year == 0 {
		cfg.year = 2025
	}
	if cfg.formats == nil {
		cfg.formats = []string{"csv"}
	}
	if _, err := run(cfg); err != nil {
		t.Fatal(err)
	}
	return cfg.out
}

func readFile(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestDeterministic: the same flags give the same bytes for 1 and 4
// workers, across several chunks, with and without -shuffle.
func TestDeterministic(t *testing.T) {
	n := 2*chunkMembers + 300
	for _, shuffle := range []bool{false, true} {
		a := generate(t, config{members: n, seed: 7, workers: 1, shuffle: shuffle})
		b := generate(t, config{members: n, seed: 7, workers: 4, shuffle: shuffle})
		for _, f := range []string{"members.csv", "enrollment.csv", "events.csv"} {
			if !bytes.Equal(readFile(t, filepath.Join(a, f)), readFile(t, filepath.Join(b, f))) {
				t.Errorf("shuffle=%v: %s differs between 1 and 4 workers", shuffle, f)
			}
		}
	}
	c := generate(t, config{members: 500, seed: 8, workers: 2})
	d := generate(t, config{members: 500, seed: 7, workers: 2})
	if bytes.Equal(readFile(t, filepath.Join(c, "events.csv")), readFile(t, filepath.Join(d, "events.csv"))) {
		t.Error("seeds 7 and 8 give the same events")
	}
}

// TestBinaryFormatsDeterministic: Parquet and Arrow bytes do not depend on
// the number of workers either.
func TestBinaryFormatsDeterministic(t *testing.T) {
	n := chunkMembers + 100
	a := generate(t, config{members: n, seed: 3, workers: 1, formats: []string{"parquet", "arrow"}, batch: 5000})
	b := generate(t, config{members: n, seed: 3, workers: 3, formats: []string{"parquet", "arrow"}, batch: 5000})
	for _, f := range []string{"members.parquet", "events.parquet", "enrollment.arrow", "events.arrow"} {
		if !bytes.Equal(readFile(t, filepath.Join(a, f)), readFile(t, filepath.Join(b, f))) {
			t.Errorf("%s differs between 1 and 3 workers", f)
		}
	}
}

func csvRows(t *testing.T, name string) ([]string, [][]string) {
	t.Helper()
	r := csv.NewReader(bytes.NewReader(readFile(t, name)))
	rows, err := r.ReadAll()
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return rows[0], rows[1:]
}

// TestAllFormats writes every format and checks that the Arrow IPC and
// Parquet files hold as many rows as the CSV files, with the same schema.
func TestAllFormats(t *testing.T) {
	fs, err := parseFormats("all")
	if err != nil {
		t.Fatal(err)
	}
	// Small batches so that files have several record batches / row groups.
	dir := generate(t, config{members: 400, seed: 1, workers: 2, formats: fs, batch: 1000})
	for _, tbl := range []string{"members", "enrollment", "events"} {
		header, rows := csvRows(t, filepath.Join(dir, tbl+".csv"))

		f, err := os.Open(filepath.Join(dir, tbl+".arrow"))
		if err != nil {
			t.Fatal(err)
		}
		rd, err := ipc.NewFileReader(f, ipc.WithAllocator(memory.DefaultAllocator))
		if err != nil {
			t.Fatal(err)
		}
		if got := fieldNames(rd.Schema().Fields()); got != strings.Join(header, ",") {
			t.Errorf("%s.arrow columns %s, csv %s", tbl, got, strings.Join(header, ","))
		}
		n := 0
		for i := range rd.NumRecords() {
			rec, err := rd.RecordBatch(i)
			if err != nil {
				t.Fatal(err)
			}
			n += int(rec.NumRows())
		}
		rd.Close()
		f.Close()
		if n != len(rows) {
			t.Errorf("%s.arrow has %d rows, csv %d", tbl, n, len(rows))
		}

		pf, err := file.OpenParquetFile(filepath.Join(dir, tbl+".parquet"), false)
		if err != nil {
			t.Fatal(err)
		}
		if int(pf.NumRows()) != len(rows) {
			t.Errorf("%s.parquet has %d rows, csv %d", tbl, pf.NumRows(), len(rows))
		}
		fr, err := pqarrow.NewFileReader(pf, pqarrow.ArrowReadProperties{}, memory.DefaultAllocator)
		if err != nil {
			t.Fatal(err)
		}
		tab, err := fr.ReadTable(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if got := fieldNames(tab.Schema().Fields()); got != strings.Join(header, ",") {
			t.Errorf("%s.parquet columns %s, csv %s", tbl, got, strings.Join(header, ","))
		}
		if tbl == "events" && pf.NumRowGroups() < 2 {
			t.Errorf("events.parquet has %d row groups, want several", pf.NumRowGroups())
		}
		tab.Release()
		pf.Close()
	}
}

func fieldNames(fs []arrow.Field) string {
	names := make([]string, len(fs))
	for i, f := range fs {
		names[i] = f.Name
	}
	return strings.Join(names, ",")
}

// TestInvariants checks the CSV output against the data model.
func TestInvariants(t *testing.T) {
	dir := generate(t, config{members: 3000, seed: 1, workers: 2})
	parse := func(s string) time.Time {
		d, err := time.Parse(time.DateOnly, s)
		if err != nil {
			t.Fatalf("bad date %q", s)
		}
		return d
	}
	last := parse("2026-01-31")

	_, members := csvRows(t, filepath.Join(dir, "members.csv"))
	if len(members) != 3000 {
		t.Fatalf("%d members", len(members))
	}
	birth := map[string]time.Time{}
	var cis, dental, dsf int
	for _, m := range members {
		id := m[0]
		if len(id) != 8 || id[0] != 'M' {
			t.Errorf("member id %q", id)
		}
		if _, dup := birth[id]; dup {
			t.Errorf("duplicate member id %s", id)
		}
		b := parse(m[1])
		birth[id] = b
		if m[2] != "" && parse(m[2]).Before(b) {
			t.Errorf("%s dies before birth", id)
		}
		switch age := 2025 - b.Year(); {
		case age == 2:
			cis++
			fallthrough
		case age >= 1 && age <= 14:
			dental++
		case age >= 13:
			dsf++
		}
	}
	if cis < 50 || dental < 500 || dsf < 1000 {
		t.Errorf("thin cohorts: cis %d, dental %d, dsf %d", cis, dental, dsf)
	}

	_, spans := csvRows(t, filepath.Join(dir, "enrollment.csv"))
	for _, s := range spans {
		if _, ok := birth[s[0]]; !ok {
			t.Fatalf("span of unknown member %s", s[0])
		}
		if parse(s[2]).Before(parse(s[1])) {
			t.Errorf("span %v ends before it starts", s)
		}
		if s[2] >= "9999" {
			t.Errorf("open-ended span %v", s)
		}
		if !strings.HasPrefix(s[3], "medical") {
			t.Errorf("span without medical %v", s)
		}
	}

	_, events := csvRows(t, filepath.Join(dir, "events.csv"))
	systems := map[string]int{}
	for _, e := range events {
		b, ok := birth[e[0]]
		if !ok {
			t.Fatalf("event of unknown member %s", e[0])
		}
		d := parse(e[1])
		if d.Before(b) || d.After(last) {
			t.Errorf("event %v outside [birth, %v]", e, last)
		}
		if e[2] != "" && parse(e[2]).Before(d) {
			t.Errorf("event %v ends before it starts", e)
		}
		if e[3] == "" || e[4] == "" {
			t.Errorf("event %v without system or code", e)
		}
		if e[3] == "ICD10CM" && strings.Contains(e[4], ".") {
			t.Errorf("ICD-10 code with a dot %v", e)
		}
		systems[e[3]]++
	}
	for _, s := range []string{"CVX", "CPT", "HCPCS", "CDT", "ICD10CM", "ICD10PCS", "LOINC", "SNOMEDCT", "POS", "RXNORM"} {
		if systems[s] == 0 {
			t.Errorf("no %s events", s)
		}
	}
}
