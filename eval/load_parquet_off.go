//go:build !parquet

package eval

import (
	"context"
)

// parquetSource fails: Parquet support (arrow-go's pqarrow) pulls in gRPC
// and protobuf through arrow/flight, which this module does not require
// yet. Build with -tags parquet once go.mod has them.
func parquetSource(t tableKind, path string) source {
	return source{table: t, name: path, read: func(context.Context, *loadConfig, part) (int64, error) {
		return 0, &DataError{File: path, Table: t.String(), RowGroup: -1, Msg: "Parquet support is not built in (build with -tags parquet)"}
	}}
}
