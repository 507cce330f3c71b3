package dsl

import (
	"os"
	"path/filepath"
	"testing"
	"testing/fstest"
)

// FuzzCompile feeds arbitrary measure YAML to the compiler: it must return
// a measure or an error, never panic.
func FuzzCompile(f *testing.F) {
	seeds, _ := filepath.Glob(filepath.Join("..", "testdata", "dsl", "errors", "*.yaml"))
	for _, s := range seeds {
		if b, err := os.ReadFile(s); err == nil {
			f.Add(b)
		}
	}
	f.Add([]byte(engineSeed))
	fsys := fstest.MapFS{"vs.yaml": {Data: []byte(testValueSets)}}
	f.Fuzz(func(t *testing.T, src []byte) {
		m, err := Compile("f.yaml", src, fsys)
		if err == nil && m == nil {
			t.Fatal("nil measure without error")
		}
	})
}

// FuzzValueSets feeds arbitrary YAML and CSV to the value-set parser.
func FuzzValueSets(f *testing.F) {
	f.Add([]byte(testValueSets), false)
	f.Add([]byte("value_set_name,code_system,code\nA,CVX,20\nB,CDT,D1000-D1999\n"), true)
	f.Fuzz(func(t *testing.T, src []byte, csv bool) {
		name := "v.yaml"
		if csv {
			name = "v.csv"
		}
		sets, err := ParseValueSets(name, src)
		if err != nil {
			return
		}
		for _, v := range sets {
			if v.Len() == 0 {
				t.Fatalf("empty value set %q accepted", v.Name)
			}
			v.Contains("CVX", "20")
		}
	})
}

const engineSeed = `id: t
title: T
period: {start: 2025-01-01, end: 2025-12-31}
valuesets: [vs.yaml]
define:
  age: ageOn(period_end)
  v: exists(between(events("DTaP"), birth_date, birthday(2))) && enrolled(period_start, period_end, "medical", 1, 45)
groups:
  g: {initial_population: age >= 2, denominator: "true", numerator: v}
stratifiers:
  sex: category("sex")
`
