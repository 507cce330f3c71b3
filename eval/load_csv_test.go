package eval

import (
	"context"
	"io"
	"math/rand/v2"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestQuoteCell(t *testing.T) {
	assert.Equal(t, `"M\xe91"`, quoteCell("M\xe91"))
	s40 := strings.Repeat("a", 40)
	assert.Equal(t, `"`+s40+`"`, quoteCell(s40))
	assert.Equal(t, `"`+s40+`..." (41 bytes)`, quoteCell(s40+"b"))
	// A cut inside a character backs up to its start.
	s39 := strings.Repeat("a", 39)
	assert.Equal(t, `"`+s39+`..." (43 bytes)`, quoteCell(s39+"éé"))
	assert.Equal(t, `"`+s39+`\t..." (42 bytes)`, quoteCell(s39+"\t\t\t"))
}

// TestCSVErrors: the CSV reader's checks of the text, beyond the
// catalogue's cases.
func TestCSVErrors(t *testing.T) {
	const (
		members = "member_id,birth_date\nM1,2010-03-04\n"
		spans   = "member_id,start_date,end_date,benefits\n"
		events  = "member_id,date,system,code\n"
	)
	id := strings.Repeat("M", maxKey)
	for _, c := range []struct{ name, members, events, want string }{
		{"pipe delimiter", "member_id|birth_date\nM1|2010-03-04\n", events,
			`members.csv: column member_id: missing required column (the header is one column "member_id|birth_date": is the file delimited by "|"? want ",")`},
		{"utf-16 BE", "\xfe\xff\x00m", events, "members.csv: UTF-16 text: want UTF-8"},
		{"long member id", members, events + id + "M,2025-01-01,CPT,99213\n",
			"events.csv: row 1: column member_id: a member id of 4097 bytes (at most 4096)"},
		{"long claim id", members, "member_id,date,system,code,claim_id\nM1,2025-01-01,CPT,99213," + id + "9\n",
			"events.csv: row 1: column claim_id: a claim id of 4097 bytes (at most 4096)"},
		{"invalid UTF-8 in an attribute", "member_id,birth_date,county\nM1,2010-03-04,Mult\xf6nomah\n", events,
			`members.csv: row 1: column county: invalid UTF-8 "Mult\xf6nomah"`},
		{"invalid UTF-8 in a column name", "member_id,birth_date,n\xe9e\nM1,2010-03-04,x\n", events,
			`members.csv: column name "n\xe9e": invalid UTF-8`},
		{"an earlier row's error first", "member_id,birth_date\nM1,2010-02-30\nM\xe9,2010-03-04\n", events,
			`members.csv: row 1: column birth_date: invalid date "2010-02-30": no such day`},
		{"field count after blank lines", "member_id,birth_date\nM1,2010-03-04\n\n\nM2,2010-03-04,F\n", events,
			"members.csv: row 2 (line 5): 3 fields, want 2 as in the header"},
		{"parse error after a blank line", members + "\nM\"2,2010-03-04\n", events,
			`members.csv: row 2 (line 4): bare " in non-quoted-field (line 4, column 2)`},
		{"invalid number, long", members, "member_id,date,system,code,value\nM1,2025-01-01,LOINC,4548-4," + strings.Repeat("1", 50) + "x\n",
			`events.csv: row 1: column value: invalid number "` + strings.Repeat("1", 40) + `..." (51 bytes)`},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := loadCSV(context.Background(), c.members, spans, c.events)
			assert.EqualError(t, err, c.want)
		})
	}
	// Errors found after reading quote ids as cells are quoted.
	_, err := loadCSV(context.Background(), "member_id,birth_date\n"+id+",2010-03-04\n"+id+",2010-03-04\n", spans, events)
	assert.EqualError(t, err, `members.csv: row 2: column member_id: duplicate member id "`+id[:40]+`..." (4096 bytes) (first at row 1)`)
	_, err = loadCSV(context.Background(), members, spans, events+id+",2025-01-01,CPT,99213\n", WithStrict(true))
	assert.EqualError(t, err, `events.csv: row 1: column member_id: member "`+id[:40]+`..." (4096 bytes) is not in members (1 row set aside in strict mode)`)
	// UTF-8 beyond ASCII loads.
	d, err := loadCSV(context.Background(), "member_id,birth_date,county\nM1,2010-03-04,Doña Ana\n", spans, events)
	require.NoError(t, err)
	assert.Equal(t, []string{"Doña Ana"}, d.Attributes[0].Strings)
	// A key of maxKey bytes loads.
	d, err = loadCSV(context.Background(), "member_id,birth_date\n"+id+",2010-03-04\n", spans, events+id+",2025-01-01,CPT,99213\n")
	require.NoError(t, err)
	assert.Equal(t, id, d.Members[0].ID)
	assert.Len(t, d.Events, 1)
}

// chunkReader reads s in chunks of the sizes given, in turn.
type chunkReader struct {
	s     string
	sizes []int
	k     int
}

func (r *chunkReader) Read(b []byte) (int, error) {
	if r.s == "" {
		return 0, io.EOF
	}
	n := min(len(b), len(r.s), r.sizes[r.k%len(r.sizes)])
	r.k++
	copy(b, r.s[:n])
	r.s = r.s[n:]
	return n, nil
}

// TestUTF8Watch: the watch finds bytes that are not UTF-8 however the
// reads cut the text, and only those.
func TestUTF8Watch(t *testing.T) {
	texts := []string{"", "abc", "é", "aé", "日本語", "\U0001F600x", "\xe9", "a\xe9", "\xe2\x82", "\xe2\x82a", "\xe2\x82\xac",
		"\xf0\x9f\x98", "\xf0\x9f\x98\x80", "\xc3\xa9\xa9", "\xed\xa0\x80", "\xff", "abc\xc3", "\xef\xbf\xbd"}
	r := rand.New(rand.NewPCG(1, 2))
	for range 300 {
		b := make([]byte, r.IntN(12))
		for i := range b {
			b[i] = []byte{'a', 0x80, 0xa9, 0xc3, 0xe2, 0x82, 0xf0, 0x9f, 0xff}[r.IntN(9)]
		}
		texts = append(texts, string(b))
	}
	for _, s := range texts {
		for _, sizes := range [][]int{{1}, {2}, {3}, {1, 2}, {2, 1, 3}, {64}} {
			w := &utf8Watch{r: &chunkReader{s: s, sizes: sizes}}
			got, err := io.ReadAll(w)
			require.NoError(t, err)
			require.Equal(t, s, string(got))
			assert.Equal(t, !utf8.ValidString(s), w.bad, "%q read in chunks of %v", s, sizes)
		}
	}
}
