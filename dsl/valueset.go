package dsl

import (
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"slices"
	"sort"
	"strings"
	"unicode/utf8"
)

// ValueSet is a named list of codes per code system, with ranges and
// prefixes. It is immutable once parsed and safe for concurrent use.
type ValueSet struct {
	Name        string
	OID         string
	Description string
	// Pos is where the value set is defined.
	Pos Pos

	exact    map[string]map[string]struct{} // system → codes
	ranges   []codeRange
	prefixes []codeRange // lo is the prefix
	size     int
	// hadErrors marks a set with malformed entries, so that it is not
	// also reported as empty.
	hadErrors bool
}

type codeRange struct{ system, lo, hi string }

// Len returns the number of entries (codes, ranges and prefixes).
func (v *ValueSet) Len() int { return v.size }

// Systems returns the code systems the value set uses, sorted.
func (v *ValueSet) Systems() []string {
	seen := map[string]bool{}
	for s := range v.exact {
		seen[s] = true
	}
	for _, r := range v.ranges {
		seen[r.system] = true
	}
	for _, r := range v.prefixes {
		seen[r.system] = true
	}
	out := make([]string, 0, len(seen))
	for s := range seen {
		out = append(out, s)
	}
	sort.Strings(out)
	return out
}

// Contains reports whether the normalised (system, code) is in the set.
func (v *ValueSet) Contains(system, code string) bool {
	if _, ok := v.exact[system][code]; ok {
		return true
	}
	for _, r := range v.ranges {
		if r.system != system {
			continue
		}
		c := code
		if isICD(system) {
			if len(c) < len(r.lo) {
				continue
			}
			c = c[:len(r.lo)]
		} else if len(c) != len(r.lo) {
			continue
		}
		if c >= r.lo && c <= r.hi {
			return true
		}
	}
	for _, r := range v.prefixes {
		if r.system == system && strings.HasPrefix(code, r.lo) {
			return true
		}
	}
	return false
}

func isICD(system string) bool { return system == "ICD10CM" || system == "ICD10PCS" }

// hyphenated systems have hyphens inside codes, so "a-b" is never a range.
func hyphenated(system string) bool { return system == "LOINC" || system == "NDC" }

// add adds one entry as written in a value-set file; it returns a message
// when the entry is malformed.
func (v *ValueSet) add(system, entry string) string {
	entry = strings.TrimSpace(entry)
	if entry == "" {
		return "empty code"
	}
	switch {
	case strings.HasSuffix(entry, "*"):
		p := NormalizeCode(system, strings.TrimSuffix(entry, "*"))
		if p == "" || strings.ContainsAny(p, "*") {
			return fmt.Sprintf("bad prefix %q: want a code followed by one *", entry)
		}
		v.prefixes = append(v.prefixes, codeRange{system: system, lo: p})
	case !hyphenated(system) && strings.Count(entry, "-") == 1:
		lo, hi, _ := strings.Cut(entry, "-")
		lo, hi = NormalizeCode(system, lo), NormalizeCode(system, hi)
		switch {
		case lo == "" || hi == "":
			return fmt.Sprintf("bad range %q: want START-END", entry)
		case len(lo) != len(hi):
			return fmt.Sprintf("bad range %q: start and end differ in length", entry)
		case lo > hi:
			return fmt.Sprintf("bad range %q: start is after end", entry)
		}
		v.ranges = append(v.ranges, codeRange{system: system, lo: lo, hi: hi})
	default:
		if v.exact == nil {
			v.exact = make(map[string]map[string]struct{})
		}
		if v.exact[system] == nil {
			v.exact[system] = make(map[string]struct{})
		}
		v.exact[system][NormalizeCode(system, entry)] = struct{}{}
	}
	v.size++
	return ""
}

// ParseValueSets parses a value-set file: YAML (see MEASURES.md) or, when
// filename ends in .csv, a CSV export with a header naming the value set,
// the code system and the code. All errors are reported, with positions.
func ParseValueSets(filename string, src []byte) ([]*ValueSet, error) {
	var errs ErrorList
	var sets []*ValueSet
	if strings.EqualFold(path.Ext(filename), ".csv") {
		sets = parseValueSetCSV(filename, src, &errs)
	} else {
		sets = parseValueSetYAML(filename, src, &errs)
	}
	seen := map[string]*ValueSet{}
	for _, v := range sets {
		if prev, ok := seen[v.Name]; ok && v.Pos.File == prev.Pos.File && !strings.EqualFold(path.Ext(filename), ".csv") {
			errs.Add(v.Pos, "valuesets", ErrDuplicate, "value set %q is already defined at %s", v.Name, prev.Pos)
		}
		seen[v.Name] = v
		if v.size == 0 && !v.hadErrors {
			errs.Add(v.Pos, "valuesets", ErrValueSetEmpty, "value set %q has no codes", v.Name)
		}
	}
	if err := errs.Err(); err != nil {
		return nil, err
	}
	return sets, nil
}

func parseValueSetYAML(filename string, src []byte, errs *ErrorList) []*ValueSet {
	s := &source{file: filename, errs: errs}
	root := s.parseYAML(src)
	if root == nil {
		return nil
	}
	top, _ := s.fields(root, "", "valuesets")
	list, ok := top["valuesets"]
	if !ok {
		if top != nil {
			s.errorf(root, "", ErrMissing, "missing key \"valuesets\"")
		}
		return nil
	}
	var out []*ValueSet
	for i, item := range s.list(list, "valuesets") {
		p := fmt.Sprintf("valuesets[%d]", i)
		f, _ := s.fields(item, p, "name", "oid", "description", "source", "codes")
		if f == nil {
			continue
		}
		v := &ValueSet{Pos: s.pos(item)}
		if n, ok := f["name"]; ok {
			v.Name, _ = s.scalar(n, join(p, "name"))
		}
		if v.Name == "" {
			s.errorf(item, p, ErrMissing, "missing name")
			continue
		}
		p = "valuesets." + v.Name
		if n, ok := f["oid"]; ok {
			v.OID, _ = s.scalar(n, join(p, "oid"))
		}
		if n, ok := f["description"]; ok {
			v.Description, _ = s.scalar(n, join(p, "description"))
		}
		codes, ok := f["codes"]
		if !ok {
			s.errorf(item, p, ErrMissing, "missing codes")
			continue
		}
		cf, keys := s.fields(codes, join(p, "codes"))
		for _, k := range keys {
			sys, known := NormalizeSystem(k)
			if !known {
				s.errorf(keyOf(codes, k), join(p, "codes"), ErrInvalid, "unknown code system %q (want one of %s)", k, strings.Join(CodeSystems, ", "))
				v.hadErrors = true
				continue
			}
			for _, c := range s.list(cf[k], join(p, "codes."+k)) {
				val, ok := s.scalar(c, join(p, "codes."+k))
				if !ok {
					continue
				}
				if msg := v.add(sys, val); msg != "" {
					s.errorf(c, join(p, "codes."+k), ErrInvalid, "%s", msg)
					v.hadErrors = true
				}
			}
		}
		out = append(out, v)
	}
	return out
}

// parseValueSetCSV reads a CSV export: a header with a value-set name
// column, a code-system column and a code column (names as VSAC and HEDIS
// exports spell them), and optionally an OID column.
func parseValueSetCSV(filename string, src []byte, errs *ErrorList) []*ValueSet {
	src = bytes.TrimPrefix(src, []byte("\xef\xbb\xbf"))
	text := &csvText{file: filename, src: src}
	r := csv.NewReader(bytes.NewReader(src))
	r.FieldsPerRecord = -1
	header, err := r.Read()
	if errors.Is(err, io.EOF) {
		errs.Add(Pos{File: filename, Line: 1, Col: 1}, "", ErrMissing, "empty file: no header")
		return nil
	}
	if err != nil {
		errs.Add(text.errPos(err), "", ErrSyntax, "no header: %v", csvMsg(err))
		return nil
	}
	col := map[string]int{}
	for i, h := range header {
		switch normHeader(h) {
		case "valuesetname", "valueset", "name", "valuesetdescription":
			if _, ok := col["name"]; !ok {
				col["name"] = i
			}
		case "codesystem", "system":
			col["system"] = i
		case "code":
			col["code"] = i
		case "oid", "valuesetoid":
			col["oid"] = i
		}
	}
	for _, need := range []string{"name", "system", "code"} {
		if _, ok := col[need]; !ok {
			errs.Add(Pos{File: filename, Line: 1, Col: 1}, "", ErrMissing, "header has no %s column (want value_set_name,code_system,code)", need)
		}
	}
	if len(*errs) > 0 {
		return nil
	}
	byName := map[string]*ValueSet{}
	var order []*ValueSet
	for {
		rec, err := r.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			errs.Add(text.errPos(err), "", ErrSyntax, "%s", csvMsg(err))
			return nil
		}
		line, _ := r.FieldPos(0)
		// fieldPos is where field f starts (a quoted field may span lines).
		fieldPos := func(f int) Pos { return text.pos(r.FieldPos(f)) }
		if len(rec) != len(header) {
			errs.Add(Pos{File: filename, Line: line, Col: 1}, "", ErrInvalid, "%d fields, header has %d", len(rec), len(header))
			continue
		}
		name := strings.TrimSpace(rec[col["name"]])
		if name == "" {
			errs.Add(fieldPos(col["name"]), "", ErrMissing, "empty value set name")
			continue
		}
		v := byName[name]
		if v == nil {
			v = &ValueSet{Name: name, Pos: Pos{File: filename, Line: line, Col: 1}}
			if i, ok := col["oid"]; ok {
				v.OID = strings.TrimSpace(rec[i])
			}
			byName[name] = v
			order = append(order, v)
		}
		sys, known := NormalizeSystem(rec[col["system"]])
		if !known {
			errs.Add(fieldPos(col["system"]), "", ErrInvalid, "unknown code system %q (want one of %s)", rec[col["system"]], strings.Join(CodeSystems, ", "))
			v.hadErrors = true
			continue
		}
		if msg := v.add(sys, rec[col["code"]]); msg != "" {
			errs.Add(fieldPos(col["code"]), "", ErrInvalid, "%s", msg)
			v.hadErrors = true
		}
	}
	return order
}

func normHeader(h string) string {
	h = strings.ToLower(strings.TrimSpace(h))
	return strings.NewReplacer(" ", "", "_", "", "-", "").Replace(h)
}

// csvText turns encoding/csv's positions, whose columns count bytes,
// into Pos, whose columns count runes.
type csvText struct {
	file  string
	src   []byte
	lines [][]byte // src split at \n, where encoding/csv counts lines; split at the first error
}

// pos is the position of byte column col (1-based) of line.
func (t *csvText) pos(line, col int) Pos {
	if line < 1 {
		return Pos{File: t.file, Line: 1}
	}
	if t.lines == nil {
		t.lines = bytes.Split(t.src, []byte("\n"))
	}
	if line <= len(t.lines) && col >= 1 {
		text := t.lines[line-1]
		col = utf8.RuneCount(text[:min(col-1, len(text))]) + 1
	}
	return Pos{File: t.file, Line: line, Col: col}
}

// errPos is where encoding/csv found a syntax error.
func (t *csvText) errPos(err error) Pos {
	var pe *csv.ParseError
	if !errors.As(err, &pe) {
		return Pos{File: t.file, Line: 1}
	}
	return t.pos(pe.Line, pe.Column)
}

func csvMsg(err error) string {
	var pe *csv.ParseError
	if errors.As(err, &pe) {
		return pe.Err.Error()
	}
	return err.Error()
}

// LoadValueSetsDir reads every .yaml, .yml and .csv file of dir as value
// sets, in name order. Use it with WithValueSets to replace shipped value
// sets with a licensed directory.
func LoadValueSetsDir(dir string) ([]*ValueSet, error) {
	return LoadValueSetsFS(os.DirFS(dir), ".", dir)
}

// LoadValueSetsFS reads every value-set file directly in dir of fsys;
// display prefixes file names in errors.
func LoadValueSetsFS(fsys fs.FS, dir, display string) ([]*ValueSet, error) {
	entries, err := fs.ReadDir(fsys, dir)
	if err != nil {
		return nil, fmt.Errorf("value sets: %w", err)
	}
	var out []*ValueSet
	var errs []error
	for _, e := range entries {
		ext := strings.ToLower(path.Ext(e.Name()))
		if e.IsDir() || !slices.Contains([]string{".yaml", ".yml", ".csv"}, ext) {
			continue
		}
		src, err := fs.ReadFile(fsys, path.Join(dir, e.Name()))
		if err != nil {
			errs = append(errs, err)
			continue
		}
		sets, err := ParseValueSets(path.Join(display, e.Name()), src)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		out = append(out, sets...)
	}
	return out, errors.Join(errs...)
}
