package eval

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestCorruptFilesFailCleanly loads the corrupt files that once crashed
// the process (arrow-go panics on some corrupt Parquet footers and pages,
// and on some IPC flatbuffers; a corrupt IPC field count made it allocate
// 2³² fields): each must now be a data error naming the file.
func TestCorruptFilesFailCleanly(t *testing.T) {
	dir := filepath.Join("..", "testdata", "catalogue", "crashers")
	tables := map[string]string{
		"members":    "member_id,birth_date\nM1,2010-03-04\n",
		"enrollment": "member_id,start_date,end_date,benefits\n",
		"events":     "member_id,date,system,code\n",
	}
	for _, tc := range []struct{ file, as, want string }{
		{"events-footer-panic.parquet", "events.parquet", "events.parquet: invalid Parquet file: corrupt footer: invalid logical type"},
		{"events-page-panic.parquet", "events.parquet", "events.parquet: row group 0: column member_id: invalid Parquet file: corrupt data: runtime error: invalid memory address or nil pointer dereference"},
		{"enrollment-ipc-panic.arrow", "enrollment.arrow", "enrollment.arrow: invalid Arrow IPC data: corrupt data: runtime error: slice bounds out of range [65300:360]"},
		{"events-arrow-schema-oom.parquet", "events.parquet", "events.parquet: invalid Parquet file: corrupt ARROW:schema metadata: a field claims 3686137856 children in a file of 616 bytes"},
		{"enrollment-ipc-oom.arrow", "enrollment.arrow", "enrollment.arrow: invalid Arrow IPC data: the schema claims 4278190084 fields in a file of 1146 bytes"},
	} {
		t.Run(tc.file, func(t *testing.T) {
			b, err := os.ReadFile(filepath.Join(dir, tc.file))
			require.NoError(t, err)
			work := t.TempDir()
			require.NoError(t, os.WriteFile(filepath.Join(work, tc.as), b, 0o644))
			for table, csv := range tables {
				if !strings.HasPrefix(tc.as, table+".") {
					require.NoError(t, os.WriteFile(filepath.Join(work, table+".csv"), []byte(csv), 0o644))
				}
			}
			_, err = LoadDir(context.Background(), work)
			require.Error(t, err)
			assert.Contains(t, err.Error(), filepath.Join(work, tc.want))
		})
	}
}
