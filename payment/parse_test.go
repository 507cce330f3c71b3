package payment

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/caremetrics/caremetrics/dsl"
)

// expectation is one "# ERROR code: message" of a test file: an error of
// that code whose message contains message.
type expectation struct {
	code dsl.ErrorCode
	msg  string
}

// expectedErrors reads the "# ERROR" comments of a file by line; one
// comment may list several, separated by " | ".
func expectedErrors(t *testing.T, src string) map[int][]expectation {
	t.Helper()
	want := map[int][]expectation{}
	for i, line := range strings.Split(src, "\n") {
		_, spec, ok := strings.Cut(line, "# ERROR ")
		if !ok {
			continue
		}
		for _, e := range strings.Split(spec, " | ") {
			code, msg, ok := strings.Cut(e, ": ")
			require.True(t, ok, "line %d: want # ERROR code: message", i+1)
			want[i+1] = append(want[i+1], expectation{dsl.ErrorCode(code), strings.TrimSpace(msg)})
		}
	}
	return want
}

// TestProgramErrors checks the files of testdata/errors both ways: every
// "# ERROR" comment has its error on that line, and every error has its
// comment.
func TestProgramErrors(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("testdata", "errors", "*.yaml"))
	require.NoError(t, err)
	require.NotEmpty(t, files)
	for _, file := range files {
		t.Run(filepath.Base(file), func(t *testing.T) {
			src, err := os.ReadFile(file)
			require.NoError(t, err)
			want := expectedErrors(t, string(src))
			_, err = LoadProgram(file)
			var list dsl.ErrorList
			require.True(t, errors.As(err, &list), "want a dsl.ErrorList, got %v", err)
			got := map[int][]*dsl.Error{}
			for _, e := range list {
				assert.Equal(t, file, e.Pos.File)
				got[e.Pos.Line] = append(got[e.Pos.Line], e)
			}
			for line, exps := range want {
				for _, x := range exps {
					found := false
					for _, e := range got[line] {
						if e.Code == x.code && strings.Contains(e.Msg, x.msg) {
							found = true
						}
					}
					assert.True(t, found, "line %d: no %s error containing %q; got %v", line, x.code, x.msg, got[line])
				}
			}
			for line, errs := range got {
				assert.Len(t, want[line], len(errs), "line %d: errors %v", line, errs)
			}
		})
	}
}

// Errors point at the offending node: line and column, and the path.
func TestProgramErrorPosition(t *testing.T) {
	src := "year: 2025\nmeasures:\n  - id: cis\n    group: combo3\n    benchmrk: 60\n    benchmark: 60\nquality_pool: {rate: 4%}\n"
	_, err := ParseProgram("p.yaml", []byte(src))
	require.Error(t, err)
	assert.Equal(t, `p.yaml:5:5: measures[0].benchmrk: unknown key "benchmrk" (did you mean "benchmark"?)`, err.Error())
	var list dsl.ErrorList
	require.True(t, errors.As(err, &list))
	assert.Equal(t, dsl.ErrUnknownKey, list[0].Code)
	assert.Equal(t, dsl.Pos{File: "p.yaml", Line: 5, Col: 5}, list[0].Pos)
}

func TestProgramSyntaxAndFileErrors(t *testing.T) {
	for _, tc := range []struct {
		name, src string
		code      dsl.ErrorCode
		msg       string
	}{
		{"syntax", "year: 2025\nmeasures:\n  - {id: a, group: g\nquality_pool: {rate: 4%}\n", dsl.ErrSyntax, ""},
		{"empty", "", dsl.ErrMissing, "empty file"},
		{"not a mapping", "- 1\n- 2\n", dsl.ErrInvalid, "want a mapping of keys, got a list"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParseProgram("p.yaml", []byte(tc.src))
			var list dsl.ErrorList
			require.True(t, errors.As(err, &list), "%v", err)
			assert.Equal(t, tc.code, list[0].Code)
			assert.Contains(t, list[0].Msg, tc.msg)
			assert.Positive(t, list[0].Pos.Line)
		})
	}
	_, err := LoadProgram(filepath.Join("testdata", "no-such-file.yaml"))
	var list dsl.ErrorList
	require.True(t, errors.As(err, &list))
	assert.Equal(t, dsl.ErrFile, list[0].Code)
}

// A full program parses into the documented defaults and values.
func TestParseProgram(t *testing.T) {
	p, err := LoadProgram(filepath.Join("testdata", "program.yaml"))
	require.NoError(t, err)
	assert.Equal(t, "Worked-example program", p.Name)
	assert.Equal(t, 2025, p.Year)
	assert.Equal(t, Cents(45000), p.PMPM)
	require.Len(t, p.Measures, 4)
	a, ed := p.Measures[0], p.Measures[2]
	assert.Equal(t, "a/rate", a.Key())
	// Defaults: gap closure 10%, floor 3 points, weight 1, no rounding.
	assert.Equal(t, []string{"0.1", "3", "1", "70"}, []string{a.GapClosure.String(), a.Floor.String(), a.Weight.String(), a.Benchmark.String()})
	assert.Equal(t, -1, a.Decimals)
	assert.Equal(t, int64(30), a.MinDenominator)
	assert.True(t, ed.Inverse)
	assert.Equal(t, UnitPer1000, ed.Unit)
	assert.Equal(t, "2", ed.Floor.String())
	assert.Equal(t, dsl.Pos{File: filepath.Join("testdata", "program.yaml"), Line: 13, Col: 5}, ed.Pos)
	assert.Equal(t, EarnThresholds, p.Pool.Method)
	require.Len(t, p.Pool.Thresholds, 3)
	assert.Equal(t, "0.0425", p.Pool.Rate.String())
	s := p.SharedSavings
	require.NotNil(t, s)
	assert.Equal(t, QualityLinear, s.Quality)
	assert.Equal(t, AboveMSR, s.MSRBasis)
	require.NotNil(t, s.Cap)
	assert.Equal(t, "0.1", s.Cap.String())
}
