package dsl_test

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"testing/fstest"
	"unicode/utf8"

	"github.com/caremetrics/caremetrics/dsl"
	"github.com/caremetrics/caremetrics/measures"
)

// FuzzCompilePositions compiles arbitrary measure YAML, seeded with every
// shipped measure (over the shipped value sets and libraries), the error
// files of testdata/dsl/errors and the catalogue's measures. A measure
// that compiles must report its requirements; one that does not must
// give an ErrorList, sorted, each entry with a code, a message, and a
// position inside the file it names.
func FuzzCompilePositions(f *testing.F) {
	fsys := fstest.MapFS{}
	must := func(err error) {
		if err != nil {
			f.Fatal(err)
		}
	}
	must(fs.WalkDir(measures.FS, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := fs.ReadFile(measures.FS, p)
		if err != nil {
			return err
		}
		fsys[p] = &fstest.MapFile{Data: b}
		if !strings.Contains(p, "/") {
			f.Add(b)
		}
		return nil
	}))
	for name, file := range catalogueFS {
		fsys[name] = file
	}
	errorFiles, err := filepath.Glob(filepath.Join("..", "testdata", "dsl", "errors", "*"))
	must(err)
	for _, p := range errorFiles {
		b, err := os.ReadFile(p)
		must(err)
		fsys[filepath.Base(p)] = &fstest.MapFile{Data: b}
		if strings.HasSuffix(p, ".yaml") && !strings.HasPrefix(filepath.Base(p), "vs_") && !strings.HasPrefix(filepath.Base(p), "lib_") {
			f.Add(b)
		}
	}
	for _, cases := range compileCatalogue {
		for _, c := range cases {
			f.Add([]byte(c.src))
		}
	}
	f.Fuzz(func(t *testing.T, src []byte) {
		m, err := dsl.Compile("f.yaml", src, fsys)
		if err == nil {
			if m == nil {
				t.Fatal("no measure and no error")
			}
			_ = m.Requirements()
			return
		}
		var list dsl.ErrorList
		if !errors.As(err, &list) || len(list) == 0 {
			t.Fatalf("error %T is not an ErrorList: %v", err, err)
		}
		files := map[string][]byte{"f.yaml": src}
		for i, e := range list {
			if i > 0 {
				p := list[i-1].Pos
				if p.File > e.Pos.File || p.File == e.Pos.File && (p.Line > e.Pos.Line || p.Line == e.Pos.Line && p.Col > e.Pos.Col) {
					t.Fatalf("errors not sorted: %v before %v", list[i-1], e)
				}
			}
			checkPosition(t, e, files, fsys)
		}
	})
}

// checkPosition checks that e has a code and a message and points into
// the file it names.
func checkPosition(t *testing.T, e *dsl.Error, files map[string][]byte, fsys fstest.MapFS) {
	t.Helper()
	if e.Code == "" || strings.TrimSpace(e.Msg) == "" {
		t.Fatalf("error without a code or a message: %#v", e)
	}
	text, ok := files[e.Pos.File]
	if !ok {
		mf, ok := fsys[e.Pos.File]
		if !ok {
			t.Fatalf("error in an unknown file: %v", e)
		}
		text = mf.Data
	}
	if e.Pos.Line == 0 {
		t.Fatalf("error without a line: %v", e)
	}
	// yaml.v3 breaks lines at \n, \r\n, a lone \r, NEL, LS and PS.
	breaks := strings.NewReplacer("\r\n", "\n", "\r", "\n", "\u0085", "\n", "\u2028", "\n", "\u2029", "\n")
	lines := strings.Split(breaks.Replace(string(text)), "\n")
	if e.Pos.Line == len(lines)+1 && e.Pos.Col <= 1 {
		return // the end of the file: a value missing at the very end
	}
	if e.Pos.Line < 1 || e.Pos.Line > len(lines) {
		t.Fatalf("error at line %d of a file of %d lines: %v", e.Pos.Line, len(lines), e)
	}
	// A column may point just past the end of a line (an expression
	// that ends too soon).
	if n := utf8.RuneCountInString(lines[e.Pos.Line-1]); e.Pos.Col < 0 || e.Pos.Col > n+1 {
		t.Fatalf("error at column %d of a line of %d characters: %v\nline: %q", e.Pos.Col, n, e, lines[e.Pos.Line-1])
	}
}

// FuzzValueSetForms writes one value-set file drawn from the fuzzer's
// bytes twice, as YAML and as CSV, and parses both: the two must fail
// with the same messages, or give the same sets, which hold every code
// they list (a range its ends, a prefix its codes) and agree with each
// other on every code near one listed.
func FuzzValueSetForms(f *testing.F) {
	f.Add([]byte{})
	f.Add([]byte("CDT D1000-D1999 CPT 99202 ICD10CM E11* LOINC 1-8"))
	f.Add([]byte{0, 3, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20})
	f.Add([]byte{2, 5, 9, 9, 1, 2, 3, 200, 4, 5, 6, 7, 100, 101, 102, 103, 104, 105, 106, 107, 108})
	f.Fuzz(func(t *testing.T, b []byte) {
		sets := valueSetsOf(b)
		yamlSrc, csvSrc := sets.yaml(), sets.csv()
		fromYAML, errYAML := dsl.ParseValueSets("v.yaml", []byte(yamlSrc))
		fromCSV, errCSV := dsl.ParseValueSets("v.csv", []byte(csvSrc))
		for name, err := range map[string]error{"v.yaml": errYAML, "v.csv": errCSV} {
			var list dsl.ErrorList
			if err != nil && !errors.As(err, &list) {
				t.Fatalf("%s: error %T is not an ErrorList", name, err)
			}
			files := map[string][]byte{"v.yaml": []byte(yamlSrc), "v.csv": []byte(csvSrc)}
			for _, e := range list {
				if e.Pos.File != name {
					t.Fatalf("%s: error in %s: %v", name, e.Pos.File, e)
				}
				checkPosition(t, e, files, nil)
			}
		}
		if (errYAML == nil) != (errCSV == nil) || errYAML != nil && !slices.Equal(messages(errYAML), messages(errCSV)) {
			t.Fatalf("YAML and CSV disagree:\n%v\n--\n%v\n--\n%s--\n%s", errYAML, errCSV, yamlSrc, csvSrc)
		}
		if errYAML != nil {
			return
		}
		if len(fromYAML) != len(fromCSV) {
			t.Fatalf("%d sets from YAML, %d from CSV", len(fromYAML), len(fromCSV))
		}
		for i, y := range fromYAML {
			c := fromCSV[i]
			if y.Name != c.Name || y.Len() != c.Len() || !slices.Equal(y.Systems(), c.Systems()) {
				t.Fatalf("set %d: YAML %s (%d entries, %v), CSV %s (%d entries, %v)", i, y.Name, y.Len(), y.Systems(), c.Name, c.Len(), c.Systems())
			}
			for _, e := range sets[i].entries {
				sys, ok := dsl.NormalizeSystem(e.system)
				if !ok {
					t.Fatalf("set %s accepted with an unknown system %q", y.Name, e.system)
				}
				for _, code := range e.members(sys) {
					if !y.Contains(sys, code) || !c.Contains(sys, code) {
						t.Fatalf("set %s lists %s %q but holds no %q (YAML %v, CSV %v)", y.Name, e.system, e.code, code, y.Contains(sys, code), c.Contains(sys, code))
					}
				}
				for _, code := range e.near(sys) {
					if y.Contains(sys, code) != c.Contains(sys, code) {
						t.Fatalf("set %s: YAML and CSV disagree on %s %q", y.Name, sys, code)
					}
				}
			}
		}
	})
}

// messages returns the distinct messages of an ErrorList, sorted: the
// YAML form reports an unknown system once per set, the CSV form once per
// row.
func messages(err error) []string {
	var list dsl.ErrorList
	errors.As(err, &list)
	var out []string
	for _, e := range list {
		out = append(out, e.Msg)
	}
	slices.Sort(out)
	return slices.Compact(out)
}

type vsEntry struct{ system, code string }

type vsSet struct {
	name    string
	entries []vsEntry // grouped by system, in the order systems first appear
}

type vsFile []vsSet

var vsSystems = []string{"CVX", "CPT", "CDT", "ICD10CM", "ICD10PCS", "LOINC", "NDC", "SNOMEDCT", "HCPCS", "cvx", "ICD-10-CM", "http://hl7.org/fhir/sid/cvx", "ICD9", "FOO"}

// vsAlphabet makes codes, ranges and prefixes: digits, a few letters, the
// ICD dot, the range hyphen, the prefix star and a space.
const vsAlphabet = "0123456789DEACZ.-* 19"

// valueSetsOf draws one to three sets of one to six entries from b.
func valueSetsOf(b []byte) vsFile {
	g := b
	next := func() int {
		if len(g) == 0 {
			return 0
		}
		c := int(g[0])
		g = g[1:]
		return c
	}
	var out vsFile
	for s := range 1 + next()%3 {
		set := vsSet{name: fmt.Sprintf("S%d", s)}
		var order []string
		bySystem := map[string][]string{}
		for range 1 + next()%6 {
			sys := vsSystems[next()%len(vsSystems)]
			var code strings.Builder
			for range next() % 9 {
				code.WriteByte(vsAlphabet[next()%len(vsAlphabet)])
			}
			if _, ok := bySystem[sys]; !ok {
				order = append(order, sys)
			}
			bySystem[sys] = append(bySystem[sys], code.String())
		}
		for _, sys := range order {
			for _, c := range bySystem[sys] {
				set.entries = append(set.entries, vsEntry{sys, c})
			}
		}
		out = append(out, set)
	}
	return out
}

func (f vsFile) yaml() string {
	var b strings.Builder
	b.WriteString("valuesets:\n")
	for _, s := range f {
		fmt.Fprintf(&b, "  - name: %s\n    codes:\n", s.name)
		for i, e := range s.entries {
			if i == 0 || s.entries[i-1].system != e.system {
				fmt.Fprintf(&b, "      %q:\n", e.system)
			}
			fmt.Fprintf(&b, "        - %q\n", e.code)
		}
	}
	return b.String()
}

func (f vsFile) csv() string {
	var b strings.Builder
	b.WriteString("value_set_name,code_system,code\n")
	for _, s := range f {
		for _, e := range s.entries {
			fmt.Fprintf(&b, "%s,%s,%s\n", s.name, e.system, e.code)
		}
	}
	return b.String()
}

// members returns codes an accepted entry must hold: the code, a range's
// two ends, a prefix and the prefix followed by a digit.
func (e vsEntry) members(sys string) []string {
	entry := strings.TrimSpace(e.code)
	if p, ok := strings.CutSuffix(entry, "*"); ok {
		p = dsl.NormalizeCode(sys, p)
		return []string{p, p + "1"}
	}
	if lo, hi, ok := strings.Cut(entry, "-"); ok && sys != "LOINC" && sys != "NDC" && strings.Count(entry, "-") == 1 {
		return []string{dsl.NormalizeCode(sys, lo), dsl.NormalizeCode(sys, hi)}
	}
	return []string{dsl.NormalizeCode(sys, entry)}
}

// near returns codes around an entry, on which both forms must agree.
func (e vsEntry) near(sys string) []string {
	var out []string
	for _, c := range e.members(sys) {
		out = append(out, c, c+"0", c+"9", strings.TrimSuffix(c, c[max(len(c)-1, 0):]))
		if c != "" {
			last := c[len(c)-1]
			out = append(out, c[:len(c)-1]+string(last+1), c[:len(c)-1]+string(last-1))
		}
	}
	return out
}
