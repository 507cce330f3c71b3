package synth

import (
	"reflect"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/memory"
)

// TestGenerate: batches come in member order, the same for 1 and 3
// workers, and their stats add up to the total.
func TestGenerate(t *testing.T) {
	cfg := Config{Members: 2*BlockMembers + 77, Seed: 5, Year: 2025}
	collect := func(workers int) ([]*Batch, Stats) {
		cfg.Workers = workers
		var bs []*Batch
		st, err := Generate(cfg, func(b *Batch) error { bs = append(bs, b); return nil })
		if err != nil {
			t.Fatal(err)
		}
		return bs, st
	}
	a, sa := collect(1)
	b, sb := collect(3)
	if !reflect.DeepEqual(a, b) || !reflect.DeepEqual(sa, sb) {
		t.Fatal("1 and 3 workers differ")
	}
	if len(a) != 3 || sa.Members != cfg.Members {
		t.Fatalf("%d batches, %d members", len(a), sa.Members)
	}
	var sum Stats
	for i, bt := range a {
		sum.Add(&bt.Stats)
		if want := string(mkID(i * BlockMembers)); bt.Members[0].ID != want {
			t.Errorf("batch %d starts with %s, want %s", i, bt.Members[0].ID, want)
		}
	}
	if !reflect.DeepEqual(sum, sa) {
		t.Errorf("batch stats add to %+v, total %+v", sum, sa)
	}
}

func mkID(i int) []byte { return (&gen{idW: 7}).pad('M', i+1, 7) }

// TestGenerateArrow: the Arrow tables hold every row, in batches of the
// size asked, and release all their memory.
func TestGenerateArrow(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	tab, err := GenerateArrow(Config{Members: 3000, Seed: 1, Year: 2025, Workers: 2}, mem, 10000)
	if err != nil {
		t.Fatal(err)
	}
	defer tab.Release()
	rows := func(recs []arrow.RecordBatch) (n int) {
		for _, r := range recs {
			if r.NumRows() > 10000 {
				t.Errorf("batch of %d rows", r.NumRows())
			}
			n += int(r.NumRows())
		}
		return n
	}
	st := tab.Stats
	if rows(tab.Members) != st.Members || rows(tab.Enrollment) != st.Enrollment || rows(tab.Events) != st.Events {
		t.Errorf("rows %d/%d/%d, stats %d/%d/%d", rows(tab.Members), rows(tab.Enrollment), rows(tab.Events), st.Members, st.Enrollment, st.Events)
	}
	if st.Members != 3000 || st.Events < 3000*10 {
		t.Errorf("stats %+v", st)
	}
	m, e, v, err := tab.Readers()
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for v.Next() {
		n += int(v.RecordBatch().NumRows())
	}
	if n != st.Events {
		t.Errorf("events reader: %d rows", n)
	}
	m.Release()
	e.Release()
	v.Release()
}
