package synth

import (
	"bufio"
	"os"
	"strconv"
)

// csvSink writes the three tables as CSV with a header. No generated value
// contains a comma, quote or newline, so fields are written unquoted.
// Dates are YYYY-MM-DD, lists are ';'-separated and an empty field is null.
type csvSink struct {
	files [3]*os.File
	w     [3]*bufio.Writer
	buf   []byte
}

var (
	membersHeader    = "member_id,birth_date,death_date,sex,race,ethnicity,language,interpreter_needed,disability,county\n"
	enrollmentHeader = "member_id,start_date,end_date,benefits,plan\n"
	eventsHeader     = "member_id,date,end_date,system,code,value,source,claim_id\n"
)

func newCSVSink(dir string) (*csvSink, error) {
	s := &csvSink{}
	m, e, v := FileNames(dir, CSV)
	for i, name := range []string{m, e, v} {
		f, err := os.Create(name)
		if err != nil {
			s.close()
			return nil, err
		}
		s.files[i] = f
		s.w[i] = bufio.NewWriterSize(f, 1<<20)
		s.w[i].WriteString([]string{membersHeader, enrollmentHeader, eventsHeader}[i])
	}
	return s, nil
}

func appendBool(b []byte, v int8) []byte {
	switch v {
	case 1:
		return append(b, "true"...)
	case 0:
		return append(b, "false"...)
	}
	return b
}

func appendOptDay(b []byte, d day) []byte {
	if d == noDay {
		return b
	}
	return appendDay(b, d)
}

func (s *csvSink) write(c *Batch) error {
	b := s.buf[:0]
	for i := range c.Members {
		m := &c.Members[i]
		b = append(b, m.ID...)
		b = append(b, ',')
		b = appendDay(b, m.Birth)
		b = append(b, ',')
		b = appendOptDay(b, m.Death)
		b = append(b, ',')
		b = append(b, m.Sex...)
		b = append(b, ',')
		for j, r := range m.Race {
			if j > 0 {
				b = append(b, ';')
			}
			b = append(b, r...)
		}
		b = append(b, ',')
		b = append(b, m.Ethnicity...)
		b = append(b, ',')
		b = append(b, m.Language...)
		b = append(b, ',')
		b = appendBool(b, m.Interpreter)
		b = append(b, ',')
		b = appendBool(b, m.Disability)
		b = append(b, ',')
		b = append(b, m.County...)
		b = append(b, '\n')
	}
	if _, err := s.w[0].Write(b); err != nil {
		return err
	}
	b = b[:0]
	for i := range c.Enrollment {
		e := &c.Enrollment[i]
		b = append(b, e.MemberID...)
		b = append(b, ',')
		b = appendDay(b, e.Start)
		b = append(b, ',')
		b = appendDay(b, e.End)
		b = append(b, ',')
		first := true
		for k, name := range benefitNames {
			if e.Benefits&(1<<k) != 0 {
				if !first {
					b = append(b, ';')
				}
				b = append(b, name...)
				first = false
			}
		}
		b = append(b, ',')
		b = append(b, e.Plan...)
		b = append(b, '\n')
	}
	if _, err := s.w[1].Write(b); err != nil {
		return err
	}
	b = b[:0]
	for i := range c.Events {
		e := &c.Events[i]
		b = append(b, e.MemberID...)
		b = append(b, ',')
		b = appendDay(b, e.Date)
		b = append(b, ',')
		b = appendOptDay(b, e.End)
		b = append(b, ',')
		b = append(b, e.System...)
		b = append(b, ',')
		b = append(b, e.Code...)
		b = append(b, ',')
		if e.HasValue {
			b = strconv.AppendFloat(b, e.Value, 'f', -1, 64)
		}
		b = append(b, ',')
		b = append(b, e.Source...)
		b = append(b, ',')
		b = append(b, e.ClaimID...)
		b = append(b, '\n')
		if len(b) > 1<<20 {
			if _, err := s.w[2].Write(b); err != nil {
				return err
			}
			b = b[:0]
		}
	}
	if _, err := s.w[2].Write(b); err != nil {
		return err
	}
	s.buf = b[:0]
	return nil
}

func (s *csvSink) close() error {
	var first error
	for i, f := range s.files {
		if f == nil {
			continue
		}
		if s.w[i] != nil {
			if err := s.w[i].Flush(); err != nil && first == nil {
				first = err
			}
		}
		if err := f.Close(); err != nil && first == nil {
			first = err
		}
		s.files[i] = nil
	}
	return first
}
